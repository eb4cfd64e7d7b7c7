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
 * Each protocol (acquire, heartbeat, release, check) is written once, as a generator that
 * yields the operations it makes on the lock directory (mkdir, stat, utimes, rmdir, rename,
 * realpath). A driver carries them out: Ledgerlock's own synchronous file-system layer by
 * default, or the caller's `fs` option, through its callback methods for lock() and its
 * `*Sync` methods for lockSync(), as proper-lockfile does. The holder record, the held
 * descriptor and the OS evidence are used only where the directory the caller's `fs` made is
 * the one on this machine's disk (same device and inode); elsewhere the mtime rule alone applies.
 */
import { randomBytes } from 'node:crypto';
// The module object itself (not an ES namespace copy): a caller passing `fs: require('fs')` is recognised by identity.
// eslint-disable-next-line @typescript-eslint/no-require-imports
import nodeFsModule = require('node:fs');
import type { Stats } from 'node:fs';
import * as path from 'node:path';
import { errnoCode } from '../engine/errors';
import { fsl } from '../engine/fs';
import { newOwnerId, nativeLockContent, removeIfOwnedSync, trashPathFor } from '../engine/lock/file';
import { parseLockContent, type NativeLock } from '../engine/lock/holder';
import { adapterHolderPath, readAdapterRecord } from '../engine/lock/profiles/proper-lockfile';
import { collectOsEvidence } from '../engine/lock/os-evidence';
import { judgeNamedProcess, selfIdentitySync, systemProcessView } from '../engine/lock/process';

const nodeFs = nodeFsModule;

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

/** The Stats fields the protocols read; a caller's `fs` may return any object carrying them. */
type DirStats = Pick<Stats, 'dev' | 'ino' | 'birthtimeMs' | 'mtime' | 'isDirectory'>;

const GUARD_SUFFIX = '.reaping';
/** A breaker holds the guard for the milliseconds a break takes; one whose guard is older died mid-break. */
const GUARD_STALE_MS = 10_000;

/** Where the holder record lives: the engine's proper-lockfile profile reads it from there. */
const holderPathFor = adapterHolderPath;

function identityOf(st: DirStats): DirIdentity {
  return { dev: st.dev, ino: st.ino, birthtimeMs: st.birthtimeMs > 0 ? st.birthtimeMs : 0 };
}

function sameDir(a: DirIdentity, st: DirStats): boolean {
  const b = identityOf(st);
  return a.dev === b.dev && a.ino === b.ino && a.birthtimeMs === b.birthtimeMs;
}

// ---------------------------------------------------------------------------------------------
// Operations and drivers

type Op =
  | { op: 'mkdir'; path: string }
  | { op: 'stat'; path: string }
  /** `fd`: the holder's own descriptor on the directory, which the default driver touches instead of the path. */
  | { op: 'utimes'; path: string; time: Date; fd?: number }
  | { op: 'rmdir'; path: string }
  | { op: 'rename'; from: string; to: string }
  | { op: 'realpath'; path: string };

/** A protocol: yields operations, is resumed with each one's result, or has its error thrown in. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each op's result type differs; the driver and the step agree on it
export type Steps<T> = Generator<Op, T, any>;

/** The caller's `fs` option: whatever object it passed, looked up at each call (tests swap methods while a lock is held). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any fs-like object a caller passes (graceful-fs, memfs, a fault injector)
type CallerFs = Record<string, any>;

export type Driver =
  | { kind: 'ledgerlock' }
  | { kind: 'caller-sync'; fs: CallerFs }
  | { kind: 'caller-async'; fs: CallerFs };

const ledgerlockDriver: Driver = { kind: 'ledgerlock' };

/** The driver for an `fs` option: none, or node's own module, is the default layer. */
export function driverFor(fs: unknown, sync: boolean): Driver {
  if (fs === undefined || fs === null || fs === nodeFsModule) return ledgerlockDriver;
  return sync ? { kind: 'caller-sync', fs: fs as CallerFs } : { kind: 'caller-async', fs: fs as CallerFs };
}

