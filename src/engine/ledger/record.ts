/**
 * One native record: `{"id":N,"ts":"…","type":"…","data":…,"crc":"xxxxxxxx"}\n`, with an
 * optional caller key after the type (`"type":"…","key":"…","data":…`) for exactly-once
 * retries. The crc32 covers the exact bytes before `,"crc":`, so any flipped byte is caught,
 * not only the ones that break the JSON.
 */
import { isAscii } from 'node:buffer';
import { crc32 } from 'node:zlib';
import { z } from 'zod';
import { ErrorCode, LedgerlockError } from '../errors';
import type { LedgerEvent, LedgerProblemKind } from './types';

const CRC_SUFFIX_BYTES = ',"crc":"00000000"}'.length;
const SUFFIX_HEAD = Buffer.from(',"crc":"');
const SUFFIX_TAIL = Buffer.from('"}');

const RecordSchema = z
  .object({
    id: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
    ts: z.string(),
    type: z.string().min(1),
    key: z.string().optional(),
    data: z.unknown(),
    crc: z.string(),
  })
  .strict();

export interface DecodedRecord {
  id: number;
  ts: string;
  type: string;
  key?: string;
  data: unknown;
  crc: string;
}

export type LineVerdict<T> = { ok: true; value: T } | { ok: false; kind: LedgerProblemKind; code: ErrorCode; message: string };

export function crcHex(bytes: Uint8Array): string {
  return hex(crc32(bytes));
}

/** The JSON text of a payload; refuses what JSON cannot carry faithfully (BigInt, cycles, functions). */
function serializeData(data: unknown): string {
  if (data === undefined) return 'null';
  let json: string | undefined;
  try {
    json = JSON.stringify(data);
  } catch (err) {
    throw new LedgerlockError(ErrorCode.BadInput, `event data cannot be serialized as JSON: ${(err as Error).message}`, {});
  }
  if (json === undefined) throw new LedgerlockError(ErrorCode.BadInput, `event data of type ${typeof data} cannot be serialized as JSON`, {});
  return json;
}

/**
 * An idempotency key: 1–256 printable ASCII characters other than `"` and `\\`, so it is
 * written as is and found in a record's header without a JSON parse (README, "Guarantees").
 */
const KEY_PATTERN = /^[\x21\x23-\x5b\x5d-\x7e]{1,256}$/;

function checkKey(key: unknown): string | undefined {
  if (key === undefined) return undefined;
  if (typeof key !== 'string' || !KEY_PATTERN.test(key)) {
    throw new LedgerlockError(
      ErrorCode.BadInput,
      `an append key must be 1-256 printable ASCII characters other than '"' and '\\', got ${JSON.stringify(key) ?? typeof key}`,
      {},
    );
  }
  return key;
}

function checkEventType(type: unknown): string {
  if (typeof type !== 'string' || type.length === 0) {
    throw new LedgerlockError(ErrorCode.BadInput, `event type must be a non-empty string, got ${JSON.stringify(type) ?? typeof type}`, {});
  }
  return type;
}

/** One event to append, serialised once: its size is known before any id is given out. */
export interface Draft {
  type: string;
  /** The caller's own value, handed back in the appended event (never re-parsed). */
  data: unknown;
  typeJson: string;
  dataJson: string;
  /** The caller's idempotency key, if any: an append whose key is already in the ledger's recent records writes nothing. */
  key?: string;
  /** UTF-8 bytes of typeJson + dataJson (+ the key field). */
  bodyBytes: number;
}

const ID_HEAD = '{"id":';
const TS_HEAD = ',"ts":"';
const TYPE_HEAD = '","type":';
const DATA_HEAD = ',"data":';
const KEY_HEAD = ',"key":"';
/** The key field's bytes beyond the key itself: `,"key":"` and the closing quote. */
const KEY_FRAME_BYTES = KEY_HEAD.length + 1;
/** Every byte of a record but its id digits, timestamp and body. */
const FRAME_BYTES = ID_HEAD.length + TS_HEAD.length + TYPE_HEAD.length + DATA_HEAD.length + CRC_SUFFIX_BYTES + 1;
const MAX_ID_DIGITS = String(Number.MAX_SAFE_INTEGER).length;
const ISO_BYTES = new Date(0).toISOString().length;

