/**
 * What the Timeline panel draws, computed here so the webview never receives raw events:
 * per ledger, the number of events of each type per time bin; per workspace folder, lock hold
 * and wait spans from the recovery log (LOCK_CONTENDED / LOCK_CONTENTION_TIMEOUT say who
 * waited how long for whom; STALE_LOCK_RECOVERY when a crashed holder's lock was taken back)
 * and the locks held right now.
 *
 * A ledger's lines are counted once, oldest first, in the background, into two typed arrays
 * (time, type), and kept per file (device, inode) with the byte offset counted up to: when the
 * file grows only the new bytes are read, when it shrinks or is replaced (repair, compaction)
 * it is counted again. The first answer comes after at most FIRST_ANSWER_MS, with how far the
 * counting is (`progress`) and the ledger's whole time span, read from its first and last
 * lines, so the axis does not move while older events are counted. Types keep the colour slot
 * of their first appearance in the file. Memory budget: MAX_EVENTS events (10 bytes each) per
 * ledger, the newest kept; MAX_CACHED ledgers.
 */
import * as path from 'node:path';
import type { Stats } from 'node:fs';
import * as fs from 'node:fs/promises';
import { writerLockPaths } from '../engine';
import { fsl } from '../engine/fs';
import { firstRecordProfile } from '../engine/ledger/foreign';
import { interpretLine } from '../engine/ledger/interpret';
import type { JsonlProfile } from '../engine/ledger/profiles';
import { scanLineBatches, type RawLine } from '../engine/ledger/scan';
import type { LedgerFormat } from '../engine/ledger/types';
import type { LockItem, LockSpan, RecoveryItem, TimelineReply } from '../protocol';
import { withLedger } from './ledger-readers';

const MAX_EVENTS = 4_000_000;
const MAX_CACHED = 4;
const MAX_TYPES = 8;
/** Lines longer than this are not counted (a ledger's records are far smaller). */
const MAX_LINE_BYTES = 8 << 20;
/** Read per step: small enough that a step's parsing never holds the server for long. */
const CHUNK_BYTES = 256 * 1024;
/** Where the first and last events' times are looked for. */
const EDGE_BYTES = 64 * 1024;
/** A first answer waits at most this long for the counting; the panel asks again. */
const FIRST_ANSWER_MS = 250;

interface Series {
  dev: number;
  ino: number;
  format: LedgerFormat;
  profile: JsonlProfile | undefined;
  /** Complete lines are counted up to this byte; the line number of the line starting there. */
  scanned: number;
  line: number;
  /** The byte counting began at (0, or later when the file is over the budget) and the size it is reading to. */
  start: number;
  target: number;
  count: number;
  ts: Float64Array;
  type: Uint16Array;
  /** Types in order of first appearance in the file: each one's colour slot. */
  types: string[];
  typeIndex: Map<string, number>;
  undated: number;
  truncated: boolean;
  /** Times of the events counted: the oldest, the newest. */
  min: number;
  max: number;
  /** The first and the newest event's times read from the file's ends, before counting reaches them. */
  headTs: number;
  tailTs: number;
  tailAt: number;
  /** The last bins computed and what they were computed from: a panel asking again of an unchanged file gets them as they are. */
  binned?: { key: string; reply: Binned } | undefined;
  /** The counting, while it runs. */
  reading?: Promise<void> | undefined;
  failed?: Error | undefined;
}

const cache = new Map<string, Series>();

type Zoom = { from?: number | undefined; to?: number | undefined; bins?: number | undefined };

export async function timeline(ledgerPath: string, opts: Zoom): Promise<TimelineReply> {
  const started = Date.now();
  const series = await seriesOf(ledgerPath);
  if (series.reading) await Promise.race([series.reading, new Promise((r) => setTimeout(r, FIRST_ANSWER_MS))]);
  if (series.failed) throw series.failed;
  const reply = binnedOf(series, opts);
  const partial = series.reading !== undefined;
  return {
    ...reply,
    partial,
    ...(partial ? { progress: progressOf(series) } : {}),
    guards: guardLocksOf(ledgerPath, series.format),
    tookMs: Date.now() - started,
  };
}

