/**
 * What the Timeline panel draws, computed here so the webview never receives raw events:
 * per ledger, the number of events of each type per time bin; per workspace folder, lock hold
 * and wait spans from the recovery log (LOCK_CONTENDED / LOCK_CONTENTION_TIMEOUT say who
 * waited how long for whom; STALE_LOCK_RECOVERY when a crashed holder's lock was taken back)
 * and the locks held right now.
 *
 * A ledger is read once, newest first in the background, into two typed arrays (time,
 * type): the first answer comes after at most FIRST_ANSWER_MS with what was read so far
 * (`partial`), and the panel asks again until it is whole. Later requests, zooms included,
 * only re-bin. When the ledger grows the new events are read on top; when it shrinks
 * (repair, compaction) it is read again. Memory budget: the newest
 * MAX_EVENTS events (10 bytes each) per ledger, MAX_CACHED ledgers.
 */
import * as fs from 'node:fs/promises';
import { openLedger } from '../engine';
import type { LockItem, LockSpan, RecoveryItem, TimelineReply } from '../protocol';

const MAX_EVENTS = 4_000_000;
const MAX_CACHED = 4;
const MAX_TYPES = 8;

interface Series {
  /** Size and mtime when the newest events were last read. */
  bytes: number;
  mtimeMs: number;
  newestId: number | string | null;
  /** Where reading older events goes on; null once the oldest was read. */
  older: string | null;
  complete: boolean;
  count: number;
  ts: Float64Array;
  type: Uint16Array;
  types: string[];
  typeIndex: Map<string, number>;
  undated: number;
  truncated: boolean;
  /** The background read of older events, while it runs. */
  reading?: Promise<void> | undefined;
  /** Top-ups run one after another. */
  topping: Promise<void>;
}

const cache = new Map<string, Series>();
const PAGE = 5_000;
/** A first answer waits at most this long for the background read; the panel asks again. */
const FIRST_ANSWER_MS = 250;

export async function timeline(
  ledgerPath: string,
  opts: { from?: number | undefined; to?: number | undefined; bins?: number | undefined },
): Promise<TimelineReply> {
  const started = Date.now();
  const series = await seriesOf(ledgerPath);
  if (series.reading) await Promise.race([series.reading, new Promise((r) => setTimeout(r, FIRST_ANSWER_MS))]);
  const reply = bin(series, opts);
  return { ...reply, partial: !series.complete, tookMs: Date.now() - started };
}

function bin(
  series: Series,
  opts: { from?: number | undefined; to?: number | undefined; bins?: number | undefined },
): Omit<TimelineReply, 'tookMs' | 'partial'> {
  const bins = Math.max(1, Math.min(opts.bins ?? 120, 1000));
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < series.count; i++) {
    const t = series.ts[i]!;
    if (Number.isNaN(t)) continue;
    if (t < min) min = t;
    if (t > max) max = t;
  }
  if (min === Infinity)
    return { from: 0, to: 0, binMs: 0, types: [], counts: [], total: series.count, inRange: 0, undated: series.undated, truncated: series.truncated };
  const from = opts.from ?? min;
  const to = Math.max(from + 1, opts.to ?? max + 1);
  const binMs = Math.max(1, Math.ceil((to - from) / bins));
  const perType = series.types.map(() => new Float64Array(bins));
  const totals = new Float64Array(series.types.length);
  let inRange = 0;
  for (let i = 0; i < series.count; i++) {
    const t = series.ts[i]!;
    if (!(t >= from && t < to)) continue;
    const b = Math.min(bins - 1, Math.floor((t - from) / binMs));
    const type = series.type[i]!;
    perType[type]![b]!++;
    totals[type]!++;
    inRange++;
  }
  // The busiest types by name; the rest are summed as "other".
  const order = series.types
    .map((_, i) => i)
    .filter((i) => totals[i]! > 0)
    .sort((a, b) => totals[b]! - totals[a]!);
  const shown = order.slice(0, MAX_TYPES);
  const rest = order.slice(MAX_TYPES);
  const types = shown.map((i) => series.types[i]!);
  const counts = shown.map((i) => Array.from(perType[i]!));
  if (rest.length > 0) {
    const other = new Array<number>(bins).fill(0);
    for (const i of rest) perType[i]!.forEach((v, b) => (other[b] = (other[b] ?? 0) + v));
    types.push(`other (${rest.length} types)`);
    counts.push(other);
  }
  return { from, to: from + binMs * bins, binMs, types, counts, total: series.count, inRange, undated: series.undated, truncated: series.truncated };
}

