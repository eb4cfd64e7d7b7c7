/**
 * Atomic file replacement: temp file beside the target, write, fsync, mode set before rename,
 * rename, fsync of the parent directory. Where a directory cannot be fsynced the write still
 * happens (rename-only), the caller is told `durable: false`, and telemetry hears of it once
 * per directory.
 *
 * Open, chmod, write, close and rename are microseconds each and run synchronously; only the
 * two fsyncs go to the thread pool in the async form, and concurrent writes into one
 * directory share its fsync. `atomicWriteFileSync` is the same protocol with nothing async.
 */
import * as fsNode from 'node:fs';
import * as path from 'node:path';
import { ErrorCode, LedgerlockError, codeForErrno, errnoCode } from './errors';
import { chownFailureAllowed, exists, fsl, statAtOpen, type FileOwner, type OpenFile } from './fs';
import { backoffDelay, checkDuration, sleep, sleepSync } from './options';
import { emitTelemetry, type TelemetryTarget } from './telemetry';
import { uniqueId } from './unique';

export interface AtomicWriteOptions {
  /** File mode; default: the existing file's mode, else 0o666 less the umask. Applied before the rename. */
  mode?: number;
  /** fsync the data and the directory (default true). false: rename-only, reported as durable: false. */
  fsync?: boolean;
  /** Directory for the temp file; must be on the same file system as the target. Default: the target's directory. */
  tmpDir?: string;
  /** How long to keep retrying a rename that fails with EPERM/EBUSY/EACCES (Windows sharing violations). */
  renameRetryMs?: number;
  /** Where a directory-fsync degradation is recorded; default: the enclosing store, if any. */
  telemetry?: TelemetryTarget;
  /** Owner for the new file, set on the temp file before the rename. Default: the creating process. */
  chown?: FileOwner;
  /** Told the temp file's path once it exists, before it is renamed into place (the sync form does not wait for a returned promise). */
  onTempCreated?: (tmpPath: string) => void | Promise<void>;
}

export interface AtomicWriteResult {
  path: string;
  bytes: number;
  /** false when the data or the rename could not be made durable (directory fsync unsupported, or fsync: false). */
  durable: boolean;
}

const RETRYABLE_RENAME = new Set(['EPERM', 'EBUSY', 'EACCES']);
/** errno codes by which a platform says it cannot fsync a directory. */
export const DIR_FSYNC_UNSUPPORTED: ReadonlySet<string> = new Set(['EINVAL', 'EISDIR', 'EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EBADF', 'EACCES']);
const dirsWithoutFsync = new Set<string>();

export function tempPathFor(target: string, tmpDir?: string): string {
  const dir = tmpDir ?? path.dirname(target);
  return path.join(dir, `.${path.basename(target)}.${process.pid}.${uniqueId()}.tmp`);
}

/** A temp file holding the new bytes, its mode already applied, not yet fsynced. */
interface PendingWrite {
  target: string;
  tmp: string;
  file: OpenFile;
  /** The fstat of `file`, opened at `tmp` without following links, where the file system layer took one: the rename's source needs no lstat. */
  seen: fsNode.Stats | undefined;
  bytes: number;
  wantFsync: boolean;
  renameRetryMs: number;
}

function startWrite(target: string, data: string | Uint8Array, options: AtomicWriteOptions): PendingWrite {
  const fs = fsl();
  const wantFsync = options.fsync ?? true;
  const renameRetryMs = checkDuration('renameRetryMs', options.renameRetryMs ?? 2000, { allowZero: true });
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  // No mode asked for and no file to keep one from: 0o666 less the umask, which the create applies itself.
  const mode = options.mode ?? existingMode(target);
  const tmp = tempPathFor(target, options.tmpDir);
  let file: OpenFile;
  // Created with its final mode, less whatever the umask takes; a chmod puts back what it took,
  // before the rename makes the file visible, so the file is never wider than asked. A chown may
  // clear set-id bits: with an owner the file starts private and the mode is set after it.
  try {
    file = fs.openSync(tmp, 'wx', mode === undefined ? 0o666 : options.chown === undefined ? mode : 0o600);
  } catch (err) {
    throw wrap(err, target, 'create temp file');
  }
  const opened = statAtOpen(file);
  try {
    if (options.chown !== undefined) chownTemp(file, options.chown);
    if (mode !== undefined && (options.chown !== undefined || ((opened ?? file.statSync()).mode & 0o7777) !== (mode & 0o7777))) file.chmodSync(mode);
    file.writeSync(bytes, 0, bytes.length, 0);
  } catch (err) {
    abandon(file, tmp);
    throw wrap(err, target, 'write');
  }
  const seen = opened !== undefined && file.path === tmp ? opened : undefined;
  return { target, tmp, file, seen, bytes: bytes.length, wantFsync, renameRetryMs };
}

