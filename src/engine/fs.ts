/**
 * The one door through which the engine touches the disk. Every write, fsync, rename, link,
 * unlink, truncate and mkdir passes here, so a harness can swap in a recording file system
 * (see `useFileSystem`) and replay the crash states a power loss could leave behind.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { confine, MAX_DOCUMENT_BYTES, readBounded } from './confine';

export interface OpenFile {
  readonly path: string;
  /** The descriptor number, where there is one (lets confinement ask the kernel where the file really is). */
  readonly fd?: number;
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<number>;
  /** Writes all of `buffer[offset, offset+length)` at `position` (null: at the current offset / append). */
  write(buffer: Buffer, offset: number, length: number, position: number | null): Promise<void>;
  sync(): Promise<void>;
  datasync(): Promise<void>;
  truncate(length: number): Promise<void>;
  chmod(mode: number): Promise<void>;
  /** Sets times on the open file itself, so a check-then-touch cannot touch a replacement at the same path. */
  utimes(atime: Date, mtime: Date): Promise<void>;
  stat(): Promise<fs.Stats>;
  close(): Promise<void>;
}

export interface OpenOptions {
  /**
   * O_DSYNC: each write returns only once its data is durable, as if followed by fdatasync,
   * in one call instead of two (one thread-pool round trip per durable write, not two).
   */
  dsync?: boolean;
  /** O_NOFOLLOW: the last component is never followed if it is a symlink (ELOOP instead). */
  noFollow?: boolean;
  /** O_NONBLOCK: opening a FIFO or device never waits (regular files are unaffected). */
  nonBlock?: boolean;
}

export interface FileSystem {
  open(path: string, flags: string, mode?: number, options?: OpenOptions): Promise<OpenFile>;
  readFile(path: string): Promise<Buffer>;
  rename(from: string, to: string): Promise<void>;
  link(existing: string, newPath: string): Promise<void>;
  unlink(path: string): Promise<void>;
  truncate(path: string, length: number): Promise<void>;
  mkdir(path: string): Promise<void>;
  rmdir(path: string): Promise<void>;
  readdir(path: string): Promise<fs.Dirent[]>;
  stat(path: string): Promise<fs.Stats>;
  lstat(path: string): Promise<fs.Stats>;
  realpath(path: string): Promise<string>;
  utimes(path: string, atime: Date, mtime: Date): Promise<void>;
  /** fsync of a directory, so a rename or create inside it survives power loss. May throw EINVAL/EISDIR/EPERM where unsupported. */
  syncDir(path: string): Promise<void>;
  /**
   * Synchronous forms for tiny lock-file operations: a lock is taken and released in a few
   * syscalls, where a thread-pool round trip per step would cost more than the work, and an
   * exclusive create that writes its content at once leaves almost no window for an empty
   * lock. Also used by process-exit hooks, where nothing async can run.
   */
  /** Exclusive create (`wx`) of a file holding `data`; throws EEXIST when it exists. */
  createFileSync(path: string, data: Buffer, mode: number): void;
  renameSync(from: string, to: string): void;
  linkSync(existing: string, newPath: string): void;
  unlinkSync(path: string): void;
  readFileSync(path: string): Buffer;
}

class NodeOpenFile implements OpenFile {
  constructor(readonly path: string, private readonly handle: fsp.FileHandle) {}
  get fd(): number { return this.handle.fd; }
  async read(buffer: Buffer, offset: number, length: number, position: number): Promise<number> {
    const { bytesRead } = await this.handle.read(buffer, offset, length, position);
    return bytesRead;
  }
  async write(buffer: Buffer, offset: number, length: number, position: number | null): Promise<void> {
    let done = 0;
    while (done < length) {
      const at = position === null ? null : position + done;
      const { bytesWritten } = await this.handle.write(buffer, offset + done, length - done, at);
      if (bytesWritten <= 0) throw Object.assign(new Error(`short write to ${this.path}`), { code: 'EIO' });
      done += bytesWritten;
    }
  }
  sync(): Promise<void> { return this.handle.sync(); }
  datasync(): Promise<void> { return this.handle.datasync(); }
  truncate(length: number): Promise<void> { return this.handle.truncate(length); }
  chmod(mode: number): Promise<void> { return this.handle.chmod(mode); }
  utimes(atime: Date, mtime: Date): Promise<void> { return this.handle.utimes(atime, mtime); }
  stat(): Promise<fs.Stats> { return this.handle.stat(); }
  close(): Promise<void> { return this.handle.close(); }
}

export const nodeFileSystem: FileSystem = {
  async open(path, flags, mode, options) {
    const c = fs.constants;
    const extra = (options?.dsync ? c.O_DSYNC : 0) | (options?.noFollow ? c.O_NOFOLLOW ?? 0 : 0) | (options?.nonBlock ? c.O_NONBLOCK ?? 0 : 0);
    const how = extra !== 0 ? numericFlags(flags) | extra : flags;
    return new NodeOpenFile(path, await fsp.open(path, how, mode));
  },
  readFile: (path) => fsp.readFile(path),
  rename: (from, to) => fsp.rename(from, to),
  link: (existing, newPath) => fsp.link(existing, newPath),
  unlink: (path) => fsp.unlink(path),
  truncate: (path, length) => fsp.truncate(path, length),
  async mkdir(path) { await fsp.mkdir(path, { recursive: true }); },
  rmdir: (path) => fsp.rmdir(path),
  readdir: (path) => fsp.readdir(path, { withFileTypes: true }),
  stat: (path) => fsp.stat(path),
  lstat: (path) => fsp.lstat(path),
  realpath: (path) => fsp.realpath(path),
  utimes: (path, atime, mtime) => fsp.utimes(path, atime, mtime),
  async syncDir(path) {
    const handle = await fsp.open(path, 'r');
    try { await handle.sync(); } finally { await handle.close(); }
  },
  createFileSync(path, data, mode) {
    const fd = fs.openSync(path, 'wx', mode);
    try {
      for (let done = 0; done < data.length; ) done += fs.writeSync(fd, data, done, data.length - done, done);
    } finally {
      fs.closeSync(fd);
    }
  },
  renameSync: (from, to) => fs.renameSync(from, to),
  linkSync: (existing, newPath) => fs.linkSync(existing, newPath),
  unlinkSync: (path) => fs.unlinkSync(path),
  readFileSync: (path) => fs.readFileSync(path),
};

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
  return () => { current = previous; confined = confine(previous); };
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