/** The cached series, topped up with what was appended since; started over after a rewrite. */
async function seriesOf(ledgerPath: string): Promise<Series> {
  const stat = await fs.stat(ledgerPath);
  let series = cache.get(ledgerPath);
  if (series && stat.size < series.bytes) series = undefined; // rewritten (repair, compaction)
  if (!series) {
    series = {
      bytes: 0,
      mtimeMs: 0,
      newestId: null,
      older: null,
      complete: false,
      count: 0,
      ts: new Float64Array(1024),
      type: new Uint16Array(1024),
      types: [],
      typeIndex: new Map(),
      undated: 0,
      truncated: false,
      topping: Promise.resolve(),
    };
    cache.delete(ledgerPath);
    cache.set(ledgerPath, series);
    while (cache.size > MAX_CACHED) cache.delete(cache.keys().next().value!);
    const s = series;
    s.bytes = stat.size;
    s.mtimeMs = stat.mtimeMs;
    s.reading = readOlder(ledgerPath, s).finally(() => (s.reading = undefined));
    return s;
  }
  if (series.bytes !== stat.size || series.mtimeMs !== stat.mtimeMs) {
    const s = series;
    [s.bytes, s.mtimeMs] = [stat.size, stat.mtimeMs];
    s.topping = s.topping.then(() => topUp(ledgerPath, s)).catch(() => undefined);
    await s.topping;
  }
  return series;
}

/** Newest first, page by page, until the oldest event or the memory budget. */
async function readOlder(ledgerPath: string, s: Series): Promise<void> {
  const ledger = await openLedger(ledgerPath, { create: false, telemetry: false });
  try {
    let cursor: string | null = null;
    do {
      const page = await ledger.page({ cursor, limit: PAGE });
      if (cursor === null && page.events[0]) s.newestId = page.events[0].id;
      for (const e of page.events) push(s, e.ts === null ? NaN : Date.parse(e.ts), e.type);
      cursor = page.next;
      if (s.count >= MAX_EVENTS && cursor !== null) {
        s.truncated = true;
        break;
      }
    } while (cursor !== null && cache.has(ledgerPath));
    s.complete = true;
  } finally {
    await ledger.close().catch(() => undefined);
  }
}

/** Reads the events newer than the newest one read, from the end back to it. */
async function topUp(ledgerPath: string, s: Series): Promise<void> {
  if (s.newestId === null) return;
  const ledger = await openLedger(ledgerPath, { create: false, telemetry: false });
  try {
    let cursor: string | null = null;
    let newest: number | string | null = null;
    for (;;) {
      const page = await ledger.page({ cursor, limit: PAGE });
      if (newest === null && page.events[0]) newest = page.events[0].id;
      let reached = false;
      for (const e of page.events) {
        if (!isNewer(e.id, s.newestId)) {
          reached = true;
          break;
        }
        push(s, e.ts === null ? NaN : Date.parse(e.ts), e.type);
      }
      cursor = page.next;
      if (reached || cursor === null) break;
    }
    if (newest !== null) s.newestId = newest;
  } finally {
    await ledger.close().catch(() => undefined);
  }
}

function isNewer(a: number | string, b: number | string): boolean {
  return typeof a === 'number' && typeof b === 'number' ? a > b : String(a) > String(b);
}

function push(s: Series, t: number, type: string): void {
  if (s.count === s.ts.length) {
    const ts = new Float64Array(s.ts.length * 2);
    ts.set(s.ts);
    const ty = new Uint16Array(s.type.length * 2);
    ty.set(s.type);
    [s.ts, s.type] = [ts, ty];
  }
  let index = s.typeIndex.get(type);
  if (index === undefined) {
    // More than 65,535 distinct types share the last slot.
    index = Math.min(s.types.length, 0xffff);
    if (index === s.types.length) s.types.push(type);
    s.typeIndex.set(type, index);
  }
  if (Number.isNaN(t)) s.undated++;
  s.ts[s.count] = t;
  s.type[s.count] = index;
  s.count++;
}