function chownTemp(file: OpenFile, owner: FileOwner): void {
  try {
    if (file.fd === undefined) throw Object.assign(new Error("this file system cannot change a file's owner"), { code: 'ENOSYS' });
    fsNode.fchownSync(file.fd, owner.uid, owner.gid);
  } catch (err) {
    if (!chownFailureAllowed(err, owner)) throw err;
  }
}

/** A failed write leaves the old file and no temp file behind. */
function abandon(file: OpenFile | null, tmp: string): void {
  try {
    file?.closeSync();
  } catch {
    // closing is best effort here: the error being reported is the one that matters
  }
  try {
    fsl().unlinkSync(tmp);
  } catch {
    // already gone
  }
}

export async function atomicWriteFile(target: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): Promise<AtomicWriteResult> {
  const w = startWrite(target, data, options);
  let open: OpenFile | null = w.file;
  try {
    if (options.onTempCreated !== undefined) await options.onTempCreated(w.tmp);
    if (w.wantFsync) await w.file.sync();
    open = null;
    w.file.closeSync();
    const started = Date.now();
    for (let attempt = 0, wait; (wait = renameOrRetry(w, started, attempt)) > 0; attempt++) await sleep(wait);
  } catch (err) {
    abandon(open, w.tmp);
    throw wrap(err, target, 'write');
  }
  const durable = w.wantFsync ? await syncParentDir(target, options.telemetry) : false;
  return { path: target, bytes: w.bytes, durable };
}

/** atomicWriteFile with every guarantee, synchronously: for CLIs, git hooks and short-lived scripts. */
export function atomicWriteFileSync(target: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): AtomicWriteResult {
  const w = startWrite(target, data, options);
  let open: OpenFile | null = w.file;
  try {
    if (options.onTempCreated !== undefined) {
      const told = options.onTempCreated(w.tmp);
      if (told instanceof Promise) told.catch(() => undefined);
    }
    if (w.wantFsync) w.file.syncSync();
    open = null;
    w.file.closeSync();
    const started = Date.now();
    for (let attempt = 0, wait; (wait = renameOrRetry(w, started, attempt)) > 0; attempt++) sleepSync(wait);
  } catch (err) {
    abandon(open, w.tmp);
    throw wrap(err, target, 'write');
  }
  const durable = w.wantFsync ? syncParentDirSync(target, options.telemetry) : false;
  return { path: target, bytes: w.bytes, durable };
}

/** One rename attempt: 0 when done, else how long to wait before the next (Windows sharing violations). */
function renameOrRetry(w: PendingWrite, started: number, attempt: number): number {
  try {
    fsl().renameSync(w.tmp, w.target, w.seen);
    return 0;
  } catch (err) {
    const code = errnoCode(err);
    const waited = Date.now() - started;
    if (code === undefined || !RETRYABLE_RENAME.has(code) || waited >= w.renameRetryMs) throw err;
    return Math.min(backoffDelay(attempt, 5, 100), Math.max(1, w.renameRetryMs - waited));
  }
}

/**
 * fsync the directory holding `target`. Returns false (and records it once per directory)
 * where the platform refuses directory fsync. Concurrent callers for one directory share
 * fsyncs: one that arrives while an fsync runs (which may have started before its rename)
 * joins the next one, which starts as soon as the running one ends.
 */
export async function syncParentDir(target: string, telemetry?: TelemetryTarget): Promise<boolean> {
  const dir = path.dirname(target);
  if (dirsWithoutFsync.has(dir)) return false;
  try {
    await groupedSyncDir(dir);
    return true;
  } catch (err) {
    const report = dirFsyncUnsupported(err, dir);
    if (report) await emitTelemetry(telemetry, dir, report);
    return false;
  }
}

