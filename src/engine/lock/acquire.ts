/**
 * Taking a lock: exclusive create, else wait with full-jitter backoff, breaking stale locks met
 * on the way (same rules as reapLock), reporting contention once it lasts, and giving up at a
 * bound with an error that names the holder (or, if asked, running without the lock).
 */
import * as path from 'node:path';
import { ErrorCode, LedgerlockError, LockContentionError } from '../errors';
import { backoffDelay, checkDuration } from '../options';
import { emitTelemetry, type TelemetryTarget } from '../telemetry';
import type { LockInfo } from './classify';
import { createLockFile, createLockFileSync, nativeLockBytes, newOwnerId } from './file';
import { HeldLock, UnheldLock, type LockHandle } from './handle';
import { describeHolder } from './holder';
import { inspectLock } from './inspect';
import { selfIdentitySync } from './process';
import { SyncWaiter } from './sync-wait';
import { breakLock } from './reap';
import { ReleaseWatch } from './release-watch';
import { formatAge, resolveTiming, type LockTiming } from './timing';

export interface AcquireOptions extends LockTiming {
  /** Written into the lock so others can see who holds it. Default: this script's name. */
  tool?: string;
  /** Give up waiting after this long. Default 10 s. */
  timeoutMs?: number;
  /** How often the holder refreshes the lock's mtime. Default staleMs / 3. */
  heartbeatMs?: number;
  /** First backoff ceiling (full jitter doubles it each retry). Default 5 ms. */
  retryBaseMs?: number;
  /** Largest backoff ceiling. Default 250 ms. */
  retryMaxMs?: number;
  /** 'run-without-lock': on timeout, hand the task a handle whose `held` is false instead of throwing. */
  onTimeout?: 'throw' | 'run-without-lock';
  /** Create the lock's missing parent directories. Default true. */
  createParents?: boolean;
  /**
   * fsync the new lock file and its directory, so after a power loss the lock still names its
   * (now dead) holder. Default false: mutual exclusion rests on the kernel's exclusive create,
   * not on the disk, and a power loss ends every holder anyway; what it can leave (no file, an
   * empty one, one from before the boot) is stale by the rules. The fsyncs cost 10-20x.
   */
  durable?: boolean;
  telemetry?: TelemetryTarget;
  signal?: AbortSignal;
}

export interface ResolvedAcquire {
  staleMs: number;
  contentionMs: number;
  timeoutMs: number;
  heartbeatMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
  tool: string;
  runWithoutLock: boolean;
  createParents: boolean;
  durable: boolean;
  telemetry: TelemetryTarget;
  signal: AbortSignal | undefined;
}

export function resolveAcquire(opts: AcquireOptions): ResolvedAcquire {
  const { staleMs, contentionMs } = resolveTiming({ ...opts, now: 0 });
  if (opts.onTimeout !== undefined && opts.onTimeout !== 'throw' && opts.onTimeout !== 'run-without-lock') {
    throw new LedgerlockError(ErrorCode.BadOption, `option onTimeout must be 'throw' or 'run-without-lock', got ${JSON.stringify(opts.onTimeout)}`, { option: 'onTimeout' });
  }
  const retryBaseMs = checkDuration('retryBaseMs', opts.retryBaseMs ?? 5);
  return {
    staleMs,
    contentionMs,
    timeoutMs: checkDuration('timeoutMs', opts.timeoutMs ?? 10_000),
    heartbeatMs: checkDuration('heartbeatMs', opts.heartbeatMs ?? Math.max(1, Math.floor(staleMs / 3))),
    retryBaseMs,
    retryMaxMs: checkDuration('retryMaxMs', opts.retryMaxMs ?? Math.max(250, retryBaseMs)),
    tool: opts.tool ?? defaultTool(),
    runWithoutLock: opts.onTimeout === 'run-without-lock',
    createParents: opts.createParents ?? true,
    durable: opts.durable ?? false,
    telemetry: opts.telemetry,
    signal: opts.signal,
  };
}

const REJUDGE_EVERY_MS = 100;
/**
 * A verdict that does not rest on a named live pid (a lock naming no pid, or one only the
 * operating system's table of open files shows held) changes with windows of seconds, and
 * judging it again scans every process's descriptors: such locks are re-judged at this pace.
 */
const REJUDGE_SLOW_MS = 1_000;
const JUDGE_AFTER_MS = 20;

