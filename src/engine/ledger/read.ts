/**
 * Reads: tail and newest-first pages go backwards from the end; id ranges start at the sparse
 * index entry nearest below the first id; time ranges scan forward from there.
 */
import { crc32 } from 'node:zlib';
import { ErrorCode, LedgerlockError } from '../errors';
import type { OpenFile } from '../fs';
import { checkCount } from '../options';
import type { LedgerContext } from './context';
import { emptyIndex, entryAtOrBefore, entryAtOrBeforeOffset, extendIndex, indexMatches, loadIndex, saveIndex, type SparseIndex } from './index-file';
import { profileOf } from './foreign';
import { interpretLine } from './interpret';
import { readBackward } from './reverse';
import { scanLines } from './scan';
import type { LedgerEvent, Page, RangeQuery } from './types';

/** The sparse index, validated against the ledger and brought up to its end; rebuilt when it does not match. */
async function ensureIndex(ctx: LedgerContext, file: OpenFile, size: number): Promise<SparseIndex> {
  const ictx = { file, format: ctx.format, size, maxLineBytes: ctx.opts.maxLineBytes };
  let index = ctx.index ?? (ctx.indexPath ? await loadIndex(ctx.indexPath) : undefined);
  let changed = false;
  if (index && !(await indexMatches(index, ictx))) index = undefined;
  if (!index) {
    index = emptyIndex(ctx.format);
    changed = true;
  }
  if (index.size < size) {
    const before = index.entries.length;
    index = await extendIndex(index, ictx);
    changed ||= index.entries.length !== before;
  }
  ctx.index = index;
  if (changed && ctx.indexPath) await saveIndex(ctx.indexPath, index).catch(() => undefined);
  return index;
}

/** How many newlines precede `offset`: the line number of a line starting there, minus one. */
export async function newlinesBefore(ctx: LedgerContext, file: OpenFile, size: number, offset: number): Promise<number> {
  const index = await ensureIndex(ctx, file, size);
  const from = entryAtOrBeforeOffset(index, offset);
  let count = from.line - 1;
  const buf = Buffer.allocUnsafe(1 << 20);
  for (let pos = from.offset; pos < offset;) {
    const got = await file.read(buf, 0, Math.min(buf.length, offset - pos), pos);
    if (got <= 0) break;
    for (let i = buf.indexOf(0x0a, 0); i >= 0 && i < got; i = buf.indexOf(0x0a, i + 1)) count++;
    pos += got;
  }
  return count;
}

export async function readTail(ctx: LedgerContext, file: OpenFile, size: number, n: number): Promise<LedgerEvent[]> {
  checkCount('n', n, { allowZero: true });
  const linesBefore = ctx.format === 'foreign' ? await newlinesBefore(ctx, file, size, size) : undefined;
  const { events } = await readBackward(file, ctx.format, size, n, ctx.opts.maxLineBytes, linesBefore, profileOf(ctx));
  return events.reverse();
}

interface Cursor {
  o: number;
  i: number;
  c: number;
}

function fingerprint(e: LedgerEvent): number {
  return crc32(`${e.type}\n${e.ts}\n${JSON.stringify(e.data)}`);
}

function encodeCursor(e: LedgerEvent): string {
  return Buffer.from(JSON.stringify({ o: e.offset, i: e.id, c: fingerprint(e) } satisfies Cursor)).toString('base64url');
}

function decodeCursor(cursor: string): Cursor {
  try {
    const c = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Cursor;
    if ([c.o, c.i, c.c].every((v) => Number.isSafeInteger(v) && v >= 0)) return c;
  } catch {
    // fall through
  }
  throw new LedgerlockError(ErrorCode.BadOption, `not a page cursor of this ledger: ${JSON.stringify(cursor.slice(0, 80))}`, { option: 'cursor' });
}

