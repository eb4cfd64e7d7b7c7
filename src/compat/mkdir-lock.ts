/**
 * proper-lockfile's lock on disk, held the Ledgerlock way. The lock is the same `<file>.lock`
 * directory made with mkdir, kept fresh by touching its mtime, so processes still on
 * proper-lockfile and processes on this adapter exclude each other. Beside it (never inside,
 * where the directory's mtime would move and the original would call its lock compromised) sits
 * `<file>.lock.holder`: Ledgerlock's lock record naming this process (pid, host, start time,
 * boot) and the directory's identity. With it a live holder is never broken however old its
 * mtime, and a holder that provably died is taken over at once. Without it (the original's
 * locks) the original's rule applies: stale once the mtime is older than `stale`.
 *
 * The holder also keeps the directory open while it holds it: the operating system then shows
 * the holder (/proc/<pid>/fd) to anyone judging the lock, this adapter and Ledgerlock's own
 * lock views alike, whatever the mtime and the holder record say.
 *
 * Every step is a tiny synchronous syscall, so one implementation serves lock() and lockSync().
 */
import { randomBytes } from 'node:crypto';
import * as nodeFs from 'node:fs';
import type { Stats } from 'node:fs';
import * as path from 'node:path';
import { errnoCode } from '../engine/errors';
import { fsl } from '../engine/fs';
import { newOwnerId, nativeLockContent, removeIfOwnedSync, trashPathFor } from '../engine/lock/file';
import { parseLockContent, type NativeLock } from '../engine/lock/holder';
import { adapterHolderPath, readAdapterRecord } from '../engine/lock/profiles/proper-lockfile';
import { collectOsEvidence } from '../engine/lock/os-evidence';
import { judgeNamedProcess, selfIdentitySync, systemProcessView } from '../engine/lock/process';

/** What the holder record says about the directory it belongs to. */
interface DirIdentity {
  dev: number;
  ino: number;
  /** Creation time; 0 where the file system does not record one. */
  birthtimeMs: number;
}

interface HolderRecord extends NativeLock {
  lockDir: DirIdentity;
}

const GUARD_SUFFIX = '.reaping';
/** A breaker holds the guard for the milliseconds a break takes; one whose guard is older died mid-break. */
const GUARD_STALE_MS = 10_000;

/** Where the holder record lives: the engine's proper-lockfile profile reads it from there. */
export const holderPathFor = adapterHolderPath;

function identityOf(st: Stats): DirIdentity {
  return { dev: st.dev, ino: st.ino, birthtimeMs: st.birthtimeMs > 0 ? st.birthtimeMs : 0 };
}

function sameDir(a: DirIdentity, st: Stats): boolean {
  const b = identityOf(st);
  return a.dev === b.dev && a.ino === b.ino && a.birthtimeMs === b.birthtimeMs;
}

/** Who holds the directory now, by evidence: 'live', 'dead' (provably), or 'unknown' (judge by mtime). */
export type HolderVerdict = 'live' | 'dead' | 'unknown';

/** Whether the process a lock record names is still the one that wrote it (the engine's one liveness check). */
export function holderProcess(record: NativeLock): 'live' | 'dead' | 'unknown' {
  const found = judgeNamedProcess({
    pid: record.pid, host: record.host, native: true, acquiredAt: record.acquiredAt,
    ...(record.pidns !== undefined ? { pidns: record.pidns } : {}),
    ...(record.startTicks !== undefined ? { startTicks: record.startTicks } : {}),
    ...(record.startTime !== undefined ? { startTime: record.startTime } : {}),
    ...(record.bootId !== undefined ? { bootId: record.bootId } : {}),
    ...(record.platform !== undefined ? { platform: record.platform } : {}),
  }, systemProcessView());
  return found.kind === 'live' ? 'live' : found.kind === 'dead' ? 'dead' : 'unknown';
}

/**
 * The holder record counts only when it names this very directory. A live holder is trusted on
 * inode identity alone (erring there only makes a waiter wait); a dead one also needs the
 * creation time, so a reused inode number cannot make a newer lock look abandoned.
 */
export function judgeHolder(lockDir: string, st: Stats): HolderVerdict {
  const record = readAdapterRecord(lockDir);
  if (record === undefined) return 'unknown';
  const dir = record.lockDir;
  if (dir.dev !== st.dev || dir.ino !== st.ino) return 'unknown';
  const verdict = holderProcess(record);
  if (verdict === 'dead') return dir.birthtimeMs > 0 && sameDir(dir, st) ? 'dead' : 'unknown';
  return verdict;
}

export function isStale(lockDir: string, st: Stats, staleMs: number, now = Date.now()): boolean {
  const verdict = judgeHolder(lockDir, st);
  if (verdict === 'live') return false;
  const stale = verdict === 'dead' || st.mtimeMs < now - staleMs;
  // Before any "stale" verdict, ask the operating system: a process holding the directory open holds the lock.
  return stale && !openElsewhere(lockDir, st);
}

