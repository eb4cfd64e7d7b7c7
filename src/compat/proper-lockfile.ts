/**
 * `ledgerlock/compat/proper-lockfile`: proper-lockfile's API — lock, unlock, check and their
 * sync forms, the same options and error codes — on the same `<file>.lock` directory, held with
 * Ledgerlock's evidence (see mkdir-lock.ts). Differences a caller can see: a live holder is
 * never taken over however old its mtime, a provably dead one at once; and a compromised lock
 * is reported to `onCompromised` (default: a process warning), never thrown from a timer.
 */
import * as path from 'node:path';
import { errnoCode } from '../engine/errors';
import { fsl } from '../engine/fs';
import { ReleaseWatch } from '../engine/lock/release-watch';
import { disownHeld, isStale, releaseHeld, touchHeld, tryAcquire, type HeldDir } from './mkdir-lock';

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
  /** Accepted for compatibility and not used: the adapter goes through Ledgerlock's file-system layer. */
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
  released: boolean;
  timer: NodeJS.Timeout | undefined;
  lastUpdate: number;
}

/** Locks this process holds, by canonical file path (proper-lockfile keys them the same way). */
const held = new Map<string, Held>();
let exitHookInstalled = false;

function codedError(code: string, message: string, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(message), { code, ...extra });
}

function lockDirOf(file: string, options: { lockfilePath?: string }): string {
  return options.lockfilePath !== undefined ? path.resolve(options.lockfilePath) : `${file}.lock`;
}

function canonical(file: string, options: { realpath?: boolean }): string {
  return options.realpath === false ? path.resolve(file) : fsl().realpathSync(file);
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

function start(file: string, dir: HeldDir, options: LockOptions, t: { stale: number; update: number }): Held {
  const entry: Held = { dir, released: false, timer: undefined, lastUpdate: Date.now() };
  held.set(file, entry);
  installExitHook();
  const report = options.onCompromised ?? ((err: Error) => process.emitWarning(err.message, { code: 'ECOMPROMISED', detail: `lock on ${file}` }));
  const compromised = (reason: string) => {
    entry.released = true;
    disownHeld(entry.dir);
    if (held.get(file) === entry) held.delete(file);
    report(codedError('ECOMPROMISED', `Lock on ${file} was compromised: ${reason}`, { file }));
  };
  const beat = () => {
    entry.timer = undefined;
    if (entry.released) return;
    let result;
    try {
      result = touchHeld(entry.dir);
    } catch (err) {
      // EIO and the like may pass; past the stale window the lock may have been taken meanwhile.
      if (Date.now() - entry.lastUpdate > t.stale) return compromised(`could not refresh it within the stale window (${errnoCode(err) ?? (err as Error).message})`);
      return schedule(1000);
    }
    if (result.kind === 'compromised') return compromised(result.reason);
    if (Date.now() - entry.lastUpdate > t.stale) return compromised('it was not refreshed within the stale threshold (the process was stalled)');
    entry.dir.mtimeMs = result.mtimeMs;
    entry.lastUpdate = Date.now();
    schedule(t.update);
  };
  const schedule = (ms: number) => {
    entry.timer = setTimeout(beat, ms);
    entry.timer.unref();
  };
  schedule(t.update);
  return entry;
}

function releaseEntry(file: string, entry: Held): void {
  if (entry.timer !== undefined) clearTimeout(entry.timer);
  entry.released = true;
  if (held.get(file) === entry) held.delete(file);
  releaseHeld(entry.dir);
}

function releaser(file: string, entry: Held): ReleaseSync {
  return () => {
    if (entry.released) throw codedError('ERELEASED', 'Lock is already released');
    releaseEntry(file, entry);
  };
}

function attempt(file: string, options: LockOptions, t: { stale: number; update: number }): Held | undefined {
  const result = tryAcquire(lockDirOf(file, options), t.stale, toolName());
  return result.kind === 'acquired' ? start(file, result.held, options, t) : undefined;
}

function locked(file: string): Error {
  return codedError('ELOCKED', 'Lock file is already being held', { file });
}

async function lockFile(file: string, options: LockOptions = {}): Promise<Release> {
  const t = timing(options);
  const target = await canonicalAsync(file, options);
  const delays = retryDelays(options.retries);
  let watch: ReleaseWatch | undefined;
  try {
    for (let i = 0; ; i++) {
      const entry = attempt(target, options, t);
      if (entry !== undefined) {
        const release = releaser(target, entry);
        return async () => release();
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
  const t = timing(options);
  const target = canonical(file, options);
  const entry = attempt(target, options, t);
  if (entry === undefined) throw locked(target);
  return releaser(target, entry);
}

function unlockFileSync(file: string, options: UnlockOptions = {}): void {
  const target = canonical(file, options);
  const entry = held.get(target);
  if (entry === undefined) throw codedError('ENOTACQUIRED', 'Lock is not acquired/owned by you');
  releaseEntry(target, entry);
}

async function unlockFile(file: string, options: UnlockOptions = {}): Promise<void> {
  const target = await canonicalAsync(file, options);
  unlockFileSync(target, { ...options, realpath: false });
}

function checkFileSync(file: string, options: CheckOptions = {}): boolean {
  const target = canonical(file, options);
  const lockDir = lockDirOf(target, options);
  let st;
  try {
    st = fsl().lstatSync(lockDir);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return false;
    throw err;
  }
  return !isStale(lockDir, st, staleOf({ stale: options.stale ?? 10_000 }));
}

async function checkFile(file: string, options: CheckOptions = {}): Promise<boolean> {
  const target = await canonicalAsync(file, options);
  return checkFileSync(target, { ...options, realpath: false });
}

async function canonicalAsync(file: string, options: { realpath?: boolean }): Promise<string> {
  return options.realpath === false ? path.resolve(file) : fsl().realpath(file);
}

function toolName(): string {
  const script = process.argv[1];
  return `${script ? path.basename(script) : path.basename(process.execPath)} (proper-lockfile API)`;
}

/**
 * Like the original, locks still held when the process exits are removed, also when a signal
 * ends it (not after SIGKILL: then the holder record names a dead pid, and it is taken over).
 */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', releaseAllAtExit);
  for (const signal of EXIT_SIGNALS) {
    const onSignal = () => {
      // Only where nobody else handles the signal: then its default action, ending the process, is what the program expects.
      if (process.listenerCount(signal) > 1) return;
      releaseAllAtExit();
      process.removeListener(signal, onSignal);
      process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

const EXIT_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

function releaseAllAtExit(): void {
  for (const [file, entry] of [...held]) {
    try {
      releaseEntry(file, entry);
    } catch {
      // exiting anyway; what is left names a dead pid and is taken over
    }
  }
}

/** proper-lockfile's module is itself `lock`, with the other functions on it. */
function properLockfile(file: string, options?: LockOptions): Promise<Release> {
  return lockFile(file, options);
}

namespace properLockfile {
  export const lock = lockFile;
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
