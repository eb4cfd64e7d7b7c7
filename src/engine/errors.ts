/**
 * Every failure the engine reports is a LedgerlockError with a stable `code` and the facts a
 * person needs to act on it (path, holder pid, host, age). Codes are part of the contract:
 * the CLI prints them, the server maps them to diagnostics, tests match on them.
 */
export const ErrorCode = {
  BadOption: 'E_BAD_OPTION',
  BadInput: 'E_BAD_INPUT',
  BadJson: 'E_BAD_JSON',
  SchemaMismatch: 'E_SCHEMA',
  InvalidUtf8: 'E_INVALID_UTF8',
  LineTooLong: 'E_LINE_TOO_LONG',
  RecordTooLarge: 'E_RECORD_TOO_LARGE',
  PathTraversal: 'E_PATH_TRAVERSAL',
  PathOutsideRoot: 'E_PATH_OUTSIDE_ROOT',
  NotFound: 'E_NOT_FOUND',
  LockTimeout: 'E_LOCK_TIMEOUT',
  LockHeldByLiveProcess: 'E_LOCK_LIVE_HOLDER',
  LockNotStale: 'E_LOCK_NOT_STALE',
  LockNotOwned: 'E_LOCK_NOT_OWNED',
  LockCompromised: 'E_LOCK_COMPROMISED',
  LockUnreadable: 'E_LOCK_UNREADABLE',
  LedgerTorn: 'E_LEDGER_TORN',
  LedgerCorrupt: 'E_LEDGER_CORRUPT',
  LedgerClosed: 'E_LEDGER_CLOSED',
  NotALedger: 'E_NOT_A_LEDGER',
  ForeignLedgerReadOnly: 'E_FOREIGN_READ_ONLY',
  Aborted: 'E_ABORTED',
  StoreTooNew: 'E_STORE_TOO_NEW',
  StoreInvalid: 'E_STORE_INVALID',
  AtomicWriteFailed: 'E_ATOMIC_WRITE',
  Io: 'E_IO',
  BlobCorrupt: 'E_BLOB_CORRUPT',
  BlobMissing: 'E_BLOB_MISSING',
  BlobTooLarge: 'E_BLOB_TOO_LARGE',
  StoreTooOld: 'E_STORE_TOO_OLD',
  RelocationConflict: 'E_RELOCATION_CONFLICT',
  GcRefused: 'E_GC_REFUSED',
  NotRegularFile: 'E_NOT_REGULAR_FILE',
  NotALock: 'E_NOT_A_LOCK',
  DocumentTooLarge: 'E_TOO_LARGE',
  SymlinkLoop: 'E_SYMLINK_LOOP',
  NoSpace: 'E_NO_SPACE',
  Permission: 'E_PERMISSION',
  NameTooLong: 'E_NAME_TOO_LONG',
  ReadOnlyFileSystem: 'E_READ_ONLY_FS',
  TooManyOpenFiles: 'E_TOO_MANY_FILES',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export type ErrorDetails = Record<string, unknown>;

export class LedgerlockError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetails;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LedgerlockError';
    this.code = code;
    this.details = details;
  }

  toJSON(): { code: ErrorCode; message: string; details: ErrorDetails } {
    return { code: this.code, message: this.message, details: this.details };
  }
}

/** Timed out waiting for a lock that someone else holds; names the holder. */
export class LockContentionError extends LedgerlockError {
  constructor(message: string, details: ErrorDetails) {
    super(ErrorCode.LockTimeout, message, details);
    this.name = 'LockContentionError';
  }
}

/** A ledger has damage that a plain read or append must not paper over. */
export class LedgerDamageError extends LedgerlockError {
  constructor(code: typeof ErrorCode.LedgerTorn | typeof ErrorCode.LedgerCorrupt, message: string, details: ErrorDetails) {
    super(code, message, details);
    this.name = 'LedgerDamageError';
  }
}

export function isLedgerlockError(err: unknown, code?: ErrorCode): err is LedgerlockError {
  return err instanceof LedgerlockError && (code === undefined || err.code === code);
}

/** The errno code of a Node system error, or undefined. */
export function errnoCode(err: unknown): string | undefined {
  if (err && typeof err === 'object' && 'code' in err && typeof (err as { code: unknown }).code === 'string') {
    return (err as { code: string }).code;
  }
  return undefined;
}

/** The stable code for an errno: what a person can act on (free space, permissions, a shorter name). */
export function codeForErrno(errno: string | undefined): ErrorCode {
  switch (errno) {
    case 'ENOSPC':
    case 'EDQUOT':
      return ErrorCode.NoSpace;
    case 'EACCES':
    case 'EPERM':
      return ErrorCode.Permission;
    case 'ENAMETOOLONG':
      return ErrorCode.NameTooLong;
    case 'EROFS':
      return ErrorCode.ReadOnlyFileSystem;
    case 'EMFILE':
    case 'ENFILE':
      return ErrorCode.TooManyOpenFiles;
    case 'ELOOP':
      return ErrorCode.SymlinkLoop;
    case 'ENOENT':
    case 'ENOTDIR':
      return ErrorCode.NotFound;
    case 'EISDIR':
    case 'ENXIO':
      return ErrorCode.NotRegularFile;
    default:
      return ErrorCode.Io;
  }
}

/**
 * Any failure as a LedgerlockError: an engine error stays as it is; a system error gets the
 * stable code of its errno (E_NO_SPACE, E_PERMISSION, …) with the path and errno as details.
 */
export function toLedgerlockError(err: unknown): LedgerlockError | undefined {
  if (err instanceof LedgerlockError) {
    // A generic I/O failure whose errno says more (a full disk while creating a lock file) gets that code.
    const specific = typeof err.details.errno === 'string' ? codeForErrno(err.details.errno) : ErrorCode.Io;
    if ((err.code === ErrorCode.Io || err.code === ErrorCode.AtomicWriteFailed) && specific !== ErrorCode.Io) {
      return new LedgerlockError(specific, err.message, err.details, { cause: err });
    }
    return err;
  }
  const errno = errnoCode(err);
  if (errno === undefined || !/^E[A-Z0-9]+$/.test(errno)) return undefined;
  const e = err as NodeJS.ErrnoException;
  const details: ErrorDetails = { errno, ...(e.path ? { path: e.path } : {}), ...(e.syscall ? { syscall: e.syscall } : {}) };
  return new LedgerlockError(codeForErrno(errno), e.message, details, { cause: err });
}
