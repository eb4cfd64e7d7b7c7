/**
 * The shape of the engine's one file-system layer (fs.ts): what every implementation offers —
 * Node's, the confining wrapper (confine.ts), the crash explorer's recording one — in a file
 * of its own so the wrapper and the layer need not import each other.
 */
import type * as fs from 'node:fs';

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
  chown(uid: number, gid: number): Promise<void>;
  /** Sets times on the open file itself, so a check-then-touch cannot touch a replacement at the same path. */
  utimes(atime: Date, mtime: Date): Promise<void>;
  stat(): Promise<fs.Stats>;
  close(): Promise<void>;
  /**
   * The same operations, synchronous: for the sync forms (appendSync, atomicWriteFileSync),
   * and inside the async forms where a call is microseconds and a thread-pool round trip
   * would cost more than the work (only flushes go to the pool).
   */
  readSync(buffer: Buffer, offset: number, length: number, position: number): number;
  writeSync(buffer: Buffer, offset: number, length: number, position: number | null): void;
  syncSync(): void;
  datasyncSync(): void;
  truncateSync(length: number): void;
  chmodSync(mode: number): void;
  statSync(): fs.Stats;
  closeSync(): void;
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
  /** At most `maxEntries` entries when given, read a buffer at a time (a folder of a million names costs no more). */
  readdir(path: string, maxEntries?: number): Promise<fs.Dirent[]>;
  stat(path: string): Promise<fs.Stats>;
  lstat(path: string): Promise<fs.Stats>;
  realpath(path: string): Promise<string>;
  utimes(path: string, atime: Date, mtime: Date): Promise<void>;
  /** fsync of a directory, so a rename or create inside it survives power loss. May throw EINVAL/EISDIR/EPERM where unsupported. */
  syncDir(path: string): Promise<void>;
  /**
   * Synchronous forms: tiny operations (a lock's create and release, an atomic write's open,
   * write, close and rename) cost less than a thread-pool round trip, an exclusive create that
   * writes its content at once leaves almost no window for an empty lock, process-exit hooks
   * cannot run anything async, and the sync forms of the API use nothing else.
   */
  /**
   * Exclusive create (`wx`) of a file holding `data`; throws EEXIST when it exists. With
   * `keepOpen`, returns the created descriptor still open, where the implementation can keep
   * one (a lock holds its file open from create to release: its inode cannot be freed and its
   * number reused meanwhile); the caller closes it. Undefined means: nothing was kept.
   */
  createFileSync(path: string, data: Buffer, mode: number, keepOpen?: boolean): OpenFile | undefined | void;
  openSync(path: string, flags: string, mode?: number, options?: OpenOptions): OpenFile;
  /**
   * `fromSeen`: what the caller found at `from` just before (the fstat of a descriptor it opened
   * there without following links, or an lstat); when that is not a symlink, confinement needs
   * no lstat of its own to know `from` is not a link out of the workspace. `toFresh`: `to` is a
   * name the caller just made up from a per-process random id (a lock's trash name), so no link
   * can wait there, and a rename would replace a link rather than follow it anyway: confinement
   * skips its lstat of `to` (its folder is still checked).
   */
  renameSync(from: string, to: string, fromSeen?: fs.Stats, toFresh?: boolean): void;
  linkSync(existing: string, newPath: string): void;
  /** `seen`: the caller's lstat of `path` just before, as renameSync's `fromSeen`. */
  unlinkSync(path: string, seen?: fs.Stats): void;
  readFileSync(path: string): Buffer;
  /** mkdir -p. */
  mkdirSync(path: string): void;
  statSync(path: string): fs.Stats;
  lstatSync(path: string): fs.Stats;
  /** mkdir without -p: throws EEXIST when anything is at `path` (the mkdir lock proper-lockfile takes). */
  mkdirExclusiveSync(path: string): void;
  rmdirSync(path: string): void;
  realpathSync(path: string): string;
  /**
   * Sets the times of the inode `path` names, through a descriptor, only when `check` accepts
   * that inode's stat; returns the stat after the touch, 'refused', or 'gone'. A replacement
   * at the same path is never touched unless it is the one that was checked.
   */
  touchIfSync(path: string, time: Date, check: (st: fs.Stats) => boolean): fs.Stats | 'refused' | 'gone';
  /** Exclusive create of a file holding `data`, with `mode` set exactly (not masked by the umask), optional owner, and optional fsync. */
  writeNewFileSync(path: string, data: Uint8Array, options: { mode: number; chown?: FileOwner; fsync: boolean }): void;
  syncDirSync(path: string): void;
}

export interface FileOwner {
  uid: number;
  gid: number;
  /** Carry on when the owner cannot be changed (EPERM/EINVAL for a non-root process, ENOSYS), as chown(1) users of write-file-atomic expect. */
  bestEffort?: boolean;
}