function progressOf(s: Series): NonNullable<TimelineReply['progress']> {
  const bytesRead = s.scanned - s.start;
  const bytesTotal = Math.max(bytesRead, s.target - s.start);
  return {
    bytesRead,
    bytesTotal,
    countedTo: s.count > 0 ? s.max : null,
    estimatedTotal: bytesRead > 0 && s.count > 0 ? Math.round((s.count / bytesRead) * bytesTotal) : null,
  };
}

/** Epoch-aligned bin widths a person reads at a glance. */
const STEPS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 15e3, 3e4, 6e4, 12e4, 3e5, 6e5, 9e5, 18e5, 36e5, 72e5, 108e5, 216e5, 432e5, 864e5];

function stepFor(ms: number): number {
  for (const s of STEPS) if (s >= ms) return s;
  const day = 864e5;
  return Math.ceil(ms / day) * day;
}

type Binned = Omit<TimelineReply, 'tookMs' | 'partial' | 'guards' | 'progress'>;

/** The bins for `opts`, computed again only when the events counted or the file's time span changed. */
function binnedOf(series: Series, opts: Zoom): Binned {
  const key = [opts.from, opts.to, opts.bins, series.count, series.undated, series.truncated, series.headTs, series.tailTs].join('|');
  if (series.binned?.key !== key) series.binned = { key, reply: bin(series, opts) };
  return series.binned.reply;
}

function bin(series: Series, opts: Zoom): Binned {
  const wanted = Math.max(1, Math.min(opts.bins ?? 120, 1000));
  const first = Math.min(series.min, series.headTs);
  const newest = Math.max(series.max, series.tailTs);
  const base = { total: series.count, undated: series.undated, truncated: series.truncated };
  if (!Number.isFinite(first) || !Number.isFinite(newest)) {
    return { from: 0, to: 0, binMs: 0, viewFrom: 0, viewTo: 0, types: [], slots: [], counts: [], inRange: 0, ...base };
  }
  // The zoom the panel asked for is kept as it is; without one, the ledger's whole span.
  const viewFrom = opts.from ?? first;
  const viewTo = Math.max(viewFrom + 1, opts.to ?? newest + 1);
  const binMs = stepFor(Math.ceil((viewTo - viewFrom) / wanted));
  const from = Math.floor(viewFrom / binMs) * binMs;
  const bins = Math.max(1, Math.ceil((viewTo - from) / binMs));
  const to = from + bins * binMs;
  const perType = series.types.map(() => new Float64Array(bins));
  const totals = new Float64Array(series.types.length);
  let inRange = 0;
  for (let i = 0; i < series.count; i++) {
    const t = series.ts[i]!;
    if (!(t >= from && t < to)) continue;
    const type = series.type[i]!;
    perType[type]![Math.floor((t - from) / binMs)]!++;
    if (t >= viewFrom && t < viewTo) {
      totals[type]!++;
      inRange++;
    }
  }
  // The busiest types in the view are drawn, in the order they first appear in the file; the rest are summed as "other".
  const busiest = series.types
    .map((_, i) => i)
    .filter((i) => totals[i]! > 0)
    .sort((a, b) => totals[b]! - totals[a]! || a - b);
  const shown = busiest.slice(0, MAX_TYPES).sort((a, b) => a - b);
  const rest = busiest.slice(MAX_TYPES);
  const types = shown.map((i) => series.types[i]!);
  const slots = [...shown];
  const counts = shown.map((i) => Array.from(perType[i]!));
  if (rest.length > 0) {
    const other = new Array<number>(bins).fill(0);
    for (const i of rest) perType[i]!.forEach((v, b) => (other[b] = (other[b] ?? 0) + v));
    types.push(`other (${rest.length} types)`);
    slots.push(-1);
    counts.push(other);
  }
  return { from, to, binMs, viewFrom, viewTo, types, slots, counts, inRange, ...base };
}

