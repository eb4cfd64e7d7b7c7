/**
 * The lock file's life on disk: exclusive create with the holder's identity, and removal that
 * only ever takes away a file still naming its owner (rename to a trash name, verify, and put a
 * replacement back with `link`, which cannot overwrite a newer lock).
 */
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { syncParentDir } from '../atomic';
import { ErrorCode, LedgerlockError, errnoCode } from '../errors';
import { fsl } from '../fs';
import type { TelemetryTarget } from '../telemetry';
import { LOCK_FORMAT, parseLockContent, type NativeLock } from './holder';
import { readIdentity } from './inspect';
import type { SelfIdentity } from './process';

export function nativeLockContent(self: SelfIdentity, owner: string, tool: string): NativeLock {
  const content: NativeLock = {
    format: LOCK_FORMAT, version: 1, pid: self.pid, host: self.host, owner, tool, acquiredAt: new Date().toISOString(),
  };
  if (self.startTime !== undefined) content.startTime = self.startTime;
  if (self.startTicks !== undefined) content.startTicks = self.startTicks;
  if (self.bootId !== undefined) content.bootId = self.bootId;
  return content;
}

export function newOwnerId(): string {
  return randomBytes(12).toString('hex');
}

export interface CreateOptions {
  createParents: boolean;
  /** fsync the file and its directory, so the lock survives a power loss with its holder named. */
  durable: boolean;
  telemetry?: TelemetryTarget;
}

/** `wx` create + write (+ fsync); false when a lock is already there. */
export async function createLockFile(lockPath: string, content: NativeLock, opts: CreateOptions): Promise<boolean> {
  const bytes = Buffer.from(JSON.stringify(content) + '\n', 'utf8');
  let file;
  for (let attempt = 0; ; attempt++) {
    try {
      file = await fsl().open(lockPath, 'wx', 0o644);
      break;
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'EEXIST') return false;
      if (code === 'ENOENT' && opts.createParents && attempt === 0) {
        await fsl().mkdir(path.dirname(lockPath)).catch(() => undefined);
        continue;
      }
      throw ioError(lockPath, 'create the lock file', err);
    }
  }
  try {
    try {
      await file.write(bytes, 0, bytes.length, 0);
      if (opts.durable) await file.sync();
    } finally {
      await file.close();
    }
    if (opts.durable) await syncParentDir(lockPath, opts.telemetry);
  } catch (err) {
    // We created it with O_EXCL a moment ago and it names nobody yet: nobody else's to keep.
    await fsl().unlink(lockPath).catch(() => undefined);
    throw ioError(lockPath, 'write the lock file', err);
  }
  return true;
}

/** A unique name beside the lock, on the same file system, that no lock search matches. */
export function trashPathFor(lockPath: string): string {
  return path.join(path.dirname(lockPath), `.${path.basename(lockPath)}.${process.pid}.${randomBytes(6).toString('hex')}.trash`);
}

export type RemoveOutcome = 'removed' | 'gone' | 'not-ours' | 'not-ours-left';

/**
 * Removes `lockPath` only if it still names `owner`. 'not-ours-left': it was replaced between
 * our check and our rename and a newer lock took the path meanwhile; the replacement's bytes
 * stay at the trash path for a person to look at.
 */
export async function removeIfOwned(lockPath: string, owner: string): Promise<{ outcome: RemoveOutcome; trash?: string }> {
  const before = await readIdentity(lockPath);
  if (before === 'gone') return { outcome: 'gone' };
  if (typeof before === 'string' || ownerIn(before.content) !== owner) return { outcome: 'not-ours' };
  const trash = trashPathFor(lockPath);
  try {
    await fsl().rename(lockPath, trash);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return { outcome: 'gone' };
    throw ioError(lockPath, 'release the lock', err);
  }
  const moved = await readIdentity(trash);
  if (typeof moved !== 'string' && ownerIn(moved.content) === owner) {
    await fsl().unlink(trash).catch(() => undefined);
    return { outcome: 'removed' };
  }
  return (await restore(trash, lockPath)) ? { outcome: 'not-ours' } : { outcome: 'not-ours-left', trash };
}

/** Puts a wrongly moved lock back; false when the path was taken meanwhile (the trash stays). */
export async function restore(trash: string, lockPath: string): Promise<boolean> {
  try {
    await fsl().link(trash, lockPath);
  } catch {
    return false;
  }
  await fsl().unlink(trash).catch(() => undefined);
  return true;
}

export function ownerIn(content: Buffer | null): string | undefined {
  if (content === null) return undefined;
  const parsed = parseLockContent(content);
  return parsed.native?.owner;
}

function ioError(lockPath: string, step: string, err: unknown): LedgerlockError {
  if (err instanceof LedgerlockError) return err;
  return new LedgerlockError(ErrorCode.Io, `cannot ${step} ${lockPath}: ${(err as Error)?.message ?? String(err)}`, { path: lockPath, step, errno: errnoCode(err) }, { cause: err });
}
