/**
 * Bounded reads: a document is read only after its descriptor says it is a regular file of at
 * most the given size, so a FIFO, /dev/zero or a sparse 600 MB file in a workspace can neither
 * block a read nor grow it without bound. The opening itself is confined (confine.ts).
 */
import * as nodeFs from 'node:fs';
import * as path from 'node:path';
import { checkDescriptor, confineParentSync, documentTooLarge, notRegularFile, refuseLinkOutsideSync } from './confine-paths';
import { errnoCode } from './errors';
import type { OpenFile, OpenOptions } from './fs-types';

/** The most a document (store.json, a manifest, an index, a lock file) may hold before it is read. */
export const MAX_DOCUMENT_BYTES = 16 * 1024 * 1024;

/**
 * Reads a whole document of at most `maxBytes`: opened confined and non-blocking, checked to
 * be a regular file, and its size checked on the descriptor before a byte is read. It reads
 * the size the descriptor reported (bytes appended after that are not part of this read; a
 * file that shrank meanwhile gives what is left). Files that report no size (procfs, empty
 * files) are read in chunks up to the limit.
 */
export async function readBounded(
  open: (p: string, flags: string, mode: number | undefined, options: OpenOptions | undefined) => Promise<OpenFile>,
  p: string,
  maxBytes: number,
): Promise<Buffer> {
  const file = await open(p, 'r', undefined, undefined);
  try {
    const st = await file.stat();
    if (!st.isFile()) throw notRegularFile(p, st);
    if (st.size > maxBytes) throw documentTooLarge(p, st.size, maxBytes);
    if (st.size > 0) {
      // The document as its descriptor's size says: one buffer of that size, one read as a rule.
      const buf = Buffer.allocUnsafe(st.size);
      let total = 0;
      while (total < buf.length) {
        const n = await file.read(buf, total, buf.length - total, total);
        if (n === 0) break;
        total += n;
      }
      return total === buf.length ? buf : buf.subarray(0, total);
    }
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.allocUnsafe(Math.min(64 * 1024, maxBytes + 1 - total));
      const n = await file.read(buf, 0, buf.length, total);
      if (n === 0) break;
      chunks.push(buf.subarray(0, n));
      total += n;
      if (total > maxBytes) throw documentTooLarge(p, Infinity, maxBytes);
    }
    return Buffer.concat(chunks, total);
  } finally {
    await file.close();
  }
}

/**
 * `size` bytes from offset 0 through `read` (a pread), in one buffer of that size: one read as
 * a rule. A file that shrank meanwhile gives what is left.
 */
export function readSizeSync(read: (buffer: Buffer, offset: number, length: number, position: number) => number, size: number): Buffer {
  const buf = Buffer.allocUnsafe(size);
  let total = 0;
  while (total < size) {
    const n = read(buf, total, size - total, total);
    if (n === 0) break;
    total += n;
  }
  return total === size ? buf : buf.subarray(0, total);
}

/** The synchronous form of readBounded, for lock files read in exit hooks and tight lock loops. */
export function readBoundedSync(p: string, maxBytes: number): Buffer {
  const abs = path.resolve(p);
  let target = abs;
  let fd: number;
  const flags = nodeFs.constants.O_RDONLY | nodeFs.constants.O_NOFOLLOW | nodeFs.constants.O_NONBLOCK;
  try {
    fd = nodeFs.openSync(target, flags);
  } catch (err) {
    if (errnoCode(err) !== 'ELOOP') throw err;
    refuseLinkOutsideSync(abs);
    target = nodeFs.realpathSync.native(abs);
    fd = nodeFs.openSync(target, flags);
  }
  try {
    confineParentSync(abs);
    const st = nodeFs.fstatSync(fd);
    checkDescriptor(abs, st, fd);
    if (!st.isFile()) throw notRegularFile(abs, st);
    if (st.size > maxBytes) throw documentTooLarge(abs, st.size, maxBytes);
    if (st.size > 0) return readSizeSync((b, off, len, pos) => nodeFs.readSync(fd, b, off, len, pos), st.size);
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.allocUnsafe(Math.min(64 * 1024, maxBytes + 1 - total));
      const n = nodeFs.readSync(fd, buf, 0, buf.length, total);
      if (n === 0) break;
      chunks.push(buf.subarray(0, n));
      total += n;
      if (total > maxBytes) throw documentTooLarge(abs, Infinity, maxBytes);
    }
    return Buffer.concat(chunks, total);
  } finally {
    nodeFs.closeSync(fd);
  }
}