/** The cached series, extended by what was appended since; counted again after a rewrite. */
async function seriesOf(ledgerPath: string): Promise<Series> {
  const stat = await fs.stat(ledgerPath);
  let series = cache.get(ledgerPath);
  if (series && (series.ino !== stat.ino || series.dev !== stat.dev || stat.size < series.scanned)) series = undefined;
  if (!series) {
    series = await newSeries(ledgerPath, stat);
    cache.delete(ledgerPath);
    cache.set(ledgerPath, series);
    while (cache.size > MAX_CACHED) cache.delete(cache.keys().next().value!);
  } else {
    // Most recently used last, so eviction takes the ledger looked at longest ago.
    cache.delete(ledgerPath);
    cache.set(ledgerPath, series);
  }
  if (stat.size !== series.tailAt) {
    series.tailAt = stat.size;
    series.tailTs = Math.max(series.tailTs, await edgeTime(ledgerPath, series, stat.size, 'last'));
  }
  if (stat.size > series.scanned && !series.reading) {
    const s = series;
    s.target = stat.size;
    s.reading = count(ledgerPath, s).then(
      () => (s.reading = undefined),
      (err: unknown) => {
        s.reading = undefined;
        s.failed = err instanceof Error ? err : new Error(String(err));
        cache.delete(ledgerPath);
      },
    );
  }
  return series;
}

async function newSeries(ledgerPath: string, stat: Stats): Promise<Series> {
  // The Ledgers view's open handle says the format; no second open of the ledger.
  const format = await withLedger(ledgerPath, (ledger) => Promise.resolve(ledger.format));
  const s: Series = {
    dev: stat.dev,
    ino: stat.ino,
    format,
    profile: undefined,
    scanned: 0,
    line: 1,
    start: 0,
    target: stat.size,
    count: 0,
    ts: new Float64Array(1024),
    type: new Uint16Array(1024),
    types: [],
    typeIndex: new Map(),
    undated: 0,
    truncated: false,
    min: Infinity,
    max: -Infinity,
    headTs: Infinity,
    tailTs: -Infinity,
    tailAt: -1,
  };
  if (format === 'foreign') s.profile = firstRecordProfile(await readAt(ledgerPath, 0, EDGE_BYTES), ledgerPath, undefined);
  // Over the budget: count the newest part only, from a line's start.
  const budgetBytes = MAX_EVENTS * 100;
  if (stat.size > budgetBytes) {
    const from = stat.size - budgetBytes;
    const head = await readAt(ledgerPath, from, EDGE_BYTES);
    const nl = head.indexOf(0x0a);
    s.start = s.scanned = from + (nl < 0 ? head.length : nl + 1);
    s.line = 0; // unknown; only foreign line numbers use it, and not for counting
    s.truncated = true;
  }
  s.headTs = await edgeTime(ledgerPath, s, s.start, 'first');
  return s;
}