export async function acquireLock(lockPath: string, opts: AcquireOptions = {}): Promise<LockHandle> {
  const o = resolveAcquire(opts);
  const target = path.resolve(lockPath);
  const self = selfIdentitySync();
  const contention = new Contention(target, o);
  try {
    for (let attempt = 0; ; attempt++) {
      throwIfAborted(o.signal, target);
      const owner = newOwnerId();
      if (await createLockFile(target, nativeLockBytes(self, owner, o.tool, o.heartbeatMs), { createParents: o.createParents, durable: o.durable, telemetry: o.telemetry })) {
        if (contention.reported) await waitEnded(o, target, contention.started, 'acquired');
        return new HeldLock(target, owner, o.heartbeatMs, o.telemetry);
      }
      const gaveUp = await contention.next(attempt);
      if (gaveUp) return gaveUp;
    }
  } catch (err) {
    if (contention.reported && err instanceof LedgerlockError && err.code === ErrorCode.Aborted) await waitEnded(o, target, contention.started, 'aborted');
    throw err;
  } finally {
    contention.close();
  }
}

/**
 * What a waiter does between two exclusive-create attempts: judge the holder (at a bounded
 * rate), break it if it is stale, report contention once it lasts, give up at the timeout,
 * else sleep until the lock's directory changes or the backoff ends. The async acquire runs it
 * in place; the sync acquire runs it in a worker thread (sync-wait.ts, wait-worker.ts), so both follow
 * exactly the same rules.
 */
export class Contention {
  readonly started = Date.now();
  /** LOCK_CONTENDED was recorded: the end of the wait is recorded too (LOCK_WAIT_ENDED). */
  reported = false;
  private last: LockInfo | undefined;
  private watch: ReleaseWatch | undefined;
  private judgedAt: number;

  constructor(private readonly target: string, private readonly o: ResolvedAcquire) {
    // Most locks met are released within milliseconds (a ledger batch, a document update): a
    // waiter first waits for the release, and judges the holder (lock file, /proc evidence)
    // only once it has kept the lock for JUDGE_AFTER_MS. A crashed holder's lock is broken
    // that much later; a hand-off costs no judging.
    this.judgedAt = this.started - REJUDGE_EVERY_MS + JUDGE_AFTER_MS;
  }

  /** Resolves when the next create attempt is due; an UnheldLock in run-without-lock mode at the timeout. */
  async next(attempt: number): Promise<LockHandle | undefined> {
    const { target, o } = this;
    // Judging the holder reads its file and /proc; a staleness verdict cannot change faster
    // than the holder's process can die, so waiters woken often re-judge at a bounded rate.
    if (Date.now() - this.judgedAt >= this.rejudgeEvery()) {
      this.last = await currentHolder(target, o) ?? this.last;
      this.judgedAt = Date.now();
    }
    if (this.last?.reapable) {
      this.judgedAt = 0;
      const outcome = await breakLock(target, { staleMs: o.staleMs, contentionMs: o.contentionMs, now: Date.now() }, o.telemetry);
      if (outcome.kind === 'reaped' || outcome.kind === 'gone') return undefined;
    }
    const waited = Date.now() - this.started;
    if (!this.reported && waited >= o.contentionMs) {
      this.reported = true;
      await emitTelemetry(o.telemetry, target, { type: 'LOCK_CONTENDED', data: { lock: target, holder: holderOf(this.last), waiterPid: process.pid, waitedMs: waited } });
    }
    if (waited >= o.timeoutMs) {
      await emitTelemetry(o.telemetry, target, { type: 'LOCK_CONTENTION_TIMEOUT', data: { lock: target, holder: holderOf(this.last), waiterPid: process.pid, waitedMs: waited } });
      if (o.runWithoutLock) return new UnheldLock(target);
      throw contentionError(target, waited, this.last);
    }
    this.watch ??= new ReleaseWatch(target);
    await waitOrAbort(this.watch, Math.min(backoffDelay(attempt, o.retryBaseMs, o.retryMaxMs), o.timeoutMs - waited), o.signal, target);
    return undefined;
  }

  close(): void {
    this.watch?.close();
  }

  /**
   * A live holder seen through its named pid or a kernel lock is checked again in microseconds
   * and can die any moment; other verdicts cost a scan of every process's descriptors and
   * move in seconds.
   */
  private rejudgeEvery(): number {
    const last = this.last;
    if (last === undefined || last.reapable) return REJUDGE_EVERY_MS;
    const cheap = last.alive === true && last.evidence.some((e) => e.kind === 'pid' || e.kind === 'flock' || e.kind === 'posix' || e.kind === 'ofd');
    return cheap ? REJUDGE_EVERY_MS : REJUDGE_SLOW_MS;
  }
}

/**
 * acquireLock, synchronously, with the same rules: an uncontended lock is a few syscalls on
 * this thread; a held one is waited for (judged, reaped if stale, timed out naming its
 * holder) by a worker thread while this one blocks. `signal` is not supported here.
 */
