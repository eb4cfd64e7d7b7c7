/**
 * Forward streaming over a ledger's lines in fixed-size chunks, so verify, repair and index
 * builds walk a 1 GB file in constant memory. A line longer than maxLineBytes is reported with
 * its extent but its bytes are never held.
 */
import { ErrorCode, LedgerlockError } from '../errors';
import type { OpenFile } from '../fs';

export interface RawLine {
  offset: number;
  /** Bytes including the newline (when terminated). */
  length: number;
  /** The line without its newline; null when it was longer than maxLineBytes. */
  bytes: Buffer | null;
  /** 1-based line number. */
  line: number;
  /** false for a final segment with no newline: a write that did not finish. */
  terminated: boolean;
}

export interface ScanOptions {
  start?: number;
  /** Line number of the line that begins at `start` (default 1). */
  startLine?: number;
  end: number;
  maxLineBytes: number;
  chunkBytes?: number;
  signal?: AbortSignal | undefined;
  onProgress?: ((bytes: number, total: number) => void) | undefined;
}

const DEFAULT_CHUNK = 1 << 20;

/** Line by line; for the long walks (verify, index builds) scanLineBatches saves a promise per line. */
export async function* scanLines(file: OpenFile, opts: ScanOptions): AsyncGenerator<RawLine> {
  for await (const batch of scanLineBatches(file, opts)) yield* batch;
}

/** The lines completed by each chunk read, in order. */
export async function* scanLineBatches(file: OpenFile, opts: ScanOptions): AsyncGenerator<RawLine[]> {
  const chunkBytes = opts.chunkBytes ?? DEFAULT_CHUNK;
  let pos = opts.start ?? 0;
  let lineNo = opts.startLine ?? 1;
  let lineStart = pos;
  let parts: Buffer[] = [];
  let partsLen = 0;
  let tooLong = false;
  while (pos < opts.end) {
    if (opts.signal?.aborted) throw aborted(file.path);
    const want = Math.min(chunkBytes, opts.end - pos);
    const chunk = Buffer.allocUnsafe(want);
    const got = await file.read(chunk, 0, want, pos);
    if (got <= 0) break;
    const buf = got < want ? chunk.subarray(0, got) : chunk;
    let from = 0;
    const batch: RawLine[] = [];
    for (;;) {
      const nl = buf.indexOf(0x0a, from);
      if (nl < 0) break;
      const piece = buf.subarray(from, nl);
      const length = pos + nl + 1 - lineStart;
      let bytes: Buffer | null = null;
      if (!tooLong && length - 1 <= opts.maxLineBytes) bytes = partsLen === 0 ? piece : Buffer.concat([...parts, piece]);
      batch.push({ offset: lineStart, length, bytes, line: lineNo++, terminated: true });
      lineStart = pos + nl + 1;
      parts = [];
      partsLen = 0;
      tooLong = false;
      from = nl + 1;
    }
    if (from < buf.length && !tooLong) {
      // Copy: the rest of this chunk outlives the chunk's slice views handed out above.
      const rest = Buffer.from(buf.subarray(from));
      partsLen += rest.length;
      if (partsLen > opts.maxLineBytes) {
        tooLong = true;
        parts = [];
      } else {
        parts.push(rest);
      }
    }
    pos += buf.length;
    if (batch.length > 0) yield batch;
    opts.onProgress?.(pos, opts.end);
  }
  if (pos > lineStart) {
    yield [{ offset: lineStart, length: pos - lineStart, bytes: tooLong ? null : Buffer.concat(parts), line: lineNo, terminated: false }];
  }
}

function aborted(path: string): LedgerlockError {
  return new LedgerlockError(ErrorCode.Aborted, `reading ${path} was cancelled`, { path });
}
