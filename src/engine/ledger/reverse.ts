/**
 * Reading a ledger backwards from a byte offset in fixed chunks: the tail, newest-first pages
 * and the last id cost the same on a 1 GB ledger as on a 1 MB one.
 */
import { ErrorCode, LedgerlockError } from '../errors';
import type { OpenFile } from '../fs';
import { interpretLine } from './interpret';
import type { JsonlProfile } from './profiles';
import type { RawLine } from './scan';
import type { LedgerEvent, LedgerFormat, LedgerProblem } from './types';

const REVERSE_CHUNK_BYTES = 64 * 1024;

/** The first read from the end is small: an append needs only the last record, usually a few hundred bytes. */
const FIRST_CHUNK_BYTES = 8 * 1024;

/**
 * Lines ending at or before `end`, newest first. The first one may be unterminated (a torn
 * write at EOF). `line` is 0: a backward read does not know line numbers.
 */
async function* linesBackward(file: OpenFile, end: number, maxLineBytes: number, chunkBytes = REVERSE_CHUNK_BYTES): AsyncGenerator<RawLine> {
  const walk = new BackwardLines(file.path, end, maxLineBytes, chunkBytes);
  for (let chunk = walk.nextChunk(); chunk !== null; chunk = walk.nextChunk()) {
    yield* walk.lines(chunk.buf, chunk.start, await file.read(chunk.buf, 0, chunk.buf.length, chunk.start));
  }
  yield* walk.rest();
}

/** linesBackward, synchronously. */
export function* linesBackwardSync(file: OpenFile, end: number, maxLineBytes: number, chunkBytes = REVERSE_CHUNK_BYTES): Generator<RawLine> {
  const walk = new BackwardLines(file.path, end, maxLineBytes, chunkBytes);
  for (let chunk = walk.nextChunk(); chunk !== null; chunk = walk.nextChunk()) {
    yield* walk.lines(chunk.buf, chunk.start, file.readSync(chunk.buf, 0, chunk.buf.length, chunk.start));
  }
  yield* walk.rest();
}

/** The backward walk itself, fed chunk by chunk by either reader above. */
class BackwardLines {
  private lineEnd: number;
  private first = true;
  private parts: Buffer[] = [];
  private partsLen = 0;
  private tooLong = false;
  private pos: number;
  private chunks = 0;

  constructor(
    private readonly path: string,
    end: number,
    private readonly maxLineBytes: number,
    private readonly chunkBytes: number,
  ) {
    this.lineEnd = end;
    this.pos = end;
  }

  nextChunk(): { buf: Buffer; start: number } | null {
    if (this.pos <= 0) return null;
    const size = this.chunks++ === 0 ? Math.min(this.chunkBytes, FIRST_CHUNK_BYTES) : this.chunkBytes;
    const start = Math.max(0, this.pos - size);
    return { buf: Buffer.allocUnsafe(this.pos - start), start };
  }

  private take(head: Buffer): Buffer | null {
    if (this.tooLong || head.length + this.partsLen > this.maxLineBytes) return null;
    return this.partsLen === 0 ? head : Buffer.concat([head, ...this.parts]);
  }

  *lines(buf: Buffer, start: number, got: number): Generator<RawLine> {
    if (got < buf.length) {
      // Reads take no lock: a repair in another process may have truncated the tail under us.
      throw new LedgerlockError(ErrorCode.Io, `${this.path} shrank while being read (repaired meanwhile?); read it again`, { path: this.path, offset: start });
    }
    let hi = buf.length;
    while (hi > 0) {
      const nl = buf.lastIndexOf(0x0a, hi - 1);
      if (nl < 0) break;
      const segStart = start + nl + 1;
      const bytes = this.take(buf.subarray(nl + 1, hi));
      if (this.first) {
        this.first = false;
        if (segStart < this.lineEnd) yield { offset: segStart, length: this.lineEnd - segStart, bytes, line: 0, terminated: false };
      } else {
        yield { offset: segStart, length: this.lineEnd - segStart, bytes, line: 0, terminated: true };
      }
      this.lineEnd = segStart;
      hi = nl;
      this.parts = [];
      this.partsLen = 0;
      this.tooLong = false;
    }
    if (hi > 0 && !this.tooLong) {
      this.partsLen += hi;
      if (this.partsLen > this.maxLineBytes) {
        this.tooLong = true;
        this.parts = [];
      } else {
        this.parts.unshift(buf.subarray(0, hi));
      }
    }
    this.pos = start;
  }

  *rest(): Generator<RawLine> {
    if (this.lineEnd > 0) yield { offset: 0, length: this.lineEnd, bytes: this.tooLong ? null : Buffer.concat(this.parts), line: 0, terminated: !this.first };
  }
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
export async function readBackward(
  file: OpenFile,
  format: LedgerFormat,
  end: number,
  limit: number,
  maxLineBytes: number,
  linesBefore?: number,
  profile?: JsonlProfile,
): Promise<BackwardRead> {
  const seen = new BackwardEvents(format, limit, linesBefore, profile);
  if (limit > 0) {
    for await (const raw of linesBackward(file, end, maxLineBytes)) if (seen.add(raw)) break;
  }
  return seen.result();
}

/** readBackward, synchronously (appends under the lock). */
export function readBackwardSync(file: OpenFile, format: LedgerFormat, end: number, limit: number, maxLineBytes: number): BackwardRead {
  const seen = new BackwardEvents(format, limit, undefined);
  if (limit > 0) {
    for (const raw of linesBackwardSync(file, end, maxLineBytes)) if (seen.add(raw)) break;
  }
  return seen.result();
}

class BackwardEvents {
  private readonly events: LedgerEvent[] = [];
  private validEnd = -1;
  private damagedAfterValid = false;
  private readonly tailProblems: LedgerProblem[] = [];

  constructor(
    private readonly format: LedgerFormat,
    private readonly limit: number,
    private newlines: number | undefined,
    private readonly profile?: JsonlProfile,
  ) {}

  /** Takes the next line back; true once `limit` events are in. */
  add(raw: RawLine): boolean {
    if (this.newlines !== undefined) {
      if (raw.terminated) this.newlines--;
      raw.line = this.newlines + 1;
    }
    const seen = interpretLine(this.format, raw, null, this.profile);
    if (seen.problem) {
      if (this.validEnd < 0) {
        this.damagedAfterValid = true;
        this.tailProblems.push(seen.problem);
      }
      return false;
    }
    if (!seen.event) return false;
    if (this.validEnd < 0) this.validEnd = raw.offset + raw.length;
    this.events.push(seen.event);
    return this.events.length >= this.limit;
  }

  result(): BackwardRead {
    return { events: this.events, validEnd: Math.max(this.validEnd, 0), damagedAfterValid: this.damagedAfterValid, tailProblems: this.tailProblems };
  }
}
