/**
 * Read-only inspection of one lock path: what it is, who holds it, and whether it is stale.
 * Inspecting never creates, touches or acquires anything (the VS Code Git `index.lock` lesson).
 */
import type { Stats } from 'node:fs';
import { ErrorCode, LedgerlockError, errnoCode } from '../errors';
import { fsl } from '../fs';
import { judgeLock, systemContext, type LockInfo, type LockObservation } from './classify';
import type { FileKey } from './os-evidence';
import { MAX_LOCK_BYTES, parseLockContent } from './holder';
import { resolveTiming, type LockTiming } from './timing';
import { telemetryWaiters } from './waiters';

/** Enough of a file's identity to tell it from a replacement at the same path. */
export interface LockIdentity {
  dev: number;
  ino: number;
  mtimeMs: number;
  size: number;
  /** The first MAX_LOCK_BYTES + 1 bytes; null for a directory. */
  content: Buffer | null;
}

export interface ObservedLock extends LockObservation {
  identity?: LockIdentity;
}

export async function inspectLock(path: string, opts: LockTiming = {}): Promise<LockInfo> {
  const timing = resolveTiming(opts);
  const observed = await observeLock(path);
  return judgeLock(observed, timing, systemContext([path], await telemetryWaiters([path])));
}

/**
 * Many locks judged against one look at the system (one /proc scan, one telemetry read per
 * store). Each path maps to its verdict, or to the error that kept it from one (E_NOT_FOUND
 * for a lock released meanwhile).
 */
export async function inspectLocks(
  paths: readonly string[],
  opts: LockTiming = {},
  memory?: KernelLockMemory,
): Promise<Map<string, LockInfo | LedgerlockError>> {
  const timing = resolveTiming(opts);
  const out = new Map<string, LockInfo | LedgerlockError>();
  const observed: ObservedLock[] = [];
  for (const p of paths) {
    try {
      observed.push(await observeLock(p));
    } catch (err) {
      out.set(
        p,
        err instanceof LedgerlockError ? err : new LedgerlockError(ErrorCode.Io, `cannot examine ${p}: ${(err as Error).message}`, { path: p }, { cause: err }),
      );
    }
  }
  const seen = observed.map((o) => o.path);
  const ctx = systemContext(seen, await telemetryWaiters(seen));
  if (memory) ctx.kernelLockedBefore = (key) => memory.has(inodeKey(key));
  for (const o of observed) {
    const info = await judgeLock(o, timing, ctx);
    if (memory && o.key !== undefined && kernelHeld(info)) rememberKernelLock(memory, o.key);
    out.set(o.path, info);
  }
  return out;
}

/**
 * Inodes (device:inode) seen under a kernel lock, kept across looks by a long-lived caller so a
 * flock-style file at rest is judged free, not stale (see judgeLock). Bounded: oldest forgotten.
 */
export type KernelLockMemory = Set<string>;
const KERNEL_MEMORY_MAX = 10_000;

/** A verdict resting on a kernel lock: the operating system's step puts that evidence first. */
function kernelHeld(info: LockInfo): boolean {
  const first = info.evidence[0]?.kind;
  return (info.state === 'held' || info.state === 'contended') && (first === 'flock' || first === 'posix' || first === 'ofd' || first === 'probe');
}

function inodeKey(key: FileKey): string {
  return `${key.dev}:${key.ino}`;
}

function rememberKernelLock(memory: KernelLockMemory, key: FileKey): void {
  const k = inodeKey(key);
  memory.delete(k);
  memory.add(k);
  if (memory.size > KERNEL_MEMORY_MAX) memory.delete(memory.values().next().value!);
}