export async function readPage(ctx: LedgerContext, file: OpenFile, size: number, opts: { cursor?: string | null; limit: number }): Promise<Page> {
  const limit = checkCount('limit', opts.limit);
  let end = size;
  let linesBefore: number | undefined;
  if (opts.cursor) {
    const cursor = decodeCursor(opts.cursor);
    end = await locateCursor(ctx, file, size, cursor);
  }
  if (ctx.format === 'foreign') linesBefore = await newlinesBefore(ctx, file, size, end);
  const { events } = await readBackward(file, ctx.format, end, limit + 1, ctx.opts.maxLineBytes, linesBefore, profileOf(ctx));
  const more = events.length > limit;
  if (more) events.length = limit;
  return { events, next: more ? encodeCursor(events[events.length - 1]!) : null };
}

/**
 * Where the page after `cursor` ends: the cursor's own offset while the record there is still the
 * one it named (appends never move records); after a rewrite (compaction, quarantine), the
 * offset of the first record at or past the cursor's id.
 */
async function locateCursor(ctx: LedgerContext, file: OpenFile, size: number, cursor: Cursor): Promise<number> {
  if (cursor.o < size) {
    for await (const raw of scanLines(file, {
      start: cursor.o,
      startLine: ctx.format === 'foreign' ? cursor.i : 0,
      end: size,
      maxLineBytes: ctx.opts.maxLineBytes,
    })) {
      const seen = interpretLine(ctx.format, raw, null, profileOf(ctx));
      if (seen.event && seen.event.id === cursor.i && fingerprint(seen.event) === cursor.c && (cursor.o === 0 || (await byteAt(file, cursor.o - 1)) === 0x0a))
        return cursor.o;
      break;
    }
  }
  const index = await ensureIndex(ctx, file, size);
  const from = entryAtOrBefore(index, cursor.i);
  for await (const raw of scanLines(file, { start: from.offset, startLine: from.line, end: size, maxLineBytes: ctx.opts.maxLineBytes })) {
    const seen = interpretLine(ctx.format, raw, null, profileOf(ctx));
    if (seen.event && seen.event.id >= cursor.i) return raw.offset;
  }
  return size;
}

async function byteAt(file: OpenFile, offset: number): Promise<number | undefined> {
  const b = Buffer.alloc(1);
  return (await file.read(b, 0, 1, offset)) === 1 ? b[0] : undefined;
}

export async function readRange(ctx: LedgerContext, file: OpenFile, size: number, q: RangeQuery): Promise<LedgerEvent[]> {
  const fromId = q.fromId === undefined ? undefined : checkCount('fromId', q.fromId, { allowZero: true });
  const toId = q.toId === undefined ? undefined : checkCount('toId', q.toId, { allowZero: true });
  const limit = q.limit === undefined ? Infinity : checkCount('limit', q.limit);
  const fromTime = q.fromTime === undefined ? undefined : timeOption('fromTime', q.fromTime);
  const toTime = q.toTime === undefined ? undefined : timeOption('toTime', q.toTime);
  let start = { offset: 0, line: 1 };
  if (fromId !== undefined) start = entryAtOrBefore(await ensureIndex(ctx, file, size), fromId);
  const out: LedgerEvent[] = [];
  for await (const raw of scanLines(file, { start: start.offset, startLine: start.line, end: size, maxLineBytes: ctx.opts.maxLineBytes })) {
    const e = interpretLine(ctx.format, raw, null, profileOf(ctx)).event;
    if (!e) continue;
    if (fromId !== undefined && e.id < fromId) continue;
    if (toId !== undefined && e.id > toId) break;
    if (fromTime !== undefined || toTime !== undefined) {
      const t = e.ts === null ? NaN : Date.parse(e.ts);
      if (Number.isNaN(t) || (fromTime !== undefined && t < fromTime) || (toTime !== undefined && t > toTime)) continue;
    }
    out.push(e);
    if (out.length >= limit) break;
  }
  return out;
}

function timeOption(name: string, value: unknown): number {
  const t = typeof value === 'string' ? Date.parse(value) : NaN;
  if (Number.isNaN(t))
    throw new LedgerlockError(ErrorCode.BadOption, `option ${name} must be an ISO date-time, got ${JSON.stringify(value)}`, { option: name });
  return t;
}
