/**
 * The one door through which the engine touches the disk. Every write, fsync, rename, link,
 * unlink, truncate and mkdir passes here, so a harness can swap in a recording file system
 * (see `useFileSystem`) and replay the crash states a power loss could leave behind.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { MAX_DOCUMENT_BYTES, readBounded } from './bounded-read';
import { confine, statAtOpen } from './confine';

import type { FileOwner, FileSystem, OpenFile, OpenOptions } from './fs-types';

export type { FileOwner, FileSystem, OpenFile } from './fs-types';
export { statAtOpen };

/**
 * An open file on a raw descriptor: async calls go straight to libuv (one pool hop each, no
 * FileHandle promise machinery), sync calls straight to the kernel.
 */
class NodeOpenFile implements OpenFile {
  constructor(
    readonly path: string,
    readonly fd: number,
  ) {}
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<number> {
    return new Promise((resolve, reject) => fs.read(this.fd, buffer, offset, length, position, (err, n) => (err ? reject(err) : resolve(n))));
  }
  async write(buffer: Buffer, offset: number, length: number, position: number | null): Promise<void> {
    let done = 0;
    while (done < length) {
      const at = position === null ? null : position + done;
      const n = await new Promise<number>((resolve, reject) =>
        fs.write(this.fd, buffer, offset + done, length - done, at, (err, w) => (err ? reject(err) : resolve(w))),
      );
      if (n <= 0) throw shortWrite(this.path);
      done += n;
    }
  }
  sync(): Promise<void> {
    return callback((cb) => fs.fsync(this.fd, cb));
  }
  datasync(): Promise<void> {
    return callback((cb) => fs.fdatasync(this.fd, cb));
  }
  truncate(length: number): Promise<void> {
    return callback((cb) => fs.ftruncate(this.fd, length, cb));
  }
  chmod(mode: number): Promise<void> {
    return callback((cb) => fs.fchmod(this.fd, mode, cb));
  }
  chown(uid: number, gid: number): Promise<void> {
    return callback((cb) => fs.fchown(this.fd, uid, gid, cb));
  }
  utimes(atime: Date, mtime: Date): Promise<void> {
    return callback((cb) => fs.futimes(this.fd, atime, mtime, cb));
  }
  stat(): Promise<fs.Stats> {
    return new Promise((resolve, reject) => fs.fstat(this.fd, (err, st) => (err ? reject(err) : resolve(st))));
  }
  close(): Promise<void> {
    return callback((cb) => fs.close(this.fd, cb));
  }
  readSync(buffer: Buffer, offset: number, length: number, position: number): number {
    return fs.readSync(this.fd, buffer, offset, length, position);
  }
  writeSync(buffer: Buffer, offset: number, length: number, position: number | null): void {
    for (let done = 0; done < length;) {
      const n = fs.writeSync(this.fd, buffer, offset + done, length - done, position === null ? null : position + done);
      if (n <= 0) throw shortWrite(this.path);
      done += n;
    }
  }
  syncSync(): void {
    fs.fsyncSync(this.fd);
  }
  datasyncSync(): void {
    fs.fdatasyncSync(this.fd);
  }
  truncateSync(length: number): void {
    fs.ftruncateSync(this.fd, length);
  }
  chmodSync(mode: number): void {
    fs.fchmodSync(this.fd, mode);
  }
  statSync(): fs.Stats {
    return fs.fstatSync(this.fd);
  }
  closeSync(): void {
    fs.closeSync(this.fd);
  }
}

function callback(start: (cb: (err: NodeJS.ErrnoException | null) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => start((err) => (err ? reject(err) : resolve())));
}

function shortWrite(path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`short write to ${path}`), { code: 'EIO' });
}

function openFlags(flags: string, options: OpenOptions | undefined): string | number {
  const c = fs.constants;
  const extra = (options?.dsync ? c.O_DSYNC : 0) | (options?.noFollow ? (c.O_NOFOLLOW ?? 0) : 0) | (options?.nonBlock ? (c.O_NONBLOCK ?? 0) : 0);
  return extra !== 0 ? numericFlags(flags) | extra : flags;
}

