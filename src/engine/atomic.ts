/**
 * Atomic file replacement: temp file beside the target, write, fsync, mode set before rename,
 * rename, fsync of the parent directory. Where a directory cannot be fsynced the write still
 * happens (rename-only), the caller is told `durable: false`, and telemetry hears of it once
 * per directory.
 */
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { ErrorCode, LedgerlockError, codeForErrno, errnoCode } from './errors';
import { exists, fsl } from './fs';
import { backoffDelay, checkDuration, sleep } from './options';
import { emitTelemetry, type TelemetryTarget } from './telemetry';

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
}

export interface AtomicWriteResult {
  path: string;
  bytes: number;
  /** false when the data or the rename could not be made durable (directory fsync unsupported, or fsync: false). */
  durable: boolean;
}

const RETRYABLE_RENAME = new Set(['EPERM', 'EBUSY', 'EACCES']);
const DIR_FSYNC_UNSUPPORTED = new Set(['EINVAL', 'EISDIR', 'EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EBADF', 'EACCES']);
const dirsWithoutFsync = new Set<string>();

export function tempPathFor(target: string, tmpDir?: string): string {
  const dir = tmpDir ?? path.dirname(target);
  return path.join(dir, `.${path.basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

export async function atomicWriteFile(target: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): Promise<AtomicWriteResult> {
  const fs = fsl();
  const wantFsync = options.fsync ?? true;
  const renameRetryMs = checkDuration('renameRetryMs', options.renameRetryMs ?? 2000, { allowZero: true });
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const mode = options.mode ?? (await existingMode(target)) ?? 0o666 & ~process.umask();
  const tmp = tempPathFor(target, options.tmpDir);

  let file;
  try {
    file = await fs.open(tmp, 'wx', 0o600);
  } catch (err) {
    throw wrap(err, target, 'create temp file');
  }
  try {
    try {
      await file.chmod(mode);
      await file.write(bytes, 0, bytes.length, 0);
      if (wantFsync) await file.sync();
    } finally {
      await file.close();
    }
    await renameWithRetry(tmp, target, renameRetryMs);
  } catch (err) {
    await fs.unlink(tmp).catch(() => undefined);
    throw wrap(err, target, 'write');
  }

  const durable = wantFsync ? await syncParentDir(target, options.telemetry) : false;
  return { path: target, bytes: bytes.length, durable };
}

/**
 * fsync the directory holding `target`. Returns false (and records it once per directory)
 * where the platform refuses directory fsync.
 */
export async function syncParentDir(target: string, telemetry?: TelemetryTarget): Promise<boolean> {
  const dir = path.dirname(target);
  if (dirsWithoutFsync.has(dir)) return false;
  try {
    await fsl().syncDir(dir);
    return true;
  } catch (err) {
    const code = errnoCode(err);
    if (code === undefined || !DIR_FSYNC_UNSUPPORTED.has(code)) throw wrap(err, dir, 'fsync directory');
    dirsWithoutFsync.add(dir);
    await emitTelemetry(telemetry, dir, { type: 'DIR_FSYNC_UNSUPPORTED', data: { dir, errno: code } });
    return false;
  }
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

async function renameWithRetry(from: string, to: string, deadlineMs: number): Promise<void> {
  const started = Date.now();
  for (let attempt = 0; ; attempt++) {
    try {
      await fsl().rename(from, to);
      return;
    } catch (err) {
      const code = errnoCode(err);
      if (code === undefined || !RETRYABLE_RENAME.has(code) || Date.now() - started >= deadlineMs) throw err;
      await sleep(Math.min(backoffDelay(attempt, 5, 100), Math.max(1, deadlineMs - (Date.now() - started))));
    }
  }
}

async function existingMode(target: string): Promise<number | undefined> {
  try {
    return (await fsl().stat(target)).mode & 0o7777;
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