function openElsewhere(lockDir: string, st: Stats): boolean {
  return collectOsEvidence([lockDir]).openers({ dev: st.dev, ino: st.ino }).length > 0;
}

export interface HeldDir {
  lockDir: string;
  identity: DirIdentity;
  owner: string;
  /** The mtime the directory had after our last touch. */
  mtimeMs: number;
  /** The directory held open while the lock is ours (evidence for others); -1 where it could not be opened. */
  fd: number;
}

export type AttemptResult = { kind: 'acquired'; held: HeldDir } | { kind: 'locked' };

/** One try: mkdir, else judge the holder and break a stale lock (guarded) and try again. */
export function tryAcquire(lockDir: string, staleMs: number, tool: string): AttemptResult {
  for (let round = 0; round < 3; round++) {
    try {
      fsl().mkdirExclusiveSync(lockDir);
      return { kind: 'acquired', held: claim(lockDir, tool) };
    } catch (err) {
      if (errnoCode(err) !== 'EEXIST') throw err;
    }
    let st: Stats;
    try {
      st = fsl().lstatSync(lockDir);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') continue; // released meanwhile
      throw err;
    }
    if (!st.isDirectory() || !isStale(lockDir, st, staleMs)) return { kind: 'locked' };
    const broken = breakStale(lockDir, st, staleMs);
    if (broken === 'busy' || broken === 'not-stale') return { kind: 'locked' };
  }
  return { kind: 'locked' };
}

