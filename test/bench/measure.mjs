// Timing helpers for the benchmarks. Every rate is measured in the same run as its anchor,
// so ratios stay meaningful on a shared, noisy machine; absolute numbers are only context.
import { performance } from 'node:perf_hooks';

/** Runs `op` repeatedly for about `ms` (at least `minOps` times); returns ops per second. */
export async function rate(op, { ms = 1500, minOps = 20 } = {}) {
  let ops = 0;
  const start = performance.now();
  while (ops < minOps || performance.now() - start < ms) {
    await op(ops);
    ops++;
  }
  return ops / ((performance.now() - start) / 1000);
}

/** Median duration in milliseconds of `runs` calls to `op`. */
export async function medianMs(op, runs = 7) {
  const times = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await op(i);
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

export function fmt(n) {
  if (!Number.isFinite(n)) return String(n);
  if (n >= 1000) return Math.round(n).toLocaleString('en-US');
  if (n >= 10) return n.toFixed(1);
  return n.toFixed(2);
}
