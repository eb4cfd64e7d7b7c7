/**
 * `ledgerlock/compat/proper-lockfile`: proper-lockfile's API — lock, unlock, check and their
 * sync forms, the same options (the `fs` option included) and error codes — on the same
 * `<file>.lock` directory, held with Ledgerlock's evidence (see mkdir-lock.ts). Differences a
 * caller can see: a live holder is never taken over however old its mtime, a provably dead one
 * at once; and a compromised lock is reported to `onCompromised` (default: a process warning),
 * never thrown from a timer (README.md, "Drop-in adapters").
 */
import * as path from 'node:path';
import { ReleaseWatch } from '../engine/lock/release-watch';
import { onExitCleanup } from './exit-hook';
import { acquireSteps, beatSteps, checkSteps, disownHeld, driverFor, realpathSteps, releaseSteps, run, runSync, type Driver, type HeldDir } from './mkdir-lock';

/** node-retry's options, which proper-lockfile's `retries` accepts. */
interface RetryOptions {
  retries?: number;
  factor?: number;
  minTimeout?: number;
  maxTimeout?: number;
  randomize?: boolean;
  forever?: boolean;
}

interface LockOptions {
  /** ms after which a lock whose holder cannot be checked is stale (default 10000, at least 2000). */
  stale?: number;
  /** ms between mtime refreshes (default stale/2, between 1000 and stale/2). */
  update?: number;
  /** Retries when the lock is held: a count or node-retry options (default 0). */
  retries?: number | RetryOptions;
  /** Resolve symlinks with realpath; the file must then exist (default true). */
  realpath?: boolean;
  /** The fs the lock directory is made, stated, touched and removed through (callback methods for lock(), `*Sync` for lockSync()), as in the original; default Ledgerlock's own layer. */
  fs?: unknown;
  /** Called with an ECOMPROMISED error if the lock is lost while held (default: a process warning). */
  onCompromised?: (err: Error) => void;
  /** The lock directory to use instead of `<file>.lock`. */
  lockfilePath?: string;
}

interface UnlockOptions {
  realpath?: boolean;
  fs?: unknown;
  lockfilePath?: string;
}

interface CheckOptions {
  stale?: number;
  realpath?: boolean;
  fs?: unknown;
  lockfilePath?: string;
}

type Release = () => Promise<void>;
type ReleaseSync = () => void;

interface Held {
  dir: HeldDir;
  /** The fs the lock was taken through: its heartbeat and release() use the same one. */
  driver: Driver;
  released: boolean;
  timer: NodeJS.Timeout | undefined;
  lastUpdate: number;
  forgetAtExit: () => void;
}

/** Locks this process holds, by canonical file path (proper-lockfile keys them the same way). */
const held = new Map<string, Held>();

function codedError(code: string, message: string, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(message), { code, ...extra });
}

function lockDirOf(file: string, options: { lockfilePath?: string }): string {
  return options.lockfilePath !== undefined ? path.resolve(options.lockfilePath) : `${file}.lock`;
}

/** proper-lockfile's canonical path: realpath through the caller's fs unless `realpath: false`. */
function canonical(file: string, options: { realpath?: boolean }, driver: Driver): string | Promise<string> {
  return options.realpath === false ? path.resolve(file) : run(driver, realpathSteps(file));
}

function staleOf(options: { stale?: number }): number {
  return Math.max(Number(options.stale) || 0, 2000) || 10_000;
}

function timing(options: LockOptions): { stale: number; update: number } {
  const stale = staleOf({ stale: options.stale ?? 10_000 });
  const asked = options.update === undefined || options.update === null ? stale / 2 : Number(options.update) || 0;
  return { stale, update: Math.max(Math.min(asked, stale / 2), 1000) };
}

