/**
 * Reading a ledger backwards from a byte offset in fixed chunks: the tail, newest-first pages
 * and the last id cost the same on a 1 GB ledger as on a 1 MB one.
 */
import { ErrorCode, LedgerlockError } from '../errors';
import type { OpenFile } from '../fs';
import { interpretLine } from './interpret';
import type { RawLine } from './scan';
import type { LedgerEvent, LedgerFormat, LedgerProblem } from './types';

export const REVERSE_CHUNK_BYTES = 64 * 1024;

/**
 * Lines ending at or before `end`, newest first. The first one may be unterminated (a torn
 * write at EOF). `line` is 0: a backward read does not know line numbers.
 */
export async function* linesBackward(file: OpenFile, end: number, maxLineBytes: number, chunkBytes = REVERSE_CHUNK_BYTES): AsyncGenerator<RawLine> {
  let lineEnd = end;
  let first = true;
  let parts: Buffer[] = [];
  let partsLen = 0;
  let tooLong = false;
  let pos = end;
  const take = (head: Buffer): Buffer | null => {
    if (tooLong || head.length + partsLen > maxLineBytes) return null;
    return partsLen === 0 ? head : Buffer.concat([head, ...parts]);
  };
  while (pos > 0) {
    const start = Math.max(0, pos - chunkBytes);
    const buf = Buffer.allocUnsafe(pos - start);
    const got = await file.read(buf, 0, buf.length, start);
    if (got < buf.length) {
      // Reads take no lock: a repair in another process may have truncated the tail under us.
      throw new LedgerlockError(ErrorCode.Io, `${file.path} shrank while being read (repaired meanwhile?); read it again`, { path: file.path, offset: start });
    }
    let hi = buf.length;
    while (hi > 0) {
      const nl = buf.lastIndexOf(0x0a, hi - 1);
      if (nl < 0) break;
      const segStart = start + nl + 1;
      const bytes = take(buf.subarray(nl + 1, hi));
      if (first) {
        if (segStart < lineEnd) yield { offset: segStart, length: lineEnd - segStart, bytes, line: 0, terminated: false };
        first = false;
      } else {
        yield { offset: segStart, length: lineEnd - segStart, bytes, line: 0, terminated: true };
      }
      lineEnd = segStart;
      hi = nl;
      parts = [];
      partsLen = 0;
      tooLong = false;
    }
    if (hi > 0 && !tooLong) {
      partsLen += hi;
      if (partsLen > maxLineBytes) {
        tooLong = true;
        parts = [];
      } else {
        parts.unshift(buf.subarray(0, hi));
      }
    }
    pos = start;
  }
  if (lineEnd > 0) yield { offset: 0, length: lineEnd, bytes: tooLong ? null : Buffer.concat(parts), line: 0, terminated: !first };
}

export interface BackwardRead {
  /** Newest first. */
  events: LedgerEvent[];
  /** End of the newest valid record before `end`, 0 if none. */
  validEnd: number;
  /** Damaged or incomplete lines seen after the newest valid record. */
  damagedAfterValid: boolean;
  /** What those lines were, newest first. */
  tailProblems: LedgerProblem[];
}

/**
 * Up to `limit` valid events ending at or before `end`, newest first; damaged lines are skipped
 * (verify reports them). `linesBefore`, when known, is the number of newlines before `end`, so
 * foreign events get their line numbers (their ids) without a forward scan.
 */
export async function readBackward(file: OpenFile, format: LedgerFormat, end: number, limit: number, maxLineBytes: number, linesBefore?: number): Promise<BackwardRead> {
  const events: LedgerEvent[] = [];
  let validEnd = -1;
  let damagedAfterValid = false;
  const tailProblems: LedgerProblem[] = [];
  let newlines = linesBefore;
  if (limit <= 0) return { events, validEnd: 0, damagedAfterValid, tailProblems };
  for await (const raw of linesBackward(file, end, maxLineBytes)) {
    if (newlines !== undefined) {
      if (raw.terminated) newlines--;
      raw.line = newlines + 1;
    }
    const seen = interpretLine(format, raw, null);
    if (seen.problem) {
      if (validEnd < 0) {
        damagedAfterValid = true;
        tailProblems.push(seen.problem);
      }
      continue;
    }
    if (!seen.event) continue;
    if (validEnd < 0) validEnd = raw.offset + raw.length;
    events.push(seen.event);
    if (events.length >= limit) break;
  }
  return { events, validEnd: Math.max(validEnd, 0), damagedAfterValid, tailProblems };
}