function enoent(p: string, syscall: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`ENOENT: no such file or directory, ${syscall} '${p}'`), { code: 'ENOENT', errno: -2, syscall, path: p });
}

function doLedgerlock(o: Op): unknown {
  const fs = fsl();
  switch (o.op) {
    case 'mkdir': return fs.mkdirExclusiveSync(o.path);
    // stat, not lstat: the same call (and the same error text) as the original.
    case 'stat': return nodeFs.statSync(o.path);
    case 'utimes': {
      if (o.fd !== undefined && o.fd >= 0) {
        nodeFs.futimesSync(o.fd, o.time, o.time);
        return nodeFs.fstatSync(o.fd);
      }
      const touched = fs.touchIfSync(o.path, o.time, () => true);
      if (touched === 'gone' || touched === 'refused') throw enoent(o.path, 'utime');
      return touched;
    }
    case 'rmdir': return fs.rmdirSync(o.path);
    case 'rename': return fs.renameSync(o.from, o.to);
    case 'realpath': return fs.realpathSync(o.path);
  }
}

function argsOf(o: Op): unknown[] {
  switch (o.op) {
    case 'utimes': return [o.path, o.time, o.time];
    case 'rename': return [o.from, o.to];
    default: return [o.path];
  }
}

function doCallerSync(fs: CallerFs, o: Op): unknown {
  const method = `${o.op}Sync`;
  // A caller's fs without rename (proper-lockfile never renames) renames through node's.
  if (typeof fs[method] !== 'function' && o.op === 'rename') return doLedgerlock(o);
  return fs[method](...argsOf(o));
}

function doCallerAsync(fs: CallerFs, o: Op): Promise<unknown> {
  if (typeof fs[o.op] !== 'function' && o.op === 'rename') return Promise.resolve(doLedgerlock(o));
  return new Promise((resolve, reject) => {
    fs[o.op](...argsOf(o), (err: unknown, value: unknown) => (err ? reject(err) : resolve(value)));
  });
}

export function runSync<T>(driver: Driver, steps: Steps<T>): T {
  let next = steps.next();
  while (!next.done) {
    let value: unknown;
    try {
      value = driver.kind === 'caller-sync' ? doCallerSync(driver.fs, next.value) : doLedgerlock(next.value);
    } catch (err) {
      next = steps.throw(err);
      continue;
    }
    next = steps.next(value);
  }
  return next.value;
}

async function runAsync<T>(fs: CallerFs, steps: Steps<T>): Promise<T> {
  let next = steps.next();
  while (!next.done) {
    let value: unknown;
    try {
      value = await doCallerAsync(fs, next.value);
    } catch (err) {
      next = steps.throw(err);
      continue;
    }
    next = steps.next(value);
  }
  return next.value;
}

/** Runs a protocol with a driver: synchronously unless the caller's fs is asynchronous. */
export function run<T>(driver: Driver, steps: Steps<T>): T | Promise<T> {
  return driver.kind === 'caller-async' ? runAsync(driver.fs, steps) : runSync(driver, steps);
}

// ---------------------------------------------------------------------------------------------
// Judging a holder

/** Who holds the directory now, by evidence: 'live', 'dead' (provably), or 'unknown' (judge by mtime). */
type HolderVerdict = 'live' | 'dead' | 'unknown';

