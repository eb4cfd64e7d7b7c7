/**
 * Confinement: every path the engine opens or changes must lie inside the root it was found
 * under. The root of a path inside a store is the workspace holding that `.ledgerlock`; the
 * root of any other path is the one the caller scoped the work to (`withinRoot`: the workspace
 * folder, the CLI's directory), else the folder the path names. The parent is resolved and
 * must stay in the root; the last component is opened without following symlinks
 * (O_NOFOLLOW), never blocks (O_NONBLOCK), and the descriptor's type and real path are checked
 * before anything acts on it. A symlink that leaves the root is never written, truncated,
 * renamed or removed. `confine(fs)` puts these checks in front of any FileSystem, so the
 * engine's one file-system layer enforces them for every caller.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import * as nodeFs from 'node:fs';
import * as path from 'node:path';
import { ErrorCode, LedgerlockError, errnoCode } from './errors';
import type { FileSystem, OpenFile, OpenOptions } from './fs';

/** store.ts's STORE_DIR_NAME; repeated here because the store reaches the disk through this layer. */
const STORE_DIR_NAME = '.ledgerlock';

/** The most a document (store.json, a manifest, an index, a lock file) may hold before it is read. */
export const MAX_DOCUMENT_BYTES = 16 * 1024 * 1024;

const scope = new AsyncLocalStorage<string>();

/** Runs `fn` (and everything it starts) with `root` as the root of paths that lie under it and in no store. */
export function withinRoot<T>(root: string, fn: () => T): T {
  return scope.run(path.resolve(root), fn);
}

/** The root `p` must stay inside; undefined: only its last component is checked (against its own folder). */
export function rootOf(p: string): string | undefined {
  const abs = path.resolve(p);
  const segments = abs.split(path.sep);
  const at = segments.lastIndexOf(STORE_DIR_NAME);
  if (at > 0) return segments.slice(0, at).join(path.sep) || path.sep;
  const scoped = scope.getStore();
  return scoped !== undefined && lexicallyInside(scoped, abs) ? scoped : undefined;
}

