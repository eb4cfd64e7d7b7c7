/**
 * The lock file's life on disk: exclusive create with the holder's identity, and removal that
 * only ever takes away a file still naming its owner (rename to a trash name, verify, and put a
 * replacement back with `link`, which cannot overwrite a newer lock).
 */
import * as path from 'node:path';
import { syncParentDir, syncParentDirSync } from '../atomic';
import { readSizeSync } from '../bounded-read';
import { ErrorCode, LedgerlockError, errnoCode } from '../errors';
import type { Stats } from 'node:fs';
import { fsl, statAtOpen, type OpenFile } from '../fs';
import type { TelemetryTarget } from '../telemetry';
import { uniqueId } from '../unique';
import { LOCK_FORMAT, MAX_LOCK_BYTES, parseLockContent, type NativeLock } from './holder';
import type { SelfIdentity } from './process';

export function nativeLockContent(self: SelfIdentity, owner: string, tool: string, heartbeatMs?: number): NativeLock {
  const content: NativeLock = {
    format: LOCK_FORMAT,
    version: 1,
    pid: self.pid,
    host: self.host,
    owner,
    tool,
    acquiredAt: new Date().toISOString(),
  };
  if (self.startTime !== undefined) content.startTime = self.startTime;
  if (self.startTicks !== undefined) content.startTicks = self.startTicks;
  if (self.bootId !== undefined) content.bootId = self.bootId;
  if (self.pidns !== undefined) content.pidns = self.pidns;
  if (self.uid !== undefined) content.uid = self.uid;
  content.platform = self.platform;
  if (heartbeatMs !== undefined) content.heartbeatMs = heartbeatMs;
  return content;
}

/**
 * The bytes of `nativeLockContent(self, owner, tool)` as JSON.stringify writes them, from a
 * template serialised once per identity and tool: only the owner id and the time change.
 */
export function nativeLockBytes(self: SelfIdentity, owner: string, tool: string, heartbeatMs?: number): Buffer {
  const key = `${heartbeatMs ?? ''}\u0000${tool}`;
  let t = templates.get(key);
  if (t === undefined || t.self !== self) {
    const marker = nativeLockContent(self, '\u0000owner\u0000', tool, heartbeatMs);
    marker.acquiredAt = '\u0000at\u0000';
    const parts = JSON.stringify(marker).split(/\\u0000(?:owner|at)\\u0000/);
    if (parts.length !== 3) return Buffer.from(JSON.stringify(nativeLockContent(self, owner, tool, heartbeatMs)) + '\n', 'utf8'); // a tool name holding the markers
    t = { self, head: parts[0]!, middle: parts[1]!, tail: `${parts[2]!}\n` };
    if (templates.size > 64) templates.clear();
    templates.set(key, t);
  }
  return Buffer.from(`${t.head}${owner}${t.middle}${new Date().toISOString()}${t.tail}`, 'utf8');
}

const templates = new Map<string, { self: SelfIdentity; head: string; middle: string; tail: string }>();

/** The random id a holder writes into its lock file (unique.ts: unique across processes, hosts and calls). */
export function newOwnerId(): string {
  return uniqueId();
}

export interface CreateOptions {
  createParents: boolean;
  /** fsync the file and its directory, so the lock survives a power loss with its holder named. */
  durable: boolean;
  telemetry?: TelemetryTarget;
  /** Keep the created descriptor open for the holder (Created.file), who closes it at release. */
  keepOpen?: boolean;
}

/**
 * `wx` create with the content written at once; false when a lock is already there. The
 * create and write are back-to-back syscalls, so a crash leaves an empty lock (stale after
 * 10 s) only in a window of microseconds. `durable` adds the file and directory fsyncs.
 */
export async function createLockFile(lockPath: string, content: NativeLock | Buffer, opts: CreateOptions): Promise<Created | false> {
  const bytes = Buffer.isBuffer(content) ? content : Buffer.from(JSON.stringify(content) + '\n', 'utf8');
  const created = createLockFileSync(lockPath, bytes, { ...opts, durable: false });
  if (created === false || !opts.durable) return created;
  try {
    if (created.file) {
      await created.file.sync();
    } else {
      const file = await fsl().open(lockPath, 'r');
      try {
        await file.sync();
      } finally {
        await file.close();
      }
    }
    await syncParentDir(lockPath, opts.telemetry);
  } catch (err) {
    created.file?.closeSync();
    removeQuietly(lockPath, bytes);
    throw ioError(lockPath, 'fsync the lock file', err);
  }
  return created;
}

