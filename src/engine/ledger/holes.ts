/**
 * Holes: a power loss can leave a later record on disk while an earlier one, written but not
 * yet flushed, reads back as zero bytes. Appends flush outside the ledger's lock, so this is a
 * state the ledger really reaches (docs/ARCHITECTURE.md, "Append and group commit"). No record
 * at or after the first hole was acknowledged (its acknowledgement waited for an fdatasync that
 * would also have flushed the hole), so recovery cuts from the line holding the first hole.
 *
 * Every writer keeps at most HOLE_WINDOW_BYTES of the ledger's end unflushed (it flushes under
 * the lock before a write that would leave more), so a hole can only lie in the last
 * HOLE_WINDOW_BYTES: that is all the first append of a process, repair and verify look at.
 */
import type { OpenFile } from '../fs';

export const HOLE_WINDOW_BYTES = 1024 * 1024;

const BACK_CHUNK = 64 * 1024;

/**
 * Where the line holding the first NUL byte of the last HOLE_WINDOW_BYTES starts, or null. A
 * native record never holds a raw NUL (JSON escapes it), so one is always damage.
 */
export function findHoleSync(file: OpenFile, size: number, maxLineBytes: number): number | null {
  const from = Math.max(0, size - HOLE_WINDOW_BYTES);
  if (size === from) return null;
  const buf = Buffer.allocUnsafe(size - from);
  readFully(file, buf, from);
  const at = buf.indexOf(0);
  if (at < 0) return null;
  const nl = buf.lastIndexOf(0x0a, at);
  return nl >= 0 ? from + nl + 1 : lineStartBefore(file, from, maxLineBytes);
}

/** The offset just after the last newline before `pos` (0 if none within maxLineBytes). */
function lineStartBefore(file: OpenFile, pos: number, maxLineBytes: number): number {
  const floor = Math.max(0, pos - maxLineBytes);
  for (let end = pos; end > floor;) {
    const start = Math.max(floor, end - BACK_CHUNK);
    const buf = Buffer.allocUnsafe(end - start);
    readFully(file, buf, start);
    const nl = buf.lastIndexOf(0x0a);
    if (nl >= 0) return start + nl + 1;
    end = start;
  }
  return floor;
}

function readFully(file: OpenFile, buf: Buffer, position: number): void {
  for (let got = 0; got < buf.length;) {
    const n = file.readSync(buf, got, buf.length - got, position + got);
    if (n <= 0) {
      buf.fill(0x0a, got); // the file shrank under us (a repair elsewhere): no hole in what is gone
      return;
    }
    got += n;
  }
}