/** Whether the process a lock record names is still the one that wrote it (the engine's one liveness check). */
function holderProcess(record: NativeLock): 'live' | 'dead' | 'unknown' {
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
function judgeHolder(lockDir: string, st: DirStats): HolderVerdict {
  const record = readAdapterRecord(lockDir);
  if (record === undefined) return 'unknown';
  const dir = record.lockDir;
  if (dir.dev !== st.dev || dir.ino !== st.ino) return 'unknown';
  const verdict = holderProcess(record);
  if (verdict === 'dead') return dir.birthtimeMs > 0 && sameDir(dir, st) ? 'dead' : 'unknown';
  return verdict;
}

/** Stale by Ledgerlock's evidence first, then by the original's rule (mtime older than `stale`). */
function isStale(lockDir: string, st: DirStats, staleMs: number, now = Date.now()): boolean {
  const verdict = judgeHolder(lockDir, st);
  if (verdict === 'live') return false;
  const stale = verdict === 'dead' || st.mtime.getTime() < now - staleMs;
  // Before any "stale" verdict, ask the operating system: a process holding the directory open holds the lock.
  return stale && !openElsewhere(lockDir, st);
}

function openElsewhere(lockDir: string, st: DirStats): boolean {
  return collectOsEvidence([lockDir]).openers({ dev: st.dev, ino: st.ino }).length > 0;
}

/** This disk's stat of `lockDir`, when it is the directory `st` (from whichever fs) describes. */
function onThisDisk(lockDir: string, st: DirStats): Stats | undefined {
  try {
    const real = fsl().lstatSync(lockDir);
    return real.isDirectory() && real.dev === st.dev && real.ino === st.ino ? real : undefined;
  } catch {
    return undefined;
  }
}

/** The stale verdict on what a stat through the driver saw; the mtime rule alone where that is not this disk's directory. */
function judgedStale(lockDir: string, st: DirStats, staleMs: number): boolean {
  if (onThisDisk(lockDir, st) === undefined) return st.mtime.getTime() < Date.now() - staleMs;
  return isStale(lockDir, st, staleMs);
}

// ---------------------------------------------------------------------------------------------
// Acquire

export interface HeldDir {
  lockDir: string;
  /** The directory as the driver's stat saw it when it was made. */
  identity: DirIdentity;
  /** The holder record's owner id; undefined where no record was written (not this disk). */
  owner: string | undefined;
  /** The mtime the heartbeat expects to find: the one it set last (proper-lockfile's rule). */
  mtimeMs: number;
  /** The file system's mtime precision, probed at acquisition as the original does. */
  precision: 's' | 'ms';
  /** The directory held open while the lock is ours (evidence for others); -1 where it could not be opened. */
  fd: number;
}

export type AttemptResult = { kind: 'acquired'; held: HeldDir } | { kind: 'locked' };

/**
 * One try, as the original: mkdir; on EEXIST judge the holder, break a stale lock and mkdir
 * once more. Any other mkdir error, or a stat error other than ENOENT, fails the try; a lock
 * that vanished while judged is retried without judging again.
 */
export function* acquireSteps(lockDir: string, staleMs: number, tool: string): Steps<AttemptResult> {
  let judge = true;
  for (let round = 0; round < 3; round++) {
    let made = false;
    try {
      yield { op: 'mkdir', path: lockDir };
      made = true;
    } catch (err) {
      if (errnoCode(err) !== 'EEXIST') throw err;
    }
    if (made) return { kind: 'acquired', held: yield* claimSteps(lockDir, tool) };
    if (!judge) return { kind: 'locked' };
    let st: DirStats;
    try {
      st = yield { op: 'stat', path: lockDir };
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
      judge = false; // released meanwhile
      continue;
    }
    if (!st.isDirectory() || !judgedStale(lockDir, st, staleMs)) return { kind: 'locked' };
    const broken = yield* breakSteps(lockDir, st, staleMs);
    if (broken === 'busy' || broken === 'not-stale') return { kind: 'locked' };
    judge = false;
  }
  return { kind: 'locked' };
}

/**
 * The directory is ours: probe the mtime precision as the original does (an mtime off the
 * second, read back), then, where it is this disk's directory, write the holder record and
 * hold the directory open. Any failure removes the directory again.
 */
function* claimSteps(lockDir: string, tool: string): Steps<HeldDir> {
  let st: DirStats;
  let fd = -1;
  let owner: string | undefined;
  try {
    const probe = new Date(Math.ceil(Date.now() / 1000) * 1000 + 5);
    // The default layer touches through a descriptor opened without following links and returns its fstat: this disk's directory.
    const touched: Stats | undefined = yield { op: 'utimes', path: lockDir, time: probe };
    st = touched ?? (yield { op: 'stat', path: lockDir });
    const real = touched ?? onThisDisk(lockDir, st);
    if (real !== undefined) {
      owner = newOwnerId();
      writeHolderRecord(lockDir, real, owner, tool);
      fd = holdOpen(lockDir, identityOf(real));
    }
  } catch (err) {
    try {
      yield { op: 'rmdir', path: lockDir };
    } catch { /* left to the mtime rule */ }
    throw err;
  }
  const mtimeMs = st.mtime.getTime();
  return { lockDir, identity: identityOf(st), owner, mtimeMs, precision: mtimeMs % 1000 === 0 ? 's' : 'ms', fd };
}

/** Writes the holder record for the directory we just made (atomically: temp file, then rename over any leftover). */
function writeHolderRecord(lockDir: string, st: Stats, owner: string, tool: string): void {
  const fs = fsl();
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
  if (held.owner === undefined) return;
  try {
    removeIfOwnedSync(holderPathFor(held.lockDir), held.owner);
  } catch { /* unreadable or gone: nothing of ours to remove */ }
}

type BreakResult = 'broken' | 'gone' | 'busy' | 'not-stale';

/**
 * Removes a stale lock directory without ever removing a fresh one: under a short guard file
 * (so two breakers cannot both act on one verdict), look again, rename the directory aside,
 * check that what moved is the directory judged, and only then remove it. Where the directory
 * is not on this disk (a virtual `fs`), the original's plain rmdir.
 */
function* breakSteps(lockDir: string, judged: DirStats, staleMs: number): Steps<BreakResult> {
  if (onThisDisk(lockDir, judged) === undefined) {
    try {
      yield { op: 'rmdir', path: lockDir };
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
    }
    return 'broken';
  }
  const guard = takeGuard(lockDir);
  if (guard === undefined) return 'busy';
  try {
    let st: DirStats;
    try {
      st = yield { op: 'stat', path: lockDir };
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return 'gone';
      throw err;
    }
    if (!sameDir(identityOf(judged), st) || !st.isDirectory() || !judgedStale(lockDir, st, staleMs)) return 'not-stale';
    const holderRecord = readAdapterRecord(lockDir);
    const moved = yield* moveAsideSteps(lockDir, identityOf(st));
    if (moved !== 'removed') return moved === 'gone' ? 'gone' : 'not-stale';
    if (holderRecord !== undefined && holderRecord.lockDir.ino === st.ino) removeIfOwnedSync(holderPathFor(lockDir), holderRecord.owner);
    return 'broken';
  } finally {
    removeIfOwnedSync(guard.path, guard.owner);
  }
}

/**
 * Renames the directory aside, checks that what moved is `identity`, and removes it. A
 * replacement that moved instead is put back. An rmdir error other than ENOENT is the
 * caller's, as in the original, after the directory is put back where it was.
 */
function* moveAsideSteps(lockDir: string, identity: DirIdentity): Steps<'removed' | 'gone' | 'not-ours'> {
  const trash = trashPathFor(lockDir);
  try {
    yield { op: 'rename', from: lockDir, to: trash };
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return 'gone';
    throw err;
  }
  let moved: DirStats | undefined;
  try {
    moved = yield { op: 'stat', path: trash };
  } catch {
    moved = undefined;
  }
  if (moved === undefined || !sameDir(identity, moved)) {
    yield* putBackSteps(trash, lockDir, moved);
    return 'not-ours';
  }
  try {
    yield { op: 'rmdir', path: trash };
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return 'removed';
    yield* putBackSteps(trash, lockDir, moved);
    throw err;
  }
  return 'removed';
}

/** Puts a moved directory back by mkdir (never a rename onto the path, which would replace an empty lock someone just made), with its mtime. */
function* putBackSteps(trash: string, lockDir: string, moved: DirStats | undefined): Steps<void> {
  try {
    yield { op: 'mkdir', path: lockDir };
  } catch {
    return; // taken meanwhile: that holder has it; the moved one stays aside under a name nothing lists
  }
  try {
    if (moved !== undefined) yield { op: 'utimes', path: lockDir, time: moved.mtime };
  } catch { /* the fresh directory keeps a fresh mtime */ }
  try {
    yield { op: 'rmdir', path: trash };
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

// ---------------------------------------------------------------------------------------------
// Heartbeat, release, check

export type BeatResult =
  | { kind: 'touched' }
  /** A passing error: try again in a second (the original's rule). */
  | { kind: 'retry' }
  | { kind: 'released' }
  | { kind: 'compromised'; error: Error };

function compromisedBy(err: unknown): { kind: 'compromised'; error: Error } {
  const error = err instanceof Error ? err : new Error(String(err));
  return { kind: 'compromised', error: Object.assign(error, { code: 'ECOMPROMISED' }) };
}

/**
 * The heartbeat, as the original's: stat the directory; while its mtime is still the one we
 * set (and it is the same directory), the lock is provably ours however long the process
 * stalled, so touch it. An mtime or directory not ours, a vanished directory, or an error past
 * the stale threshold compromises the lock; other errors are retried.
 */
export function* beatSteps(held: HeldDir, overThreshold: () => boolean, released: () => boolean): Steps<BeatResult> {
  let st: DirStats;
  try {
    st = yield { op: 'stat', path: held.lockDir };
  } catch (err) {
    if (released()) return { kind: 'released' };
    return errnoCode(err) === 'ENOENT' || overThreshold() ? compromisedBy(err) : { kind: 'retry' };
  }
  if (released()) return { kind: 'released' };
  if (!sameDir(held.identity, st) || st.mtime.getTime() !== held.mtimeMs) {
    return compromisedBy(new Error('Unable to update lock within the stale threshold'));
  }
  const time = mtimeFor(held.precision);
  let after: DirStats | undefined;
  try {
    after = yield { op: 'utimes', path: held.lockDir, time, fd: held.fd };
  } catch (err) {
    if (released()) return { kind: 'released' };
    return errnoCode(err) === 'ENOENT' || overThreshold() ? compromisedBy(err) : { kind: 'retry' };
  }
  if (released()) return { kind: 'released' };
  // Through our own descriptor the time is read back exactly; through a caller's fs it is the one set, as in the original.
  held.mtimeMs = after !== undefined ? after.mtime.getTime() : time.getTime();
  return { kind: 'touched' };
}

function mtimeFor(precision: 's' | 'ms'): Date {
  const now = Date.now();
  return new Date(precision === 's' ? Math.ceil(now / 1000) * 1000 : now);
}

/**
 * Removes our directory only if it is still ours (rename it aside, check what moved, put a
 * replacement back); then our holder record. An rmdir error other than ENOENT is reported,
 * as the original reports it.
 */
export function* releaseSteps(held: HeldDir): Steps<'released' | 'not-ours' | 'gone'> {
  closeHeld(held);
  try {
    const moved = yield* moveAsideSteps(held.lockDir, held.identity);
    return moved === 'removed' ? 'released' : moved;
  } finally {
    if (held.owner !== undefined) removeIfOwnedSync(holderPathFor(held.lockDir), held.owner);
  }
}

/** Whether `lockDir` is held: absent is not; present is unless judged stale. */
export function* checkSteps(lockDir: string, staleMs: number): Steps<boolean> {
  let st: DirStats;
  try {
    st = yield { op: 'stat', path: lockDir };
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return false;
    throw err;
  }
  return !judgedStale(lockDir, st, staleMs);
}

export function* realpathSteps(file: string): Steps<string> {
  return yield { op: 'realpath', path: file };
}
