/** What one raw line means in a ledger of a given format: an event, a problem, or nothing (a blank foreign line). */
import { ErrorCode } from '../errors';
import { interpretForeign } from './foreign';
import { genericProfile, type JsonlProfile } from './profiles';
import { decodeRecord } from './record';
import type { RawLine } from './scan';
import type { LedgerEvent, LedgerFormat, LedgerProblem } from './types';

export type Interpretation =
  { event: LedgerEvent; problem?: undefined } | { event?: undefined; problem: LedgerProblem } | { event?: undefined; problem?: undefined };

/**
 * `previousId` is the last valid native id before this line when the caller knows it (forward
 * scans); a record that does not go past it is a problem. Foreign ids are line numbers, so
 * `line` must be known for foreign ledgers, and a foreign line is judged by its tool's `profile`.
 */
export function interpretLine(format: LedgerFormat, raw: RawLine, previousId: number | null, profile: JsonlProfile = genericProfile): Interpretation {
  const at = { offset: raw.offset, length: raw.length, line: raw.line };
  if (raw.bytes === null) {
    return {
      problem: { kind: 'line-too-long', code: ErrorCode.LineTooLong, ...at, message: `line ${raw.line} is ${raw.length} bytes, longer than the reading limit` },
    };
  }
  if (format === 'foreign') return interpretForeign(raw, profile);
  if (!raw.terminated) {
    const what = isZeroFilled(raw.bytes) ? 'zero-filled bytes' : 'an incomplete record';
    return { problem: { kind: 'torn-tail', code: ErrorCode.LedgerTorn, ...at, message: `the ledger ends with ${what} (${raw.length} bytes, no newline)` } };
  }
  if (raw.bytes.length > 0 && isZeroFilled(raw.bytes)) {
    // A complete line of zeros holds nothing: removable like any damaged record, never taken for a torn tail.
    return {
      problem: {
        kind: 'zero-filled',
        code: ErrorCode.LedgerCorrupt,
        ...at,
        message: `line ${raw.line}: ${raw.bytes.length} zero-filled bytes from a crash at offset ${raw.offset} (a write lost in a crash); nothing of value in them`,
      },
    };
  }
  const v = decodeRecord(raw.bytes);
  if (!v.ok) return { problem: { kind: v.kind, code: v.code, ...at, message: `line ${raw.line}: ${v.message}` } };
  const r = v.value;
  if (previousId !== null && r.id <= previousId) {
    return {
      problem: { kind: 'id-not-increasing', code: ErrorCode.LedgerCorrupt, ...at, message: `line ${raw.line}: id ${r.id} does not follow id ${previousId}` },
    };
  }
  const event: LedgerEvent = { id: r.id, ts: r.ts, type: r.type, data: r.data, offset: raw.offset, length: raw.length, crc: r.crc };
  if (r.key !== undefined) event.key = r.key;
  if (raw.line > 0) event.line = raw.line;
  return { event };
}

function isZeroFilled(bytes: Uint8Array): boolean {
  if (bytes.length === 0) return false;
  for (const b of bytes) if (b !== 0) return false;
  return true;
}