function retryDelays(retries: LockOptions['retries']): number[] {
  const o: RetryOptions = typeof retries === 'number' ? { retries } : retries ?? { retries: 0 };
  const count = o.forever ? Number.MAX_SAFE_INTEGER : o.retries ?? 10;
  const factor = o.factor ?? 2;
  const min = o.minTimeout ?? 1000;
  const max = o.maxTimeout ?? Infinity;
  const delays: number[] = [];
  for (let i = 0; i < Math.min(count, 10_000); i++) {
    const jitter = o.randomize ? 1 + Math.random() : 1;
    delays.push(Math.min(Math.round(jitter * min * factor ** i), max));
  }
  return delays;
}

function hasRetries(retries: LockOptions['retries']): boolean {
  return typeof retries === 'number' ? retries > 0 : typeof retries?.retries === 'number' && retries.retries > 0;
}

/**
 * Where the original throws from its timer (ending the process), the adapter warns. The holder
 * has then lost the lock: release() rejects with ERELEASED, unlock() with ENOTACQUIRED, and its
 * next lock() acquires afresh like anyone else's (README.md, "Drop-in adapters").
 */
function warnCompromised(file: string): (err: Error) => void {
  return (err) => process.emitWarning(err.message, {
    code: 'ECOMPROMISED',
    detail: `The lock on ${file} is no longer held by this process: its release() rejects with ERELEASED and its next lock() must acquire it anew.`,
  });
}

function start(file: string, dir: HeldDir, driver: Driver, options: LockOptions, t: { stale: number; update: number }): Held {
  const entry: Held = { dir, driver, released: false, timer: undefined, lastUpdate: Date.now(), forgetAtExit: () => undefined };
  held.set(file, entry);
  // Like the original, a lock still held when the process exits (or a signal ends it) is removed.
  entry.forgetAtExit = onExitCleanup(() => {
    if (entry.released) return;
    // Nothing asynchronous runs at exit: a caller's fs is used through its *Sync methods, as the original does.
    const d = entry.driver;
    releaseEntry(file, entry, d.kind === 'caller-async' ? { kind: 'caller-sync', fs: d.fs } : d);
  });
  const report = options.onCompromised ?? warnCompromised(file);
  const compromised = (err: Error) => {
    entry.released = true;
    entry.forgetAtExit();
    disownHeld(entry.dir);
    if (held.get(file) === entry) held.delete(file);
    report(err);
  };
  const beat = async () => {
    entry.timer = undefined;
    if (entry.released) return;
    const overThreshold = () => entry.lastUpdate + t.stale < Date.now();
    const result = await run(entry.driver, beatSteps(entry.dir, overThreshold, () => entry.released));
    if (entry.released || result.kind === 'released') return;
    if (result.kind === 'compromised') return compromised(result.error);
    if (result.kind === 'retry') return schedule(1000);
    entry.lastUpdate = Date.now();
    schedule(t.update);
  };
  const schedule = (ms: number) => {
    entry.timer = setTimeout(() => void beat().catch((err: Error) => compromised(Object.assign(err, { code: 'ECOMPROMISED' }))), ms);
    entry.timer.unref();
  };
  schedule(t.update);
  return entry;
}

/** Stops the heartbeat and removes the directory through `driver` (the unlock's fs, as in the original). */
function releaseEntry(file: string, entry: Held, driver: Driver = entry.driver): void | Promise<void> {
  if (entry.timer !== undefined) clearTimeout(entry.timer);
  entry.released = true;
  entry.forgetAtExit();
  if (held.get(file) === entry) held.delete(file);
  const outcome = run(driver, releaseSteps(entry.dir));
  return outcome instanceof Promise ? outcome.then(() => undefined) : undefined;
}

function released(): Error {
  return codedError('ERELEASED', 'Lock is already released');
}

function attempt(file: string, options: LockOptions, driver: Driver, t: { stale: number; update: number }): Held | undefined | Promise<Held | undefined> {
  const settle = (result: { kind: 'acquired'; held: HeldDir } | { kind: 'locked' }) => (result.kind === 'acquired' ? start(file, result.held, driver, options, t) : undefined);
  const result = run(driver, acquireSteps(lockDirOf(file, options), t.stale, toolName()));
  return result instanceof Promise ? result.then(settle) : settle(result);
}