/** A bounded read through the confined file layer, as `count` reads: a link out of the workspace or a FIFO is refused, never waited on. */
async function readAt(file: string, position: number, length: number): Promise<Buffer> {
  const handle = await fsl().open(file, 'r');
  try {
    const buf = Buffer.alloc(length);
    const bytesRead = await handle.read(buf, 0, length, position);
    return buf.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** The time of the first event from `at`, or of the last complete one before `at`; NaN when none is near. */
async function edgeTime(file: string, s: Series, at: number, which: 'first' | 'last'): Promise<number> {
  const position = which === 'first' ? at : Math.max(s.start, at - EDGE_BYTES);
  const buf = await readAt(file, position, Math.min(EDGE_BYTES, which === 'first' ? EDGE_BYTES : at - position));
  const lines: RawLine[] = [];
  let from = 0;
  // Backwards from the end the first piece may be a line's tail: skip it unless it starts the counted part.
  if (which === 'last' && position > s.start) from = buf.indexOf(0x0a) + 1;
  for (;;) {
    const nl = buf.indexOf(0x0a, from);
    if (nl < 0) break;
    lines.push({ offset: position + from, length: nl + 1 - from, bytes: buf.subarray(from, nl), line: 0, terminated: true });
    from = nl + 1;
  }
  if (which === 'last') lines.reverse();
  for (const raw of lines) {
    const t = timeOf(s, raw);
    if (t !== undefined && !Number.isNaN(t)) return t;
  }
  return NaN;
}

/** The line's event time (NaN: an event without a readable time), or undefined when the line is no event. */
function timeOf(s: Series, raw: RawLine): number | undefined {
  const seen = interpretLine(s.format, raw, null, s.profile);
  if (!seen.event) return undefined;
  return seen.event.ts === null ? NaN : Date.parse(seen.event.ts);
}

/** Counts the complete lines from where the series stopped to the size it is reading to. */
async function count(ledgerPath: string, s: Series): Promise<void> {
  const file = await fsl().open(ledgerPath, 'r');
  try {
    const st = await file.stat();
    if (st.ino !== s.ino || st.dev !== s.dev) throw new Error(`${ledgerPath} was replaced while it was being read`);
    for (;;) {
      const end = s.target;
      for await (const batch of scanLineBatches(file, { start: s.scanned, startLine: s.line, end, maxLineBytes: MAX_LINE_BYTES, chunkBytes: CHUNK_BYTES })) {
        for (const raw of batch) {
          // A line still being written is counted when its newline arrives.
          if (!raw.terminated) continue;
          if (raw.bytes !== null) {
            const seen = interpretLine(s.format, raw, null, s.profile);
            if (seen.event) push(s, seen.event.ts === null ? NaN : Date.parse(seen.event.ts), seen.event.type);
          }
          s.scanned = raw.offset + raw.length;
          s.line = raw.line + 1;
        }
        if (!cache.has(ledgerPath)) return;
      }
      // Appended while this read ran: read on to the new end.
      const size = (await file.stat()).size;
      if (size <= end || size <= s.scanned) return;
      s.target = size;
    }
  } finally {
    await file.close().catch(() => undefined);
  }
}

function push(s: Series, t: number, type: string): void {
  if (s.count === MAX_EVENTS) dropOldest(s);
  if (s.count === s.ts.length) {
    const ts = new Float64Array(Math.min(MAX_EVENTS, s.ts.length * 2));
    ts.set(s.ts);
    const ty = new Uint16Array(ts.length);
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
  else {
    if (t < s.min) s.min = t;
    if (t > s.max) s.max = t;
  }
  s.ts[s.count] = t;
  s.type[s.count] = index;
  s.count++;
}

/** At the budget, the oldest quarter goes; the picture then starts later (`truncated`). */
function dropOldest(s: Series): void {
  const drop = s.count >> 2;
  s.ts.copyWithin(0, drop, s.count);
  s.type.copyWithin(0, drop, s.count);
  s.count -= drop;
  s.truncated = true;
  s.min = Infinity;
  s.headTs = Infinity;
  for (let i = 0; i < s.count; i++) if (s.ts[i]! < s.min) s.min = s.ts[i]!;
}

/**
 * The locks that guard a ledger (docs/ARCHITECTURE.md, "Store layout" and "Tool profiles"): a
 * store ledger's lock in the store's locks folder, `<ledger>.lock` beside any other native
 * ledger, and for another tool's log the lock its writer takes (and those it may also hold).
 */
function guardLocksOf(ledgerPath: string, format: LedgerFormat): string[] {
  const file = path.resolve(ledgerPath);
  try {
    return writerLockPaths(file, format);
  } catch {
    return [`${file}.lock`];
  }
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