export const nodeFileSystem: FileSystem = {
  open(path, flags, mode, options) {
    return new Promise((resolve, reject) =>
      fs.open(path, openFlags(flags, options), mode, (err, fd) => (err ? reject(err) : resolve(new NodeOpenFile(path, fd)))),
    );
  },
  readFile: (path) => fsp.readFile(path),
  rename: (from, to) => fsp.rename(from, to),
  link: (existing, newPath) => fsp.link(existing, newPath),
  unlink: (path) => fsp.unlink(path),
  truncate: (path, length) => fsp.truncate(path, length),
  async mkdir(path) {
    await fsp.mkdir(path, { recursive: true });
  },
  rmdir: (path) => fsp.rmdir(path),
  async readdir(path, maxEntries) {
    if (maxEntries === undefined) return fsp.readdir(path, { withFileTypes: true });
    const handle = await fsp.opendir(path, { bufferSize: Math.max(1, Math.min(maxEntries, 256)) });
    const entries: fs.Dirent[] = [];
    try {
      for (let entry = await handle.read(); entry !== null && entries.length < maxEntries; entry = await handle.read()) entries.push(entry);
    } finally {
      await handle.close().catch(() => undefined);
    }
    return entries;
  },
  stat: (path) => fsp.stat(path),
  lstat: (path) => fsp.lstat(path),
  realpath: (path) => fsp.realpath(path),
  utimes: (path, atime, mtime) => fsp.utimes(path, atime, mtime),
  async syncDir(path) {
    const fd = directoryFd(path);
    await callback((cb) => fs.fsync(fd, cb));
  },
  createFileSync(path, data, mode, keepOpen) {
    // Read-write when kept: its holder reads its own record back through it.
    const fd = fs.openSync(path, keepOpen === true ? 'wx+' : 'wx', mode);
    try {
      for (let done = 0; done < data.length;) done += fs.writeSync(fd, data, done, data.length - done, done);
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
    if (keepOpen === true) return new NodeOpenFile(path, fd);
    fs.closeSync(fd);
    return undefined;
  },
  openSync: (path, flags, mode, options) => new NodeOpenFile(path, fs.openSync(path, openFlags(flags, options), mode)),
  renameSync: (from, to) => fs.renameSync(from, to),
  linkSync: (existing, newPath) => fs.linkSync(existing, newPath),
  unlinkSync: (path) => fs.unlinkSync(path),
  readFileSync: (path) => fs.readFileSync(path),
  mkdirSync(path) {
    fs.mkdirSync(path, { recursive: true });
  },
  statSync: (path) => fs.statSync(path),
  lstatSync: (path) => fs.lstatSync(path),
  mkdirExclusiveSync: (path) => fs.mkdirSync(path),
  rmdirSync: (path) => fs.rmdirSync(path),
  realpathSync: (path) => fs.realpathSync(path),
  touchIfSync(path, time, check) {
    let fd: number;
    try {
      fd = fs.openSync(path, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
      throw err;
    }
    try {
      if (!check(fs.fstatSync(fd))) return 'refused';
      fs.futimesSync(fd, time, time);
      return fs.fstatSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  },
  writeNewFileSync(path, data, options) {
    const fd = fs.openSync(path, 'wx', 0o600);
    try {
      if (options.chown !== undefined) {
        try {
          fs.fchownSync(fd, options.chown.uid, options.chown.gid);
        } catch (err) {
          if (!chownFailureAllowed(err, options.chown)) throw err;
        }
      }
      fs.fchmodSync(fd, options.mode);
      for (let done = 0; done < data.length;) done += fs.writeSync(fd, data, done, data.length - done, done);
      if (options.fsync) fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  },
  syncDirSync(path) {
    fs.fsyncSync(directoryFd(path));
  },
};

/**
 * Directory descriptors kept open for directory fsyncs: an atomic write into a directory it
 * wrote shortly before skips the open and close. A cached descriptor is used only while the
 * path still names the same directory (one stat), so a directory removed and re-created is
 * opened afresh. The cache is bounded, and a descriptor idle for DIR_FD_IDLE_MS is closed, so
 * a quiet process pins no file system (an unmount is never blocked for long).
 */
const DIR_FD_CACHE_SIZE = 32;
const DIR_FD_IDLE_MS = 250;
const dirFds = new Map<string, { fd: number; dev: number; ino: number; usedAt: number }>();
let sweeper: NodeJS.Timeout | null = null;

function directoryFd(path: string): number {
  const st = fs.statSync(path);
  const cached = dirFds.get(path);
  if (cached && cached.dev === st.dev && cached.ino === st.ino) {
    dirFds.delete(path); // re-insert: most recently used last
    cached.usedAt = Date.now();
    dirFds.set(path, cached);
    return cached.fd;
  }
  if (cached) {
    dirFds.delete(path);
    fs.closeSync(cached.fd);
  }
  const fd = fs.openSync(path, 'r');
  const opened = fs.fstatSync(fd); // what the descriptor names, even if the path changed since the stat
  if (dirFds.size >= DIR_FD_CACHE_SIZE) {
    const [oldest, entry] = dirFds.entries().next().value!;
    dirFds.delete(oldest);
    fs.closeSync(entry.fd);
  }
  dirFds.set(path, { fd, dev: opened.dev, ino: opened.ino, usedAt: Date.now() });
  sweeper ??= setTimeout(sweepDirFds, DIR_FD_IDLE_MS).unref();
  return fd;
}

/** Closes descriptors idle for DIR_FD_IDLE_MS; an fsync in flight on one keeps it (it was used just now). */
function sweepDirFds(): void {
  sweeper = null;
  const cutoff = Date.now() - DIR_FD_IDLE_MS;
  for (const [path, entry] of dirFds) {
    if (entry.usedAt > cutoff) continue;
    dirFds.delete(path);
    fs.close(entry.fd, () => undefined);
  }
  if (dirFds.size > 0) sweeper = setTimeout(sweepDirFds, DIR_FD_IDLE_MS).unref();
}

export function chownFailureAllowed(err: unknown, owner: FileOwner): boolean {
  if (owner.bestEffort !== true) return false;
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'ENOSYS') return true;
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  return !root && (code === 'EPERM' || code === 'EINVAL');
}

/** The numeric form of the string flags the engine uses, for adding O_DSYNC. */
function numericFlags(flags: string): number {
  const c = fs.constants;
  const table: Record<string, number> = {
    r: c.O_RDONLY,
    'r+': c.O_RDWR,
    w: c.O_WRONLY | c.O_CREAT | c.O_TRUNC,
    wx: c.O_WRONLY | c.O_CREAT | c.O_TRUNC | c.O_EXCL,
    a: c.O_WRONLY | c.O_CREAT | c.O_APPEND,
    'a+': c.O_RDWR | c.O_CREAT | c.O_APPEND,
  };
  const n = table[flags];
  if (n === undefined) throw new Error(`open flags ${JSON.stringify(flags)} have no numeric form here`);
  return n;
}

let current: FileSystem = nodeFileSystem;
let confined: FileSystem = confine(current);

/** The file system the engine uses right now, behind the confinement checks (see confine.ts). */
export function fsl(): FileSystem {
  return confined;
}

/** Swap the engine's file system (a recording harness, a fault injector). Returns the restore function. */
export function useFileSystem(next: FileSystem): () => void {
  const previous = current;
  current = next;
  confined = confine(next);
  return () => {
    current = previous;
    confined = confine(previous);
  };
}

/**
 * A whole document (store.json, a manifest, an index, a config), size-checked on its
 * descriptor before it is read: E_TOO_LARGE over `maxBytes`, E_NOT_REGULAR_FILE for a FIFO or
 * device, E_PATH_OUTSIDE_ROOT for a link that leaves the workspace.
 */
export function readDocument(path: string, maxBytes: number = MAX_DOCUMENT_BYTES): Promise<Buffer> {
  return readBounded((p, flags, mode, options) => confined.open(p, flags, mode, options), path, maxBytes);
}

export async function exists(path: string): Promise<boolean> {
  try {
    await current.lstat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}
