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
import { createLockFile, nativeLockContent, newOwnerId } from './file';
import { HeldLock, UnheldLock, type LockHandle } from './handle';
import { describeHolder } from './holder';
import { inspectLock } from './inspect';
import { selfIdentity } from './process';
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

interface ResolvedAcquire {
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

function resolveAcquire(opts: AcquireOptions): ResolvedAcquire {
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

export async function acquireLock(lockPath: string, opts: AcquireOptions = {}): Promise<LockHandle> {
  const o = resolveAcquire(opts);
  const target = path.resolve(lockPath);
  const self = await selfIdentity();
  const started = Date.now();
  let reportedContention = false;
  let last: LockInfo | undefined;
  let watch: ReleaseWatch | undefined;
  let judgedAt = 0;
  try {
    for (let attempt = 0; ; attempt++) {
      throwIfAborted(o.signal, target);
      const owner = newOwnerId();
      if (await createLockFile(target, nativeLockContent(self, owner, o.tool), { createParents: o.createParents, durable: o.durable, telemetry: o.telemetry })) {
        if (reportedContention) await waitEnded(o, target, started, 'acquired');
        return new HeldLock(target, owner, o.heartbeatMs, o.telemetry);
      }
      // Judging the holder reads its file and /proc; a staleness verdict cannot change faster
      // than the holder's process can die, so waiters woken often re-judge at a bounded rate.
      if (judgedAt === 0 || Date.now() - judgedAt >= REJUDGE_EVERY_MS) {
        last = await currentHolder(target, o) ?? last;
        judgedAt = Date.now();
      }
      if (last?.reapable) {
        judgedAt = 0;
        const outcome = await breakLock(target, { staleMs: o.staleMs, contentionMs: o.contentionMs, now: Date.now() }, o.telemetry);
        if (outcome.kind === 'reaped' || outcome.kind === 'gone') continue;
      }
      const waited = Date.now() - started;
      if (!reportedContention && waited >= o.contentionMs) {
        reportedContention = true;
        await emitTelemetry(o.telemetry, target, { type: 'LOCK_CONTENDED', data: { lock: target, holder: holderOf(last), waiterPid: process.pid, waitedMs: waited } });
      }
      if (waited >= o.timeoutMs) {
        await emitTelemetry(o.telemetry, target, { type: 'LOCK_CONTENTION_TIMEOUT', data: { lock: target, holder: holderOf(last), waiterPid: process.pid, waitedMs: waited } });
        if (o.runWithoutLock) return new UnheldLock(target);
        throw contentionError(target, waited, last);
      }
      watch ??= new ReleaseWatch(target);
      await waitOrAbort(watch, Math.min(backoffDelay(attempt, o.retryBaseMs, o.retryMaxMs), o.timeoutMs - waited), o.signal, target);
    }
  } catch (err) {
    if (reportedContention && err instanceof LedgerlockError && err.code === ErrorCode.Aborted) await waitEnded(o, target, started, 'aborted');
    throw err;
  } finally {
    watch?.close();
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
  if (lock instanceof HeldLock && lock.compromised) {
    throw new LedgerlockError(ErrorCode.LockCompromised, `lost ${lock.path} while the task ran: ${lock.compromiseReason}`, { path: lock.path, reason: lock.compromiseReason });
  }
  return result;
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
