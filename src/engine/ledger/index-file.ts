/**
 * The sparse index `<name>.idx`: every ~64 KiB, the key (id, or line number for a foreign
 * ledger) and byte offset of the record that starts there. It is a cache: before use it is
 * checked against the ledger (size, the first bytes, the last covered line, spot checks of
 * entries) and rebuilt when it does not match, never trusted blindly.
 */
import { crc32 } from 'node:zlib';
import { z } from 'zod';
import { atomicWriteFile } from '../atomic';
import { readDocument, type OpenFile } from '../fs';
import { crcHex } from './record';
import { interpretLine } from './interpret';
import { scanLineBatches, scanLines } from './scan';
import type { LedgerFormat } from './types';

const INDEX_SPACING_BYTES = 64 * 1024;
const HEAD_BYTES = 4096;

/** [key, offset, line, crc of the line's bytes] */
type Entry = [number, number, number, string];

const IndexSchema = z.object({
  format: z.literal('ledgerlock-idx'),
  version: z.literal(1),
  ledgerFormat: z.enum(['ledgerlock', 'foreign']),
  every: z.number().int().positive(),
  /** Bytes of the ledger covered: always the end of a complete line. */
  size: z.number().int().nonnegative(),
  /** Newlines in the covered bytes. */
  lines: z.number().int().nonnegative(),
  /** Valid events in the covered bytes, and the last id among them. */
  events: z.number().int().nonnegative(),
  lastId: z.number().int().nullable(),
  head: z.string(),
  lastLine: z.tuple([z.number().int().nonnegative(), z.string()]).nullable(),
  // Checked by hand below: zod over tens of thousands of tuples costs more than the lookup saves.
  entries: z.array(z.unknown()),
});
export type SparseIndex = Omit<z.infer<typeof IndexSchema>, 'entries'> & { entries: Entry[] };

export interface IndexContext {
  file: OpenFile;
  format: LedgerFormat;
  size: number;
  maxLineBytes: number;
}

export function emptyIndex(format: LedgerFormat): SparseIndex {
  return {
    format: 'ledgerlock-idx',
    version: 1,
    ledgerFormat: format,
    every: INDEX_SPACING_BYTES,
    size: 0,
    lines: 0,
    events: 0,
    lastId: null,
    head: '',
    lastLine: null,
    entries: [],
  };
}

export async function loadIndex(indexPath: string): Promise<SparseIndex | undefined> {
  try {
    const parsed = IndexSchema.safeParse(JSON.parse((await readDocument(indexPath)).toString('utf8')));
    if (!parsed.success || !parsed.data.entries.every(isEntry)) return undefined;
    return parsed.data as SparseIndex;
  } catch {
    return undefined;
  }
}

function isEntry(e: unknown): e is Entry {
  return (
    Array.isArray(e) &&
    e.length === 4 &&
    Number.isSafeInteger(e[0]) &&
    Number.isSafeInteger(e[1]) &&
    e[1] >= 0 &&
    Number.isSafeInteger(e[2]) &&
    e[2] > 0 &&
    typeof e[3] === 'string'
  );
}

export async function saveIndex(indexPath: string, index: SparseIndex): Promise<void> {
  // A cache: no fsync; a lost or torn index is detected and rebuilt.
  await atomicWriteFile(indexPath, JSON.stringify(index), { fsync: false, telemetry: false });
}

/** Whether `index` still describes the ledger's bytes. */
export async function indexMatches(index: SparseIndex, ctx: IndexContext): Promise<boolean> {
  if (index.ledgerFormat !== ctx.format || index.every !== INDEX_SPACING_BYTES || index.size > ctx.size) return false;
  if (index.head !== (await crcOfRange(ctx.file, 0, Math.min(HEAD_BYTES, index.size)))) return false;
  if (index.lastLine !== null) {
    const [offset, crc] = index.lastLine;
    if (offset >= index.size || (await crcOfRange(ctx.file, offset, index.size)) !== crc) return false;
  } else if (index.size !== 0) {
    return false;
  }
  const spots = new Set([0, index.entries.length - 1, Math.floor(Math.random() * index.entries.length)]);
  for (const i of spots) {
    const entry = index.entries[i];
    if (entry && !(await entryMatches(entry, ctx))) return false;
  }
  return true;
}

