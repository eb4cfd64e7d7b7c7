/**
 * Foreign ledgers: JSONL/NDJSON written by other tools, read as they are. A line's position
 * is its 1-based line number; `ts` and `type` come from the fields such tools commonly use.
 * They are never appended to or compacted: the file belongs to the tool that writes it.
 */
import { ErrorCode, LedgerlockError } from '../errors';
import { decodeRecord, looksNative, type LineVerdict } from './record';
import type { LedgerFormat } from './types';

export interface ForeignLine {
  ts: string | null;
  type: string;
  data: unknown;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const TIME_FIELDS = ['timestamp', 'ts', 'time'];
const TYPE_FIELDS = ['type', 'event', 'kind'];

/** Blank lines are allowed in JSONL; they keep their line number but carry no event. */
export function isBlankLine(line: Uint8Array): boolean {
  for (const c of line) if (c !== 0x20 && c !== 0x09 && c !== 0x0d) return false;
  return true;
}

export function decodeForeignLine(line: Uint8Array): LineVerdict<ForeignLine> {
  let text: string;
  try {
    text = strictUtf8.decode(line);
  } catch {
    return { ok: false, kind: 'invalid-utf8', code: ErrorCode.InvalidUtf8, message: 'line is not valid UTF-8' };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, kind: 'bad-json', code: ErrorCode.BadJson, message: `line is not valid JSON: ${(err as Error).message}` };
  }
  return { ok: true, value: { ts: pick(value, TIME_FIELDS), type: pick(value, TYPE_FIELDS) ?? 'line', data: value } };
}

function pick(value: unknown, fields: string[]): string | null {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
  for (const f of fields) {
    const v = (value as Record<string, unknown>)[f];
    if (typeof v === 'string' && v.length > 0) return v;
    if (typeof v === 'number' && Number.isFinite(v) && TIME_FIELDS.includes(f)) return new Date(v).toISOString();
  }
  return null;
}

/**
 * The format of a ledger. A native ledger is known by where it lives (`.ledgerlock/ledgers/`,
 * the recovery log: `nativePlace`) and by its records: elsewhere the first line that carries a
 * record's checksum field (even one that no longer matches), or that looks like the start of a
 * record, decides for native; a first line that parses as JSON without one decides for foreign.
 * Undecided content (empty, all garbage) counts as native inside a store and foreign outside one.
 */
export function detectFormat(head: Buffer, insideStore: boolean, nativePlace = false): LedgerFormat {
  if (nativePlace) return 'ledgerlock';
  let start = 0;
  while (start < head.length) {
    let end = head.indexOf(0x0a, start);
    if (end < 0) end = head.length;
    const line = head.subarray(start, end);
    if (!isBlankLine(line)) {
      const complete = end < head.length;
      // A complete JSON line without a checksum is foreign even if it has "id" and "ts" fields.
      if (complete && (decodeRecord(line).ok || hasChecksumField(line))) return 'ledgerlock';
      if (complete && decodeForeignLine(line).ok) return 'foreign';
      if (looksNative(line)) return 'ledgerlock';
    }
    start = end + 1;
  }
  return head.length === 0 || insideStore ? 'ledgerlock' : 'foreign';
}

/** A line ending the way a native record does (`,"crc":"<8 hex>"}`), whether or not the checksum still matches. */
function hasChecksumField(line: Uint8Array): boolean {
  const end = Buffer.from(line.buffer, line.byteOffset + Math.max(0, line.length - 24), Math.min(line.length, 24)).toString('latin1');
  return /,"crc":"[0-9a-f]{8}"\}\r?$/.test(end);
}

export function refuseForeign(path: string, action: string): never {
  throw new LedgerlockError(
    ErrorCode.ForeignLedgerReadOnly,
    `${path} is a foreign JSONL ledger (written by another tool); Ledgerlock reads it but does not ${action} it`,
    { path, action },
  );
}