/** syncParentDir, synchronously. The degradation is recorded in the background. */
export function syncParentDirSync(target: string, telemetry?: TelemetryTarget): boolean {
  const dir = path.dirname(target);
  if (dirsWithoutFsync.has(dir)) return false;
  try {
    fsl().syncDirSync(dir);
    return true;
  } catch (err) {
    const report = dirFsyncUnsupported(err, dir);
    if (report) void emitTelemetry(telemetry, dir, report).catch(() => undefined);
    return false;
  }
}

/** Rethrows real failures; for an unsupported directory fsync, the telemetry to record (once per directory). */
function dirFsyncUnsupported(err: unknown, dir: string) {
  const code = errnoCode(err);
  if (code === undefined || !DIR_FSYNC_UNSUPPORTED.has(code)) throw wrap(err, dir, 'fsync directory');
  if (dirsWithoutFsync.has(dir)) return undefined;
  dirsWithoutFsync.add(dir);
  return { type: 'DIR_FSYNC_UNSUPPORTED' as const, data: { dir, errno: code } };
}

interface DirSyncGroup {
  running: Promise<void> | null;
  next: Promise<void> | null;
}
const dirSyncGroups = new Map<string, DirSyncGroup>();
const ignore = () => undefined;

function groupedSyncDir(dir: string): Promise<void> {
  let g = dirSyncGroups.get(dir);
  if (g === undefined) {
    g = { running: null, next: null };
    dirSyncGroups.set(dir, g);
  }
  if (g.running === null) return runDirSync(g, dir);
  const group = g;
  group.next ??= g.running.then(ignore, ignore).then(() => {
    group.next = null;
    return runDirSync(group, dir);
  });
  return group.next;
}

function runDirSync(g: DirSyncGroup, dir: string): Promise<void> {
  const p = fsl().syncDir(dir);
  g.running = p;
  void p.then(ignore, ignore).then(() => {
    if (g.running !== p) return;
    g.running = null;
    if (g.next === null && dirSyncGroups.get(dir) === g) dirSyncGroups.delete(dir);
  });
  return p;
}

/**
 * mkdir -p that survives power loss: a new directory's entry lives in its parent, so each
 * parent that gained a directory is fsynced (parent first, then down). Returns false where a
 * directory fsync is unsupported, as syncParentDir does.
 */
export async function mkdirDurable(dir: string, telemetry?: TelemetryTarget): Promise<boolean> {
  const created: string[] = [];
  for (let d = path.resolve(dir); !(await exists(d)); d = path.dirname(d)) {
    created.unshift(d);
    if (path.dirname(d) === d) break;
  }
  if (created.length === 0) return true;
  await fsl().mkdir(dir);
  let durable = true;
  for (const d of created) durable = (await syncParentDir(d, telemetry)) && durable;
  return durable;
}

/** mkdirDurable, synchronously. */
export function mkdirDurableSync(dir: string, telemetry?: TelemetryTarget): boolean {
  const created: string[] = [];
  for (let d = path.resolve(dir); !existsSync(d); d = path.dirname(d)) {
    created.unshift(d);
    if (path.dirname(d) === d) break;
  }
  if (created.length === 0) return true;
  fsl().mkdirSync(dir);
  let durable = true;
  for (const d of created) durable = syncParentDirSync(d, telemetry) && durable;
  return durable;
}

function existsSync(p: string): boolean {
  try {
    fsl().lstatSync(p);
    return true;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return false;
    throw err;
  }
}

function existingMode(target: string): number | undefined {
  try {
    return fsl().statSync(target).mode & 0o7777;
  } catch {
    return undefined;
  }
}

function wrap(err: unknown, target: string, step: string): LedgerlockError {
  if (err instanceof LedgerlockError) return err;
  const errno = errnoCode(err);
  const specific = codeForErrno(errno);
  return new LedgerlockError(
    errno !== undefined && specific !== ErrorCode.Io ? specific : ErrorCode.AtomicWriteFailed,
    `atomic write of ${target} failed at "${step}": ${(err as Error)?.message ?? String(err)}`,
    { path: target, step, errno },
    { cause: err },
  );
}