export function lexicallyInside(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

export function outsideRoot(p: string, target: string, root: string): LedgerlockError {
  return new LedgerlockError(
    ErrorCode.PathOutsideRoot,
    `${p} links outside the workspace (to ${target}, outside ${root}); Ledgerlock shows it but never reads, writes or removes through it`,
    { path: p, target, root },
  );
}

export function notRegularFile(p: string, st: nodeFs.Stats): LedgerlockError {
  const kind = st.isFIFO() ? 'a FIFO' : st.isSocket() ? 'a socket' : st.isCharacterDevice() ? 'a character device' : st.isBlockDevice() ? 'a block device' : st.isDirectory() ? 'a directory' : 'not a regular file';
  return new LedgerlockError(ErrorCode.NotRegularFile, `${p} is ${kind}, not a regular file`, { path: p, kind });
}

export function documentTooLarge(p: string, bytes: number, limit: number): LedgerlockError {
  return new LedgerlockError(ErrorCode.DocumentTooLarge, `${p} is ${bytes === Infinity ? 'larger than' : `${bytes} bytes, over`} the limit of ${limit} bytes for a document; it was not read`, { path: p, bytes: Number.isFinite(bytes) ? bytes : null, limit });
}

/**
 * Real paths of roots, cached: a root is what the user opened, so it does not move under us
 * (a cache miss costs a realpath). A root that does not exist yet resolves through its
 * deepest existing ancestor.
 */
const realRoots = new Map<string, string>();

function realRootSync(root: string): string {
  const known = realRoots.get(root);
  if (known !== undefined) return known;
  const real = realpathOfDeepestSync(root);
  if (realRoots.size > 256) realRoots.clear();
  realRoots.set(root, real);
  return real;
}

/**
 * realpath of the deepest existing ancestor of `p`, with the missing rest appended as named. A
 * dangling symlink on the way counts as where it points, not as missing.
 */
export function realpathOfDeepestSync(p: string, depth = 0): string {
  const missing: string[] = [];
  for (let at = path.resolve(p); ; at = path.dirname(at)) {
    try {
      return path.join(nodeFs.realpathSync.native(at), ...missing.reverse());
    } catch (err) {
      const code = errnoCode(err);
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw err;
      let link: string | undefined;
      try {
        if (nodeFs.lstatSync(at).isSymbolicLink()) link = nodeFs.readlinkSync(at);
      } catch {
        // not there at all
      }
      if (link !== undefined) {
        if (depth > 40) throw Object.assign(new Error(`too many symbolic links at ${at}`), { code: 'ELOOP' });
        return path.join(realpathOfDeepestSync(path.resolve(path.dirname(at), link), depth + 1), ...missing.reverse());
      }
      if (path.dirname(at) === at) return path.resolve(p);
      missing.push(path.basename(at));
    }
  }
}

/** Throws E_PATH_OUTSIDE_ROOT when `p`'s parent, resolved through every link, lies outside `p`'s root. */
export function confineParentSync(p: string): void {
  const abs = path.resolve(p);
  const root = rootOf(abs);
  // No root: only the last component is checked. The root itself is where the caller chose to work.
  if (root === undefined || root === abs) return;
  const realParent = realpathOfDeepestSync(path.dirname(abs));
  if (!lexicallyInside(realRootSync(root), realParent)) throw outsideRoot(path.dirname(abs), realParent, root);
}

/**
 * When `p` itself is a symlink: its target must stay in the root (or, with no root, in the
 * folder holding the link). A symlink that leaves is E_PATH_OUTSIDE_ROOT; anything else passes.
 */
export function refuseLinkOutsideSync(p: string): void {
  let st: nodeFs.Stats;
  try {
    st = nodeFs.lstatSync(p);
  } catch {
    return; // nothing there: the operation itself reports that
  }
  if (!st.isSymbolicLink()) return;
  const abs = path.resolve(p);
  const root = rootOf(abs) ?? path.dirname(abs);
  let target: string;
  try {
    target = nodeFs.realpathSync.native(abs);
  } catch (err) {
    // Dangling or a loop: where it points is what counts.
    target = path.resolve(path.dirname(abs), nodeFs.readlinkSync(abs));
    if (errnoCode(err) === 'ELOOP') throw new LedgerlockError(ErrorCode.SymlinkLoop, `${abs} is a symbolic link loop`, { path: abs });
  }
  const realRoot = realRootSync(root);
  if (!lexicallyInside(realRoot, target) && !lexicallyInside(root, target)) throw outsideRoot(abs, target, root);
}

/** The real path of an open descriptor (Linux), or undefined where the platform cannot say. */
function descriptorPath(fd: number | undefined): string | undefined {
  if (fd === undefined || process.platform !== 'linux') return undefined;
  try {
    return nodeFs.readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return undefined;
  }
}

/** After open: the descriptor is a file or directory (never a FIFO, socket or device) and really lies in the root. */
function checkDescriptor(p: string, st: nodeFs.Stats, fd: number | undefined): void {
  if (!st.isFile() && !st.isDirectory()) throw notRegularFile(p, st);
  const root = rootOf(p);
  if (root === undefined) return;
  const real = descriptorPath(fd);
  if (real !== undefined && real.startsWith('/') && !lexicallyInside(realRootSync(root), real)) throw outsideRoot(p, real, root);
}

/** Puts confinement in front of `inner`. */
export function confine(inner: FileSystem): FileSystem {
  const checked = async (p: string, flags: string, mode: number | undefined, options: OpenOptions | undefined): Promise<OpenFile> => {
    const opts: OpenOptions = { ...options, noFollow: true, nonBlock: true };
    let target = path.resolve(p);
    confineParentSync(target);
    let file: OpenFile;
    try {
      file = await inner.open(target, flags, mode, opts);
    } catch (err) {
      if (errnoCode(err) !== 'ELOOP') throw err;
      // The last component is a symlink: follow it only when it stays in the root.
      refuseLinkOutsideSync(target);
      target = nodeFs.realpathSync.native(target);
      file = await inner.open(target, flags, mode, opts);
    }
    try {
      // fstat without a thread-pool round trip where there is a descriptor: this runs on every open.
      checkDescriptor(p, file.fd !== undefined ? nodeFs.fstatSync(file.fd) : await file.stat(), file.fd);
    } catch (err) {
      await file.close().catch(() => undefined);
      throw err;
    }
    return file;
  };

  // The same checks for the sync forms (appendSync, atomicWriteFileSync and the rest).
  const checkedSync = (p: string, flags: string, mode: number | undefined, options: OpenOptions | undefined): OpenFile => {
    const opts: OpenOptions = { ...options, noFollow: true, nonBlock: true };
    let target = path.resolve(p);
    confineParentSync(target);
    let file: OpenFile;
    try {
      file = inner.openSync(target, flags, mode, opts);
    } catch (err) {
      if (errnoCode(err) !== 'ELOOP') throw err;
      refuseLinkOutsideSync(target);
      target = nodeFs.realpathSync.native(target);
      file = inner.openSync(target, flags, mode, opts);
    }
    try {
      checkDescriptor(p, file.statSync(), file.fd);
    } catch (err) {
      try {
        file.closeSync();
      } catch {
        // the confinement error is the one to report
      }
      throw err;
    }
    return file;
  };

  const mutating = (p: string): void => {
    confineParentSync(p);
    refuseLinkOutsideSync(p);
  };

  // Every method named, not spread: `inner` may be a class instance whose methods live on its prototype.
  return {
    stat: (p) => inner.stat(p),
    lstat: (p) => inner.lstat(p),
    realpath: (p) => inner.realpath(p),
    open: checked,
    async readFile(p) {
      return readBounded(checked, p, MAX_DOCUMENT_BYTES);
    },
    async rename(from, to) { mutating(from); mutating(to); return inner.rename(from, to); },
    async link(existing, newPath) { mutating(existing); mutating(newPath); return inner.link(existing, newPath); },
    async unlink(p) { mutating(p); return inner.unlink(p); },
    async truncate(p, length) {
      const file = await checked(p, 'r+', undefined, undefined);
      try { await file.truncate(length); } finally { await file.close(); }
    },
    async mkdir(p) { mutating(p); return inner.mkdir(p); },
    async rmdir(p) { mutating(p); return inner.rmdir(p); },
    async readdir(p) { mutating(p); return inner.readdir(p); },
    async utimes(p, atime, mtime) { mutating(p); return inner.utimes(p, atime, mtime); },
    async syncDir(p) { mutating(p); return inner.syncDir(p); },
    createFileSync(p, data, mode) { confineParentSync(p); return inner.createFileSync(p, data, mode); },
    renameSync(from, to) { mutating(from); mutating(to); return inner.renameSync(from, to); },
    linkSync(existing, newPath) { mutating(existing); mutating(newPath); return inner.linkSync(existing, newPath); },
    unlinkSync(p) { mutating(p); return inner.unlinkSync(p); },
    readFileSync(p) { return readBoundedSync(p, MAX_DOCUMENT_BYTES); },
    mkdirExclusiveSync(p) { mutating(p); return inner.mkdirExclusiveSync(p); },
    rmdirSync(p) { mutating(p); return inner.rmdirSync(p); },
    realpathSync: (p) => inner.realpathSync(p),
    touchIfSync(p, time, check) { mutating(p); return inner.touchIfSync(p, time, check); },
    writeNewFileSync(p, data, options) { confineParentSync(p); return inner.writeNewFileSync(p, data, options); },
    openSync: checkedSync,
    statSync: (p) => inner.statSync(p),
    lstatSync: (p) => inner.lstatSync(p),
    mkdirSync(p) { mutating(p); return inner.mkdirSync(p); },
    syncDirSync(p) { mutating(p); return inner.syncDirSync(p); },
  };
}

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