/** Checks and serialises one event; refuses one whose record could exceed `maxRecordBytes` (whatever id it gets). */
export function draftOf(type: unknown, data: unknown, maxRecordBytes: number, ledgerPath: string, key?: unknown): Draft {
  const checked = checkEventType(type);
  const typeJson = JSON.stringify(checked);
  const dataJson = serializeData(data);
  const checkedKey = checkKey(key);
  const bodyBytes =
    Buffer.byteLength(typeJson, 'utf8') + Buffer.byteLength(dataJson, 'utf8') + (checkedKey === undefined ? 0 : KEY_FRAME_BYTES + checkedKey.length);
  const bytes = FRAME_BYTES + MAX_ID_DIGITS + ISO_BYTES + bodyBytes;
  if (bytes > maxRecordBytes) {
    throw new LedgerlockError(ErrorCode.RecordTooLarge, `a ${checked} record would be ${bytes} bytes, over the limit of ${maxRecordBytes}`, {
      path: ledgerPath,
      bytes,
      limit: maxRecordBytes,
    });
  }
  const draft: Draft = { type: checked, data, typeJson, dataJson, bodyBytes };
  if (checkedKey !== undefined) draft.key = checkedKey;
  return draft;
}

export interface EncodedBatch {
  bytes: Buffer;
  events: LedgerEvent[];
  lastId: number;
}

/**
 * Encodes records `firstId`, `firstId + 1`, … into one buffer sized in advance (no per-record
 * buffers, no concatenation); each crc32 runs over its record's own bytes in place.
 * `offset` is where the buffer will be written, for the events' offsets.
 */
export function encodeBatch(drafts: readonly Draft[], firstId: number, ts: string, offset: number): EncodedBatch {
  const tsBytes = Buffer.byteLength(ts, 'utf8');
  let total = 0;
  for (let i = 0; i < drafts.length; i++) total += FRAME_BYTES + digits(firstId + i) + tsBytes + drafts[i]!.bodyBytes;
  const bytes = Buffer.allocUnsafe(total);
  const events: LedgerEvent[] = new Array(drafts.length);
  let pos = 0;
  let id = firstId - 1;
  for (let i = 0; i < drafts.length; i++) {
    const d = drafts[i]!;
    const start = pos;
    const keyField = d.key === undefined ? '' : `${KEY_HEAD}${d.key}"`;
    pos += bytes.write(`${ID_HEAD}${++id}${TS_HEAD}${ts}${TYPE_HEAD}${d.typeJson}${keyField}${DATA_HEAD}${d.dataJson}`, pos, 'utf8');
    const sum = crc32(bytes.subarray(start, pos));
    pos = writeCrcSuffix(bytes, pos, sum);
    const crc = hex(sum);
    const event: LedgerEvent = { id, ts, type: d.type, data: d.data === undefined ? null : d.data, offset: offset + start, length: pos - start, crc };
    if (d.key !== undefined) event.key = d.key;
    events[i] = event;
  }
  if (pos !== total) throw new Error(`record encoding sized ${total} bytes but wrote ${pos}`);
  return { bytes, events, lastId: id };
}

const HEX_DIGITS = Buffer.from('0123456789abcdef', 'latin1');

/** `,"crc":"xxxxxxxx"}` and the newline, byte by byte at `pos`; returns where it ends. */
function writeCrcSuffix(bytes: Buffer, pos: number, sum: number): number {
  pos += SUFFIX_HEAD.copy(bytes, pos);
  for (let shift = 28; shift >= 0; shift -= 4) bytes[pos++] = HEX_DIGITS[(sum >>> shift) & 0xf]!;
  bytes[pos++] = 0x22; // "
  bytes[pos++] = 0x7d; // }
  bytes[pos++] = 0x0a; // \n
  return pos;
}

