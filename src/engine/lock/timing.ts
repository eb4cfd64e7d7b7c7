/**
 * The clock rules of locks in one place: defaults, and validation so a NaN or an Infinity can
 * never become a lock that is never stale or a wait that never ends.
 */
import { ErrorCode, LedgerlockError } from '../errors';
import { checkDuration } from '../options';

export const DEFAULT_STALE_MS = 30_000;
export const DEFAULT_CONTENTION_MS = 10_000;
/** A zero-byte lock older than this was left by a crash between create and write. */
export const EMPTY_LOCK_GRACE_MS = 10_000;

export interface LockTiming {
  /** Heartbeat age after which a lock nobody provably holds (other host, unreadable, directory) is orphaned. Default 30 s. */
  staleMs?: number;
  /** Age after which a live holder's lock is reported as contended. Default 10 s. */
  contentionMs?: number;
  /** Evaluate ages at this epoch ms instead of now (read-only inspection). */
  now?: number;
}

export interface ResolvedTiming {
  staleMs: number;
  contentionMs: number;
  now: number;
}

export function resolveTiming(opts: LockTiming = {}): ResolvedTiming {
  const now = opts.now ?? Date.now();
  if (typeof now !== 'number' || !Number.isFinite(now) || now < 0) {
    throw new LedgerlockError(ErrorCode.BadOption, `option now must be a finite epoch time in milliseconds, got ${String(now)}`, {
      option: 'now',
      value: String(now),
    });
  }
  return {
    staleMs: checkDuration('staleMs', opts.staleMs ?? DEFAULT_STALE_MS),
    contentionMs: checkDuration('contentionMs', opts.contentionMs ?? DEFAULT_CONTENTION_MS),
    now,
  };
}

/** Ages in reasons people read; the same format everywhere Ledgerlock shows an age. */
export { formatAge } from '../../shared/age';