/**
 * A lock file just created. `identity`: its device and inode, from the create's own
 * descriptor. `file`: that descriptor, still open, when `keepOpen` asked for it and the file
 * system layer could keep it; whoever holds the lock closes it after the release.
 */
export interface Created {
  identity: { dev: number; ino: number } | undefined;
  file?: OpenFile;
}

/** createLockFile, synchronously (the sync forms; `durable` fsyncs the file and directory here too). */
export function createLockFileSync(lockPath: string, bytes: Buffer, opts: CreateOptions): Created | false {
  let created: Created;
  for (let attempt = 0; ; attempt++) {
    try {
      const file = fsl().createFileSync(lockPath, bytes, 0o644, true) ?? undefined;
      created = keptOrClosed(file, opts.keepOpen === true);
      break;
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'EEXIST') return false;
      if (code === 'ENOENT' && opts.createParents && attempt === 0) {
        try {
          fsl().mkdirSync(path.dirname(lockPath));
        } catch {
          // the retry's error says what is wrong
        }
        continue;
      }
      // A failed write after a successful create leaves a file naming nobody: ours to remove.
      if (code !== 'ENOENT') removeQuietly(lockPath, bytes);
      throw ioError(lockPath, 'create the lock file', err);
    }
  }
  if (!opts.durable) return created;
  try {
    if (created.file) {
      created.file.syncSync();
    } else {
      const file = fsl().openSync(lockPath, 'r');
      try {
        file.syncSync();
      } finally {
        file.closeSync();
      }
    }
    syncParentDirSync(lockPath, opts.telemetry);
  } catch (err) {
    created.file?.closeSync();
    removeQuietly(lockPath, bytes);
    throw ioError(lockPath, 'fsync the lock file', err);
  }
  return created;
}

/**
 * The identity of a file just created, from its own descriptor (no second lookup, no window for
 * another file to take the path); the descriptor is kept for the holder or closed here.
 */
function keptOrClosed(file: OpenFile | undefined, keep: boolean): Created {
  if (file === undefined) return { identity: undefined };
  let identity: Created['identity'];
  try {
    const st = file.statSync();
    identity = { dev: st.dev, ino: st.ino };
  } catch {
    identity = undefined;
  }
  if (keep && identity !== undefined) return { identity, file };
  file.closeSync();
  return { identity };
}

/** Removes a lock we just created, only while it still holds what we wrote (or nothing). */
function removeQuietly(lockPath: string, bytes: Buffer): void {
  try {
    const now = fsl().readFileSync(lockPath);
    if (now.length === 0 || now.equals(bytes)) fsl().unlinkSync(lockPath);
  } catch {
    // gone already, or unreadable: leave it to the staleness rules
  }
}

/** A unique name beside the lock, on the same file system, that no lock search matches. */
export function trashPathFor(lockPath: string): string {
  return path.join(path.dirname(lockPath), `.${path.basename(lockPath)}.${process.pid}.${newOwnerId()}.trash`);
}

export type RemoveOutcome = 'removed' | 'gone' | 'not-ours' | 'not-ours-left';

/** The descriptor a holder kept from its create, and the inode it names; the caller closes it. */
export interface KeptLockFile {
  file: OpenFile;
  identity: { dev: number; ino: number };
}

/**
 * Removes `lockPath` only if it still names `owner`. 'not-ours-left': it was replaced between
 * our check and our rename and a newer lock took the path meanwhile; the replacement's bytes
 * stay at the trash path for a person to look at.
 */
export async function removeIfOwned(lockPath: string, owner: string): Promise<{ outcome: RemoveOutcome; trash?: string }> {
  return removeIfOwnedSync(lockPath, owner);
}

