/**
 * Waiting for a held lock: judging its holder at a bounded rate, breaking it when stale,
 * reporting contention once it lasts (LOCK_CONTENDED, LOCK_WAIT_ENDED, LOCK_CONTENTION_TIMEOUT),
 * and giving up at the timeout with an error that names the holder.
 */
import { ErrorCode, LedgerlockError, LockContentionError } from '../errors';
import { backoffDelay } from '../options';
import { emitTelemetry } from '../telemetry';
import type { ResolvedAcquire } from './acquire-options';
import type { LockInfo } from './classify';
import { UnheldLock, type LockHandle } from './handle';
import { describeHolder } from './holder';
import { inspectLock } from './inspect';
import { breakLock } from './reap';
import { ReleaseWatch } from './release-watch';
import { formatAge } from './timing';

const REJUDGE_EVERY_MS = 100;
/**
 * A verdict that does not rest on a named live pid (a lock naming no pid, or one only the
 * operating system's table of open files shows held) changes with windows of seconds, and
 * judging it again scans every process's descriptors: such locks are re-judged at this pace.
 */
const REJUDGE_SLOW_MS = 1_000;
const JUDGE_AFTER_MS = 20;

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

  constructor(
    private readonly target: string,
    private readonly o: ResolvedAcquire,
  ) {
    // Most locks met are released within milliseconds (a ledger batch, a document update): a
    // waiter first waits for the release, and judges the holder (lock file, /proc evidence)
    // only once it has kept the lock for JUDGE_AFTER_MS. A crashed holder's lock is broken
    // that much later; a hand-off costs no judging.
    this.judgedAt = this.started - REJUDGE_EVERY_MS + JUDGE_AFTER_MS;
  }

  /** Resolves when the next create attempt is due; an UnheldLock in run-without-lock mode at the timeout. */
  async next(attempt: number): Promise<LockHandle | undefined> {
    // A wait that ends with the lock's name still taken goes round again (judging, timeout)
    // without a create attempt that could only fail (release-watch.ts).
    for (let n = attempt; ; n++) {
      const due = await this.once(n);
      if (due !== 'still-held') return due;
    }
  }

  private async once(attempt: number): Promise<LockHandle | undefined | 'still-held'> {
    const { target, o } = this;
    // Judging the holder reads its file and /proc; a staleness verdict cannot change faster
    // than the holder's process can die, so waiters woken often re-judge at a bounded rate.
    if (Date.now() - this.judgedAt >= this.rejudgeEvery()) {
      this.last = (await currentHolder(target, o)) ?? this.last;
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
      await emitTelemetry(o.telemetry, target, {
        type: 'LOCK_CONTENDED',
        data: { lock: target, holder: holderOf(this.last), waiterPid: process.pid, waitedMs: waited },
      });
    }
    if (waited >= o.timeoutMs) {
      await emitTelemetry(o.telemetry, target, {
        type: 'LOCK_CONTENTION_TIMEOUT',
        data: { lock: target, holder: holderOf(this.last), waiterPid: process.pid, waitedMs: waited },
      });
      if (o.runWithoutLock) return new UnheldLock(target);
      throw contentionError(target, waited, this.last);
    }
    this.watch ??= new ReleaseWatch(target);
    await waitOrAbort(this.watch, Math.min(backoffDelay(attempt, o.retryBaseMs, o.retryMaxMs), o.timeoutMs - waited), o.signal, target);
    return this.watch.taken() ? 'still-held' : undefined;
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

/** A waiter that said it was waiting says when it stops, so nobody counts it as waiting after. */
export async function waitEnded(o: ResolvedAcquire, target: string, started: number, outcome: 'acquired' | 'aborted'): Promise<void> {
  await emitTelemetry(o.telemetry, target, {
    type: 'LOCK_WAIT_ENDED',
    data: { lock: target, waiterPid: process.pid, waitedMs: Date.now() - started, outcome },
  });
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
  return new LockContentionError(`timed out after ${formatAge(waitedMs)} waiting for ${lockPath}: held by ${who}${age}${info ? ` (${info.reason})` : ''}`, {
    path: lockPath,
    waitedMs,
    holder: info?.holder ?? null,
    ageMs: info?.ageMs,
    state: info?.state,
  });
}

function holderOf(info: LockInfo | undefined) {
  return info?.holder ? { ...info.holder } : null;
}

export function throwIfAborted(signal: AbortSignal | undefined, lockPath: string): void {
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
