/**
 * Reads stdin as lines without ever holding more than one bounded line in memory: a line
 * past `maxBytes` is E_LINE_TOO_LONG and invalid UTF-8 is E_INVALID_UTF8, both naming the
 * line number.
 */
import type { Readable } from 'node:stream';
import { ErrorCode, LedgerlockError } from '../engine/errors';
import { decodeUtf8 } from '../engine/text';

export async function* readLines(input: Readable, maxBytes: number): AsyncGenerator<{ text: string; line: number }> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let line = 0;
  const emit = (bytes: Buffer) => decodeUtf8(bytes, { what: `stdin line ${line}`, line });
  for await (const chunk of input as AsyncIterable<Buffer | string>) {
    let buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    for (let nl = buf.indexOf(0x0a); nl !== -1; nl = buf.indexOf(0x0a)) {
      line++;
      const piece = buf.subarray(0, nl);
      if (pendingBytes + piece.length > maxBytes) throw tooLong(line, maxBytes);
      const whole = pending.length > 0 ? Buffer.concat([...pending, piece]) : piece;
      pending = [];
      pendingBytes = 0;
      yield { text: emit(whole.at(-1) === 0x0d ? whole.subarray(0, -1) : whole), line };
      buf = buf.subarray(nl + 1);
    }
    if (buf.length > 0) {
      pendingBytes += buf.length;
      if (pendingBytes > maxBytes) throw tooLong(line + 1, maxBytes);
      pending.push(Buffer.from(buf));
    }
  }
  if (pendingBytes > 0) {
    line++;
    yield { text: emit(Buffer.concat(pending)), line };
  }
}

function tooLong(line: number, maxBytes: number): LedgerlockError {
  return new LedgerlockError(ErrorCode.LineTooLong, `stdin line ${line} is longer than ${maxBytes} bytes`, { line, maxBytes });
}