/**
 * Read, rename to a trash name, check what was moved: a lock that is no longer ours is never
 * moved at all (its live holder never sees its path empty), and a replacement that took the
 * path between the read and the rename is put back with `link` (which cannot overwrite a lock
 * taken meanwhile). The lock is read through a descriptor kept open until after the rename:
 * while it is open its inode cannot be freed and handed to another file, so the same device
 * and inode at the trash path prove that what moved is the file just read and found ours.
 * A holder that kept its create's descriptor (`kept`) reads through that one instead.
 * Synchronous: a release is a handful of tiny syscalls, cheaper than thread-pool hops.
 */
export function removeIfOwnedSync(lockPath: string, owner: string, kept?: KeptLockFile): { outcome: RemoveOutcome; trash?: string } {
  const fs = fsl();
  let file: OpenFile;
  let st: Stats;
  if (kept !== undefined) {
    // Our own descriptor, open since the create: one lstat says whether the path still names
    // that inode (and is no link); no open, no second fstat, no close of a fresh descriptor.
    file = kept.file;
    try {
      st = fs.lstatSync(lockPath);
    } catch (err) {
      return errnoCode(err) === 'ENOENT' ? { outcome: 'gone' } : { outcome: 'not-ours' };
    }
    if (st.dev !== kept.identity.dev || st.ino !== kept.identity.ino) return { outcome: 'not-ours' };
  } else {
    try {
      file = fs.openSync(lockPath, 'r');
    } catch (err) {
      return errnoCode(err) === 'ENOENT' ? { outcome: 'gone' } : { outcome: 'not-ours' };
    }
    st = statAtOpen(file) ?? file.statSync();
  }
  const trash = trashPathFor(lockPath);
  let same: boolean;
  let moved: Stats | undefined;
  try {
    if (!st.isFile() || st.size === 0 || st.size > MAX_LOCK_BYTES) return { outcome: 'not-ours' };
    if (
      !namesOwner(
        readSizeSync((b, off, len, pos) => file.readSync(b, off, len, pos), st.size),
        owner,
      )
    )
      return { outcome: 'not-ours' };
    try {
      // `st` is an lstat of this path, or the fstat of a descriptor opened at it without following links: no link either way.
      fs.renameSync(lockPath, trash, kept !== undefined || file.path === lockPath ? st : undefined, true);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return { outcome: 'gone' };
      throw ioError(lockPath, 'release the lock', err);
    }
    try {
      moved = fs.lstatSync(trash);
    } catch {
      moved = undefined;
    }
    same = moved !== undefined && moved.dev === st.dev && moved.ino === st.ino;
  } finally {
    if (kept === undefined) file.closeSync();
  }
  if (same) {
    try {
      // `moved` is the lstat just taken: the trash name holds our regular file, no link.
      fs.unlinkSync(trash, moved);
    } catch {
      // already gone
    }
    return { outcome: 'removed' };
  }
  return restoreSync(trash, lockPath) ? { outcome: 'not-ours' } : { outcome: 'not-ours-left', trash };
}

/** Puts a wrongly moved lock back; false when the path was taken meanwhile (the trash stays). */
export async function restore(trash: string, lockPath: string): Promise<boolean> {
  return restoreSync(trash, lockPath);
}

function restoreSync(trash: string, lockPath: string): boolean {
  try {
    fsl().linkSync(trash, lockPath);
  } catch {
    return false;
  }
  try {
    fsl().unlinkSync(trash);
  } catch {
    // already gone
  }
  return true;
}

/**
 * Whether a lock file's bytes are the lock `owner` wrote. The owner id is a random token only
 * its holder knows, and native lock files are written by JSON.stringify, so the exact
 * `"owner":"<id>"` run identifies them without a schema parse on every release.
 */
export function namesOwner(content: Buffer | null, owner: string): boolean {
  return content !== null && content.includes(`"owner":"${owner}"`);
}

export function ownerIn(content: Buffer | null): string | undefined {
  if (content === null) return undefined;
  const parsed = parseLockContent(content);
  return parsed.native?.owner;
}

function ioError(lockPath: string, step: string, err: unknown): LedgerlockError {
  if (err instanceof LedgerlockError) return err;
  return new LedgerlockError(
    ErrorCode.Io,
    `cannot ${step} ${lockPath}: ${(err as Error)?.message ?? String(err)}`,
    { path: lockPath, step, errno: errnoCode(err) },
    { cause: err },
  );
}