function locked(file: string): Error {
  return codedError('ELOCKED', 'Lock file is already being held', { file });
}

async function lockFile(file: string, options: LockOptions = {}): Promise<Release> {
  const driver = driverFor(options.fs, false);
  const t = timing(options);
  const target = await canonical(file, options, driver);
  const delays = retryDelays(options.retries);
  let watch: ReleaseWatch | undefined;
  try {
    for (let i = 0; ; i++) {
      let entry: Held | undefined;
      try {
        entry = await attempt(target, options, driver, t);
      } catch (err) {
        // As with node-retry in the original, an error is retried while retries remain.
        if (i >= delays.length) throw err;
      }
      if (entry !== undefined) {
        const mine = entry;
        return async () => {
          if (mine.released) throw released();
          await releaseEntry(target, mine);
        };
      }
      if (i >= delays.length) throw locked(target);
      // Wake as soon as the holder removes the lock, not only when the retry delay is up.
      watch ??= new ReleaseWatch(lockDirOf(target, options));
      await watch.wait(delays[i]!);
    }
  } finally {
    watch?.close();
  }
}

function lockFileSync(file: string, options: LockOptions = {}): ReleaseSync {
  if (hasRetries(options.retries)) throw codedError('ESYNC', 'Cannot use retries with the sync api');
  const driver = driverFor(options.fs, true);
  const t = timing(options);
  const target = canonical(file, options, driver) as string;
  const result = runSync(driver, acquireSteps(lockDirOf(target, options), t.stale, toolName()));
  if (result.kind !== 'acquired') throw locked(target);
  const entry = start(target, result.held, driver, options, t);
  return () => {
    if (entry.released) throw released();
    releaseEntry(target, entry);
  };
}

function notAcquired(): Error {
  return codedError('ENOTACQUIRED', 'Lock is not acquired/owned by you');
}

function unlockFileSync(file: string, options: UnlockOptions = {}): void {
  const driver = driverFor(options.fs, true);
  const target = canonical(file, options, driver) as string;
  const entry = held.get(target);
  if (entry === undefined) throw notAcquired();
  releaseEntry(target, entry, driver);
}

async function unlockFile(file: string, options: UnlockOptions = {}): Promise<void> {
  const driver = driverFor(options.fs, false);
  const target = await canonical(file, options, driver);
  const entry = held.get(target);
  if (entry === undefined) throw notAcquired();
  await releaseEntry(target, entry, driver);
}

function checkFileSync(file: string, options: CheckOptions = {}): boolean {
  const driver = driverFor(options.fs, true);
  const target = canonical(file, options, driver) as string;
  return runSync(driver, checkSteps(lockDirOf(target, options), staleOf({ stale: options.stale ?? 10_000 })));
}

async function checkFile(file: string, options: CheckOptions = {}): Promise<boolean> {
  const driver = driverFor(options.fs, false);
  const target = await canonical(file, options, driver);
  return run(driver, checkSteps(lockDirOf(target, options), staleOf({ stale: options.stale ?? 10_000 })));
}

function toolName(): string {
  const script = process.argv[1];
  return `${script ? path.basename(script) : path.basename(process.execPath)} (proper-lockfile API)`;
}

/** proper-lockfile's module is itself `lock`, with the other functions on it. */
function properLockfile(file: string, options?: LockOptions): Promise<Release> {
  return lockFile(file, options);
}

namespace properLockfile {
  export const lock = properLockfile;
  export const unlock = unlockFile;
  export const check = checkFile;
  export const lockSync = lockFileSync;
  export const unlockSync = unlockFileSync;
  export const checkSync = checkFileSync;
  export type Options = LockOptions;
  export type LockfileUnlockOptions = UnlockOptions;
  export type LockfileCheckOptions = CheckOptions;
  export type LockfileRetryOptions = RetryOptions;
}

export = properLockfile;
