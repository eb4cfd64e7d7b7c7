/**
 * Validation of timing and size options at the API boundary: a NaN, an Infinity, a zero or a
 * value past what setTimeout can hold would otherwise turn into a busy loop or a lock that
 * never goes stale, silently.
 */
import { ErrorCode, LedgerlockError } from './errors';

export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A positive finite number of milliseconds no larger than a timer can hold. */
export function checkDuration(name: string, value: unknown, { allowZero = false } = {}): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || (allowZero ? value < 0 : value <= 0) || value > MAX_TIMER_MS) {
    const bound = allowZero ? '>= 0' : '> 0';
    throw new LedgerlockError(
      ErrorCode.BadOption,
      `option ${name} must be a finite number of milliseconds ${bound} and <= ${MAX_TIMER_MS}, got ${describe(value)}`,
      { option: name, value: describe(value) },
    );
  }
  return value;
}

/** A positive safe integer (counts, sizes). */
export function checkCount(name: string, value: unknown, { allowZero = false } = {}): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || (allowZero ? value < 0 : value <= 0)) {
    throw new LedgerlockError(ErrorCode.BadOption, `option ${name} must be a whole number ${allowZero ? '>= 0' : '> 0'}, got ${describe(value)}`, {
      option: name,
      value: describe(value),
    });
  }
  return value;
}

function describe(value: unknown): string {
  if (typeof value === 'number') return Object.is(value, -0) ? '-0' : String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  return value === undefined ? 'undefined' : typeof value;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

let sleeper: Int32Array | undefined;

/** Blocks the thread for `ms` (the sync forms' backoff): no busy loop, nothing else runs meanwhile. */
export function sleepSync(ms: number): void {
  sleeper ??= new Int32Array(new SharedArrayBuffer(4));
  Atomics.wait(sleeper, 0, 0, Math.max(0, ms));
}

/** Full jitter: a random delay in [0, base * 2^attempt], capped. */
export function backoffDelay(attempt: number, baseMs: number, capMs: number): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.max(1, Math.floor(Math.random() * ceiling));
}