/** lstat + a bounded read of the same inode. E_NOT_FOUND when nothing is there. */
export async function observeLock(path: string): Promise<ObservedLock> {
  for (let attempt = 0; ; attempt++) {
    let st: Stats;
    try {
      st = await fsl().lstat(path);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') throw notFound(path);
      return unreadable(path, `the lock cannot be examined (${errnoCode(err) ?? (err as Error).message})`);
    }
    if (st.isSymbolicLink()) return unreadable(path, 'the lock is a symbolic link, which Ledgerlock does not follow', st);
    if (st.isDirectory()) {
      return {
        path,
        type: 'directory',
        parsed: { kind: 'directory', holder: null },
        mtimeMs: st.mtimeMs,
        bytes: 0,
        key: { dev: st.dev, ino: st.ino },
        uid: st.uid,
        content: null,
        identity: { dev: st.dev, ino: st.ino, mtimeMs: st.mtimeMs, size: 0, content: null },
      };
    }
    if (!st.isFile()) return unreadable(path, 'the lock is neither a file nor a directory', st);
    const read = await readIdentity(path);
    if (read === 'gone') throw notFound(path);
    if (typeof read === 'string') return unreadable(path, read, st);
    // Swapped between lstat and open: look again, so content and stat belong to one file.
    if ((read.ino !== st.ino || read.dev !== st.dev) && attempt < 3) continue;
    return {
      path,
      type: 'file',
      parsed: parseLockContent(read.content!),
      mtimeMs: read.mtimeMs,
      bytes: read.size,
      key: { dev: read.dev, ino: read.ino },
      uid: st.uid,
      content: read.content,
      identity: read,
    };
  }
}

/** Content and stat of the file at `path` through one descriptor; 'gone', or a problem sentence. */
async function readIdentity(path: string): Promise<LockIdentity | 'gone' | string> {
  let file;
  try {
    file = await fsl().open(path, 'r');
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT') return 'gone';
    return `the lock cannot be read (${code ?? (err as Error).message})`;
  }
  try {
    let st = await file.stat();
    if (st.isDirectory()) return { dev: st.dev, ino: st.ino, mtimeMs: st.mtimeMs, size: 0, content: null };
    // A holder that rewrites its lock in place (truncate, then write) can do so between the stat
    // and the read: the bytes would be the new ones and the time the old, an identity no later
    // look ever matches, so a break would find "another file" and put back a stale lock (or,
    // with the path taken meanwhile, strand it at its trash name). Read until a stat after the
    // read agrees with the one before it; a file still changing after that keeps the later stat.
    for (let attempt = 0; ; attempt++) {
      const buffer = Buffer.alloc(Math.min(st.size, MAX_LOCK_BYTES) + 1);
      let length = 0;
      while (length < buffer.length) {
        const n = await file.read(buffer, length, buffer.length - length, length);
        if (n === 0) break;
        length += n;
      }
      const after = await file.stat();
      const steady = after.mtimeMs === st.mtimeMs && after.ctimeMs === st.ctimeMs && after.size === st.size;
      st = after;
      if (steady || attempt >= 2) {
        return { dev: st.dev, ino: st.ino, mtimeMs: st.mtimeMs, size: Math.max(st.size, length), content: buffer.subarray(0, length) };
      }
    }
  } catch (err) {
    return `the lock cannot be read (${errnoCode(err) ?? (err as Error).message})`;
  } finally {
    await file.close().catch(() => undefined);
  }
}

export function sameIdentity(a: LockIdentity, b: LockIdentity): boolean {
  if (a.dev !== b.dev || a.ino !== b.ino || a.size !== b.size || a.mtimeMs !== b.mtimeMs) return false;
  if (a.content === null || b.content === null) return a.content === b.content;
  return a.content.equals(b.content);
}

function unreadable(path: string, problem: string, st?: Stats): ObservedLock {
  return {
    path,
    type: 'unreadable',
    parsed: { kind: 'unknown', holder: null, problem },
    problem,
    mtimeMs: st?.mtimeMs ?? 0,
    bytes: st?.isFile() ? st.size : 0,
    // A regular file we may not read can still be held: the kernel's evidence needs only its inode.
    ...(st?.isFile() ? { key: { dev: st.dev, ino: st.ino }, uid: st.uid } : {}),
  };
}

function notFound(path: string): LedgerlockError {
  return new LedgerlockError(ErrorCode.NotFound, `no lock at ${path}`, { path });
}