export function acquireLockSync(lockPath: string, opts: Omit<AcquireOptions, 'signal'> = {}): LockHandle {
  const o = resolveAcquire(opts);
  const target = path.resolve(lockPath);
  const self = selfIdentitySync();
  let waiter: SyncWaiter | undefined;
  try {
    for (;;) {
      const owner = newOwnerId();
      if (createLockFileSync(target, nativeLockBytes(self, owner, o.tool, o.heartbeatMs), { createParents: o.createParents, durable: o.durable, telemetry: o.telemetry })) {
        if (waiter?.reported) void waitEnded(o, target, waiter.started, 'acquired').catch(() => undefined);
        return new HeldLock(target, owner, o.heartbeatMs, o.telemetry);
      }
      waiter ??= new SyncWaiter(target, opts);
      if (waiter.next() === 'run-without-lock') return new UnheldLock(target);
    }
  } finally {
    waiter?.close();
  }
}

/** A waiter that said it was waiting says when it stops, so nobody counts it as waiting after. */
async function waitEnded(o: ResolvedAcquire, target: string, started: number, outcome: 'acquired' | 'aborted'): Promise<void> {
  await emitTelemetry(o.telemetry, target, { type: 'LOCK_WAIT_ENDED', data: { lock: target, waiterPid: process.pid, waitedMs: Date.now() - started, outcome } });
}

/**
 * Runs `fn` holding the lock and releases it after. If the lock was taken from us while `fn`
 * ran, `fn`'s work happened without mutual exclusion: that is reported as E_LOCK_COMPROMISED.
 */
export async function withLock<T>(lockPath: string, fn: (lock: LockHandle) => Promise<T>, opts: AcquireOptions = {}): Promise<T> {
  const lock = await acquireLock(lockPath, opts);
  let result: T;
  try {
    result = await fn(lock);
  } catch (err) {
    await lock.release().catch(() => undefined);
    throw err;
  }
  await lock.release();
  throwIfCompromised(lock);
  return result;
}

/** withLock, synchronously: `fn` runs holding the lock, and the lock is released before this returns. */
export function withLockSync<T>(lockPath: string, fn: (lock: LockHandle) => T, opts: Omit<AcquireOptions, 'signal'> = {}): T {
  const lock = acquireLockSync(lockPath, opts);
  let result: T;
  try {
    result = fn(lock);
  } catch (err) {
    try {
      lock.releaseSync();
    } catch {
      // the task's error is the one to report
    }
    throw err;
  }
  if (result instanceof Promise) {
    result.catch(() => undefined);
    lock.releaseSync();
    throw new LedgerlockError(ErrorCode.BadInput, `withLockSync(${lock.path}) was given an async function; its work would run after the lock is released (use withLock)`, { path: lock.path });
  }
  lock.releaseSync();
  throwIfCompromised(lock);
  return result;
}

function throwIfCompromised(lock: LockHandle): void {
  if (lock instanceof HeldLock && lock.compromised) {
    throw new LedgerlockError(ErrorCode.LockCompromised, `lost ${lock.path} while the task ran: ${lock.compromiseReason}`, { path: lock.path, reason: lock.compromiseReason });
  }
}

async function currentHolder(lockPath: string, o: ResolvedAcquire): Promise<LockInfo | undefined> {
  try {
    return await inspectLock(lockPath, { staleMs: o.staleMs, contentionMs: o.contentionMs });
  } catch (err) {
    if (err instanceof LedgerlockError && err.code === ErrorCode.NotFound) return undefined; // released meanwhile
    throw err;
  }
}

function contentionError(lockPath: string, waitedMs: number, info: LockInfo | undefined): LockContentionError {
  const who = info ? describeHolder(info.holder) : 'another process';
  const age = info ? `, held for ${formatAge(info.ageMs)}` : '';
  return new LockContentionError(
    `timed out after ${formatAge(waitedMs)} waiting for ${lockPath}: held by ${who}${age}${info ? ` (${info.reason})` : ''}`,
    { path: lockPath, waitedMs, holder: info?.holder ?? null, ageMs: info?.ageMs, state: info?.state },
  );
}

function holderOf(info: LockInfo | undefined) {
  return info?.holder ? { ...info.holder } : null;
}

function defaultTool(): string {
  const script = process.argv[1];
  return script ? path.basename(script) : path.basename(process.execPath);
}

function throwIfAborted(signal: AbortSignal | undefined, lockPath: string): void {
  if (signal?.aborted) {
    throw new LedgerlockError(ErrorCode.Aborted, `stopped waiting for ${lockPath}: aborted`, { path: lockPath }, { cause: signal.reason });
  }
}

async function waitOrAbort(watch: ReleaseWatch, ms: number, signal: AbortSignal | undefined, lockPath: string): Promise<void> {
  try {
    await watch.wait(ms, signal);
  } catch (reason) {
    throw new LedgerlockError(ErrorCode.Aborted, `stopped waiting for ${lockPath}: aborted`, { path: lockPath }, { cause: reason });
  }
}
