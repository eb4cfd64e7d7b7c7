// Timing helpers for the benchmarks. Contenders that are compared are measured in the same
// run, in interleaved rounds (each round runs every contender once, in a rotating order, after
// one untimed warm-up each), and compared by the median of their per-round ratios: on a shared,
// noisy machine a slow moment then hits a round, not one contender.
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

/**
 * `producers` loops at once, each awaiting `op()` again and again until `ms` have passed since
 * they began (the multi-producer append shape); how many calls completed, and in how many seconds.
 */
export async function produceFor(producers, ms, op) {
  const start = performance.now();
  let count = 0;
  await Promise.all(
    Array.from({ length: producers }, async () => {
      while (performance.now() - start < ms) {
        await op();
        count++;
      }
    }),
  );
  return { count, seconds: (performance.now() - start) / 1000 };
}

/** Median duration in milliseconds of `runs` calls to `op`. */
export async function medianMs(op, runs = 7) {
  const times = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await op(i);
    times.push(performance.now() - start);
  }
  return median(times);
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/**
 * Interleaved rounds. `contenders`: { name: () => Promise<number> } each returning a rate
 * (ops/s) for one timed window. Returns { rates: { name: [per round] }, median: { name } }.
 */
export async function interleave(contenders, { rounds = 5, warmup = true } = {}) {
  const names = Object.keys(contenders);
  if (warmup) for (const name of names) await contenders[name]();
  const rates = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < rounds; r++) {
    const order = names.map((_, i) => names[(i + r) % names.length]);
    for (const name of order) rates[name].push(await contenders[name]());
  }
  return { rates, median: Object.fromEntries(names.map((n) => [n, median(rates[n])])) };
}

/** Median over rounds of a[i] / b[i]: the ratio the table reports. */
export function ratio(result, a, b) {
  return median(result.rates[a].map((v, i) => v / result.rates[b][i]));
}

export function fmt(n) {
  if (n === undefined || n === null) return '';
  if (!Number.isFinite(n)) return String(n);
  if (n >= 1000) return Math.round(n).toLocaleString('en-US');
  if (n >= 10) return n.toFixed(1);
  return n.toFixed(2);
}

/** A rate as the time per operation people read: "286 µs", "1.2 ms". */
export function perOp(opsPerSec) {
  const us = 1e6 / opsPerSec;
  return us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${Math.round(us)} µs`;
}