/**
 * Hold and wait spans from the recovery log (given newest first) and the locks held now. A
 * wait is recorded when it passes the contention threshold (LOCK_CONTENDED) and when it ends
 * (LOCK_WAIT_ENDED, or LOCK_CONTENTION_TIMEOUT when the waiter gave up); a wait with no end
 * yet is still going on if the lock is contended now.
 */
export function lockSpans(recoveries: RecoveryItem[], locks: LockItem[], now: number): LockSpan[] {
  const spans: LockSpan[] = [];
  const holds = new Map<string, LockSpan>();
  const openWaits = new Map<string, LockSpan>();
  const contendedNow = new Set(locks.filter((l) => l.state === 'contended').map((l) => l.path));
  type Holder = { pid?: unknown; acquiredAt?: unknown; tool?: unknown } | null | undefined;
  const pidOf = (v: unknown) => (typeof v === 'number' ? v : undefined);
  const hold = (lock: string, holder: Holder, start: number, end: number, live: boolean) => {
    const pid = pidOf(holder?.pid);
    const acquired = typeof holder?.acquiredAt === 'string' ? Date.parse(holder.acquiredAt) : NaN;
    const s = Number.isNaN(acquired) ? start : acquired;
    const key = `${lock}|${pid ?? ''}|${Number.isNaN(acquired) ? '' : acquired}`;
    const known = holds.get(key);
    if (known) {
      known.start = Math.min(known.start, s);
      known.end = Math.max(known.end, end);
      known.live ||= live;
      return;
    }
    const span: LockSpan = { lock, kind: 'hold', start: s, end, pid, tool: typeof holder?.tool === 'string' ? holder.tool : undefined, live };
    holds.set(key, span);
    spans.push(span);
  };
  for (const r of [...recoveries].reverse()) {
    const t = r.ts ? Date.parse(r.ts) : NaN;
    const d = r.data as { lock?: unknown; holder?: Holder; waiterPid?: unknown; waitedMs?: unknown; ageMs?: unknown; outcome?: unknown } | null;
    if (Number.isNaN(t) || !d || typeof d.lock !== 'string') continue;
    const waited = typeof d.waitedMs === 'number' ? d.waitedMs : 0;
    const waitKey = `${d.lock}|${pidOf(d.waiterPid) ?? ''}`;
    if (r.type === 'LOCK_CONTENDED') {
      const span: LockSpan = {
        lock: d.lock,
        kind: 'wait',
        start: t - waited,
        end: t,
        pid: pidOf(d.waiterPid),
        live: contendedNow.has(d.lock),
        holderPid: pidOf(d.holder?.pid),
      };
      openWaits.set(waitKey, span);
      spans.push(span);
      hold(d.lock, d.holder, t - waited, t, false);
    } else if (r.type === 'LOCK_WAIT_ENDED' || r.type === 'LOCK_CONTENTION_TIMEOUT') {
      const kind = r.type === 'LOCK_CONTENTION_TIMEOUT' || d.outcome === 'aborted' ? 'gave-up' : 'wait';
      const open = openWaits.get(waitKey);
      openWaits.delete(waitKey);
      if (open) Object.assign(open, { kind, start: Math.min(open.start, t - waited), end: t, live: false });
      else spans.push({ lock: d.lock, kind, start: t - waited, end: t, pid: pidOf(d.waiterPid), live: false, holderPid: pidOf(d.holder?.pid) });
      if (d.holder) hold(d.lock, d.holder, t - waited, t, false);
    } else if (r.type === 'STALE_LOCK_RECOVERY') {
      const age = typeof d.ageMs === 'number' ? d.ageMs : 0;
      hold(d.lock, d.holder, t - age, t, false);
      spans.push({ lock: d.lock, kind: 'reaped', start: t, end: t, pid: pidOf(d.holder?.pid), live: false });
    }
  }
  // Waits still going on reach to now.
  for (const span of openWaits.values()) if (span.live) span.end = now;
  for (const l of locks) {
    if (l.ageMs === null || (l.state !== 'held' && l.state !== 'contended')) continue;
    hold(l.path, l.holder, now - l.ageMs, now, true);
  }
  return spans;
}