function digits(n: number): number {
  let d = 1;
  for (let x = n; x >= 10; x = Math.floor(x / 10)) d++;
  return d;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Strict UTF-8 decoding; most records are ASCII, which decodes several times faster. undefined if invalid. */
function decodeLine(line: Uint8Array): string | undefined {
  const buf = Buffer.isBuffer(line) ? line : Buffer.from(line.buffer, line.byteOffset, line.length);
  if (isAscii(buf)) return buf.toString('latin1');
  try {
    return strictUtf8.decode(buf);
  } catch {
    return undefined;
  }
}

/** Decodes one line (without its newline). Never throws: damage comes back as a verdict. */
export function decodeRecord(line: Uint8Array): LineVerdict<DecodedRecord> {
  const text = decodeLine(line);
  if (text === undefined) return bad('invalid-utf8', ErrorCode.InvalidUtf8, 'record is not valid UTF-8');
  const prefixEnd = line.length - CRC_SUFFIX_BYTES;
  if (prefixEnd < 1 || !hasCrcSuffix(line, prefixEnd)) {
    return bad('corrupt-record', ErrorCode.LedgerCorrupt, 'record does not end in a checksum ({…,"crc":"xxxxxxxx"})');
  }
  const stored = storedCrc(line, prefixEnd + SUFFIX_HEAD.length);
  const actual = crc32(line.subarray(0, prefixEnd));
  if (stored !== actual) {
    return bad('checksum-mismatch', ErrorCode.LedgerCorrupt, `checksum mismatch: stored ${hex(stored)}, computed ${hex(actual)}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return bad('bad-json', ErrorCode.BadJson, `record is not valid JSON: ${(err as Error).message}`);
  }
  // The hand check is the hot path of verify; zod runs only to explain a record that fails it.
  if (looksLikeRecord(value)) return { ok: true, value };
  const parsed = RecordSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return bad('schema', ErrorCode.SchemaMismatch, `record does not match the schema at ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`);
  }
  return { ok: true, value: parsed.data as DecodedRecord };
}

function looksLikeRecord(v: unknown): v is DecodedRecord {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const r = v as Record<string, unknown>;
  let keys = 0;
  for (const _ in r) keys++;
  return (
    (keys === 5 || (keys === 6 && typeof r.key === 'string')) &&
    Number.isSafeInteger(r.id) &&
    (r.id as number) > 0 &&
    typeof r.ts === 'string' &&
    typeof r.type === 'string' &&
    r.type.length > 0 &&
    'data' in r &&
    typeof r.crc === 'string'
  );
}

/** The 8 lowercase hex digits at `at` as a number (hasCrcSuffix checked they are hex). */
function storedCrc(line: Uint8Array, at: number): number {
  let v = 0;
  for (let i = at; i < at + 8; i++) {
    const c = line[i]!;
    v = v * 16 + (c <= 0x39 ? c - 0x30 : c - 0x57);
  }
  return v;
}

/** Two lowercase hex digits per byte value: a crc above 2^31 is no small integer, and toString(16) on it is slow. */
const HEX_PAIRS = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function hex(n: number): string {
  return HEX_PAIRS[n >>> 24]! + HEX_PAIRS[(n >>> 16) & 0xff]! + HEX_PAIRS[(n >>> 8) & 0xff]! + HEX_PAIRS[n & 0xff]!;
}

function hasCrcSuffix(line: Uint8Array, at: number): boolean {
  for (let i = 0; i < SUFFIX_HEAD.length; i++) if (line[at + i] !== SUFFIX_HEAD[i]) return false;
  for (let i = 0; i < 8; i++) {
    const c = line[at + SUFFIX_HEAD.length + i]!;
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return false;
  }
  const tail = at + SUFFIX_HEAD.length + 8;
  return line[tail] === SUFFIX_TAIL[0] && line[tail + 1] === SUFFIX_TAIL[1] && tail + 2 === line.length;
}

/**
 * The key in a native record's header (`…,"type":"…","key":"K",…`), read without a JSON parse;
 * undefined for a record without one. Only the header is looked at, so a `"key"` inside the
 * data is never taken for it. The caller checks the record (decodeRecord) before trusting it.
 */
export function headerKey(line: Uint8Array): string | undefined {
  const buf = Buffer.isBuffer(line) ? line : Buffer.from(line.buffer, line.byteOffset, line.length);
  const typeAt = buf.indexOf(TYPE_HEAD_BYTES);
  if (typeAt < 0 || buf[typeAt + TYPE_HEAD_BYTES.length] !== 0x22) return undefined;
  // Walk the type's JSON string to its closing quote (escapes skip the next byte).
  let i = typeAt + TYPE_HEAD_BYTES.length + 1;
  for (; i < buf.length; i++) {
    const c = buf[i]!;
    if (c === 0x5c) i++;
    else if (c === 0x22) break;
  }
  const keyAt = i + 1;
  if (buf.compare(KEY_HEAD_BYTES, 0, KEY_HEAD_BYTES.length, keyAt, keyAt + KEY_HEAD_BYTES.length) !== 0) return undefined;
  const from = keyAt + KEY_HEAD_BYTES.length;
  const end = buf.indexOf(0x22, from);
  return end < 0 ? undefined : buf.toString('latin1', from, end);
}

const TYPE_HEAD_BYTES = Buffer.from(TYPE_HEAD);
const KEY_HEAD_BYTES = Buffer.from(KEY_HEAD);

/** Whether a line looks like the start of a native record, even when it is damaged or cut short. */
export function looksNative(line: Uint8Array): boolean {
  return /^\{"id":\d+,"ts":/.test(Buffer.from(line.buffer, line.byteOffset, Math.min(line.length, 40)).toString('latin1'));
}

function bad(kind: LedgerProblemKind, code: ErrorCode, message: string): LineVerdict<never> {
  return { ok: false, kind, code, message };
}