async function entryMatches([key, offset, line, crc]: Entry, ctx: IndexContext): Promise<boolean> {
  if (offset > 0) {
    const before = Buffer.alloc(1);
    if ((await ctx.file.read(before, 0, 1, offset - 1)) !== 1 || before[0] !== 0x0a) return false;
  }
  for await (const raw of scanLines(ctx.file, { start: offset, startLine: line, end: ctx.size, maxLineBytes: ctx.maxLineBytes, chunkBytes: 64 * 1024 })) {
    if (raw.bytes === null || crcHex(raw.bytes) !== crc) return false;
    const seen = interpretLine(ctx.format, raw, null);
    return seen.event?.id === key;
  }
  return false;
}

/** Extends `index` (a matching one, or an empty one) to cover the ledger up to its last complete line. */
export async function extendIndex(index: SparseIndex, ctx: IndexContext): Promise<SparseIndex> {
  const next: SparseIndex = { ...index, entries: [...index.entries] };
  let lastEntryAt = next.entries.at(-1)?.[1] ?? -Infinity;
  let lastId = next.lastId;
  for await (const batch of scanLineBatches(ctx.file, { start: index.size, startLine: index.lines + 1, end: ctx.size, maxLineBytes: ctx.maxLineBytes })) {
    for (const raw of batch) {
      if (!raw.terminated) break;
      next.size = raw.offset + raw.length;
      next.lines = raw.line;
      next.lastLine = [raw.offset, '']; // its crc (newline included) is taken once the scan ends
      if (raw.bytes === null) continue;
      const seen = interpretLine(ctx.format, raw, lastId);
      if (!seen.event) continue;
      next.events++;
      lastId = seen.event.id;
      if (raw.offset - lastEntryAt >= INDEX_SPACING_BYTES) {
        next.entries.push([seen.event.id, raw.offset, raw.line, crcHex(raw.bytes)]);
        lastEntryAt = raw.offset;
      }
    }
  }
  next.lastId = lastId;
  // The last line's crc covers the newline too, as indexMatches reads [offset, size).
  if (next.lastLine !== null) next.lastLine = [next.lastLine[0], await crcOfRange(ctx.file, next.lastLine[0], next.size)];
  next.head = await crcOfRange(ctx.file, 0, Math.min(HEAD_BYTES, next.size));
  return next;
}

/** The entry to start a forward scan from to reach `key` (an id or line number). */
export function entryAtOrBefore(index: SparseIndex, key: number): { offset: number; line: number; key: number | null } {
  let lo = 0;
  let hi = index.entries.length - 1;
  let found: Entry | undefined;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const e = index.entries[mid]!;
    if (e[0] <= key) {
      found = e;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found ? { key: found[0], offset: found[1], line: found[2] } : { key: null, offset: 0, line: 1 };
}

/** The entry nearest before a byte offset. */
export function entryAtOrBeforeOffset(index: SparseIndex, offset: number): { offset: number; line: number } {
  let best = { offset: 0, line: 1 };
  for (const e of index.entries) {
    if (e[1] > offset) break;
    best = { offset: e[1], line: e[2] };
  }
  return best;
}

async function crcOfRange(file: OpenFile, start: number, end: number): Promise<string> {
  let crc = 0;
  const buf = Buffer.allocUnsafe(Math.min(1 << 20, Math.max(1, end - start)));
  for (let pos = start; pos < end;) {
    const got = await file.read(buf, 0, Math.min(buf.length, end - pos), pos);
    if (got <= 0) break;
    crc = crc32(buf.subarray(0, got), crc);
    pos += got;
  }
  return crc.toString(16).padStart(8, '0');
}