/** Writes the holder record for the directory we just made (atomically: temp file, then rename over any leftover). */
function claim(lockDir: string, tool: string): HeldDir {
  const fs = fsl();
  let st: Stats;
  try {
    // proper-lockfile sets the mtime off the second to learn the file system's precision; a
    // fresh mtime of our own serves the heartbeat's "still ours" check the same way.
    const now = new Date();
    const touched = fs.touchIfSync(lockDir, now, () => true);
    if (touched === 'gone' || touched === 'refused') throw Object.assign(new Error(`lock ${lockDir} vanished right after it was made`), { code: 'ECOMPROMISED' });
    st = touched;
    const owner = newOwnerId();
    const record: HolderRecord = { ...nativeLockContent(selfIdentitySync(), owner, tool), lockDir: identityOf(st) };
    const holder = holderPathFor(lockDir);
    const tmp = path.join(path.dirname(holder), `.${path.basename(holder)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    fs.createFileSync(tmp, Buffer.from(JSON.stringify(record) + '\n'), 0o644);
    try {
      fs.renameSync(tmp, holder);
    } catch (err) {
      try { fs.unlinkSync(tmp); } catch { /* already gone */ }
      throw err;
    }
    return { lockDir, identity: record.lockDir, owner, mtimeMs: st.mtimeMs, fd: holdOpen(lockDir, record.lockDir) };
  } catch (err) {
    try { fs.rmdirSync(lockDir); } catch { /* leave it to the mtime rule */ }
    throw err;
  }
}

/** A read-only descriptor on the directory, kept while held; only a look at /proc reads it. */
function holdOpen(lockDir: string, identity: DirIdentity): number {
  try {
    const fd = nodeFs.openSync(lockDir, nodeFs.constants.O_RDONLY | nodeFs.constants.O_DIRECTORY | nodeFs.constants.O_NOFOLLOW);
    if (sameDir(identity, nodeFs.fstatSync(fd))) return fd;
    nodeFs.closeSync(fd);
  } catch {
    // no descriptor: the holder record and the mtime still speak for us
  }
  return -1;
}

function closeHeld(held: HeldDir): void {
  if (held.fd < 0) return;
  try {
    nodeFs.closeSync(held.fd);
  } catch { /* already closed */ }
  held.fd = -1;
}

/**
 * A compromised holder stops speaking for the lock: its descriptor is closed and its holder
 * record removed, so what is left is judged by the mtime rule alone and cannot be kept
 * forever by a process that no longer thinks it holds it.
 */
export function disownHeld(held: HeldDir): void {
  closeHeld(held);
  try {
    removeIfOwnedSync(holderPathFor(held.lockDir), held.owner);
  } catch { /* unreadable or gone: nothing of ours to remove */ }
}

type BreakResult = 'broken' | 'gone' | 'busy' | 'not-stale';

/**
 * Removes a stale lock directory without ever removing a fresh one: under a short guard file
 * (so two breakers cannot both act on one verdict), look again, rename the directory aside,
 * check that what moved is the directory judged, and only then remove it.
 */
function breakStale(lockDir: string, judged: Stats, staleMs: number): BreakResult {
  const guard = takeGuard(lockDir);
  if (guard === undefined) return 'busy';
  const fs = fsl();
  try {
    let st: Stats;
    try {
      st = fs.lstatSync(lockDir);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return 'gone';
      throw err;
    }
    if (!sameDir(identityOf(judged), st) || !st.isDirectory() || !isStale(lockDir, st, staleMs)) return 'not-stale';
    const holderRecord = readAdapterRecord(lockDir);
    const trash = trashPathFor(lockDir);
    try {
      fs.renameSync(lockDir, trash);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return 'gone';
      throw err;
    }
    let moved: Stats | undefined;
    try {
      moved = fs.lstatSync(trash);
    } catch {
      moved = undefined;
    }
    if (moved === undefined || !sameDir(identityOf(st), moved)) {
      // Someone replaced the lock between our look and our rename: put theirs back if the path is still free.
      putBack(trash, lockDir);
      return 'not-stale';
    }
    removeDirQuietly(trash);
    if (holderRecord !== undefined && holderRecord.lockDir.ino === st.ino) removeIfOwnedSync(holderPathFor(lockDir), holderRecord.owner);
    return 'broken';
  } finally {
    removeIfOwnedSync(guard.path, guard.owner);
  }
}

function putBack(trash: string, lockDir: string): void {
  const fs = fsl();
  try {
    // mkdir, never rename onto the path: a rename would replace an empty lock directory someone just made.
    fs.mkdirExclusiveSync(lockDir);
  } catch {
    return; // taken meanwhile: that holder has it; the moved one stays aside under a name nothing lists
  }
  try {
    const st = fs.lstatSync(trash);
    fs.touchIfSync(lockDir, st.mtime, () => true);
  } catch { /* the fresh directory keeps a fresh mtime */ }
  removeDirQuietly(trash);
}

function removeDirQuietly(dir: string): void {
  try {
    fsl().rmdirSync(dir);
  } catch {
    // proper-lockfile's directory is empty; one that is not stays aside for a person to look at
  }
}

/** `<lock>.reaping`, the same guard Ledgerlock's own reaper takes; a dead breaker's guard is removed. */
function takeGuard(lockDir: string): { path: string; owner: string } | undefined {
  const guardPath = `${lockDir}${GUARD_SUFFIX}`;
  const owner = newOwnerId();
  const content = Buffer.from(JSON.stringify(nativeLockContent(selfIdentitySync(), owner, 'ledgerlock reaper')) + '\n');
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      fsl().createFileSync(guardPath, content, 0o644);
      return { path: guardPath, owner };
    } catch (err) {
      if (errnoCode(err) !== 'EEXIST') throw err;
    }
    let bytes: Buffer;
    let st: Stats;
    try {
      st = fsl().lstatSync(guardPath);
      bytes = fsl().readFileSync(guardPath);
    } catch {
      continue; // released meanwhile
    }
    const parsed = parseLockContent(bytes);
    const verdict = parsed.native !== undefined ? holderProcess(parsed.native) : 'unknown';
    const abandoned = verdict === 'dead' || (verdict === 'unknown' && Date.now() - st.mtimeMs > GUARD_STALE_MS);
    if (!abandoned || parsed.native === undefined) return undefined;
    removeIfOwnedSync(guardPath, parsed.native.owner);
  }
  return undefined;
}

export type TouchResult = { kind: 'touched'; mtimeMs: number } | { kind: 'compromised'; reason: string };

/** The heartbeat: touch the directory only if it is still ours and nobody moved its mtime. */
export function touchHeld(held: HeldDir): TouchResult {
  let why = '';
  const result = fsl().touchIfSync(held.lockDir, new Date(), (st) => {
    if (!sameDir(held.identity, st)) why = 'the lock directory was replaced by another holder';
    else if (st.mtimeMs !== held.mtimeMs) why = 'the lock was touched by someone else (it was taken over as stale, or the mtime was changed)';
    return why === '';
  });
  if (result === 'gone') return { kind: 'compromised', reason: 'the lock directory was removed by someone else' };
  if (result === 'refused') return { kind: 'compromised', reason: why };
  return { kind: 'touched', mtimeMs: result.mtimeMs };
}

/**
 * Removes our directory only if it is still ours: rename it aside, check what moved, and put a
 * replacement back (it was taken over while we held it); then our holder record.
 */
export function releaseHeld(held: HeldDir): 'released' | 'not-ours' | 'gone' {
  const fs = fsl();
  closeHeld(held);
  let outcome: 'released' | 'not-ours' | 'gone' = 'released';
  const trash = trashPathFor(held.lockDir);
  try {
    fs.renameSync(held.lockDir, trash);
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
    outcome = 'gone';
  }
  if (outcome === 'released') {
    let moved: Stats | undefined;
    try {
      moved = fs.lstatSync(trash);
    } catch {
      moved = undefined;
    }
    if (moved !== undefined && sameDir(held.identity, moved)) removeDirQuietly(trash);
    else {
      putBack(trash, held.lockDir);
      outcome = 'not-ours';
    }
  }
  removeIfOwnedSync(holderPathFor(held.lockDir), held.owner);
  return outcome;
}
