/** zod pieces for CLI flags, which always arrive as strings (or `true` for a bare flag). */
import { z } from 'zod';
import { MAX_TIMER_MS } from '../engine/options';

/** A whole number of milliseconds, 1..2^31-1. */
export const millis = z
  .string()
  .regex(/^\d+$/, 'must be a whole number of milliseconds')
  .transform(Number)
  .refine((n) => n > 0 && n <= MAX_TIMER_MS, `must be between 1 and ${MAX_TIMER_MS}`);

/** A non-negative whole number (counts, ids). */
export const count = z
  .string()
  .regex(/^\d+$/, 'must be a whole number')
  .transform(Number)
  .refine((n) => Number.isSafeInteger(n), 'is too large');

export const positiveCount = count.refine((n) => n > 0, 'must be at least 1');

export const bool = z.literal(true).optional();

/** Flags every lock-evaluating command shares. */
export const lockTimingFlags = {
  'stale-ms': millis.optional(),
  'contention-ms': millis.optional(),
};

export function lockTiming(flags: { 'stale-ms'?: number | undefined; 'contention-ms'?: number | undefined }): { staleMs?: number; contentionMs?: number } {
  return {
    ...(flags['stale-ms'] !== undefined ? { staleMs: flags['stale-ms'] } : {}),
    ...(flags['contention-ms'] !== undefined ? { contentionMs: flags['contention-ms'] } : {}),
  };
}
