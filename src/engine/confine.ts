/**
 * `confine(fs)` puts the confinement checks (confine-paths.ts) in front of any FileSystem, so
 * the engine's one file-system layer enforces them for every caller: the parent of every path
 * opened or changed must resolve inside its root, the last component is opened without
 * following a link out of it, and documents are read bounded (bounded-read.ts).
 */
import * as nodeFs from 'node:fs';
import * as path from 'node:path';
import { MAX_DOCUMENT_BYTES, readBounded, readBoundedSync } from './bounded-read';
import { absolute, checkDescriptor, confineParentSync, refuseLinkOutsideSync } from './confine-paths';
import { errnoCode } from './errors';
import type { FileSystem, OpenFile, OpenOptions } from './fs-types';

/**
 * What the confinement check's fstat found right after a sync open: a caller that needs the
 * opened file's size or inode reads it here instead of asking the kernel again.
 */
const openedStats = new WeakMap<OpenFile, nodeFs.Stats>();

export function statAtOpen(file: OpenFile): nodeFs.Stats | undefined {
  return openedStats.get(file);
}

/** Puts confinement in front of `inner`. */
export function confine(inner: FileSystem): FileSystem {
  const checked = async (p: string, flags: string, mode: number | undefined, options: OpenOptions | undefined): Promise<OpenFile> => {
    const opts: OpenOptions = { ...options, noFollow: true, nonBlock: true };
    let target = absolute(p);
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
    let target = absolute(p);
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
      const st = file.statSync();
      checkDescriptor(p, st, file.fd);
      openedStats.set(file, st);
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

  // Two paths in one folder (a rename to a trash name beside a lock): that folder is resolved once.
  // `aSeen`: the caller's own look at `a` (not a symlink), which stands for the lstat here.
  const mutatingBoth = (a: string, b: string, aSeen?: nodeFs.Stats, bFresh?: boolean): void => {
    confineParentSync(a);
    if (aSeen === undefined || aSeen.isSymbolicLink()) refuseLinkOutsideSync(a);
    if (path.dirname(absolute(b)) !== path.dirname(absolute(a))) confineParentSync(b);
    if (bFresh !== true) refuseLinkOutsideSync(b);
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
    async rename(from, to) {
      mutatingBoth(from, to);
      return inner.rename(from, to);
    },
    async link(existing, newPath) {
      mutatingBoth(existing, newPath);
      return inner.link(existing, newPath);
    },
    async unlink(p) {
      mutating(p);
      return inner.unlink(p);
    },
    async truncate(p, length) {
      const file = await checked(p, 'r+', undefined, undefined);
      try {
        await file.truncate(length);
      } finally {
        await file.close();
      }
    },
    async mkdir(p) {
      mutating(p);
      return inner.mkdir(p);
    },
    async rmdir(p) {
      mutating(p);
      return inner.rmdir(p);
    },
    async readdir(p, maxEntries) {
      mutating(p);
      return inner.readdir(p, maxEntries);
    },
    async utimes(p, atime, mtime) {
      mutating(p);
      return inner.utimes(p, atime, mtime);
    },
    async syncDir(p) {
      mutating(p);
      return inner.syncDir(p);
    },
    createFileSync(p, data, mode, keepOpen) {
      confineParentSync(p);
      return inner.createFileSync(p, data, mode, keepOpen);
    },
    renameSync(from, to, fromSeen, toFresh) {
      mutatingBoth(from, to, fromSeen, toFresh);
      return inner.renameSync(from, to);
    },
    linkSync(existing, newPath) {
      mutatingBoth(existing, newPath);
      return inner.linkSync(existing, newPath);
    },
    unlinkSync(p, seen) {
      confineParentSync(p);
      if (seen === undefined || seen.isSymbolicLink()) refuseLinkOutsideSync(p);
      return inner.unlinkSync(p);
    },
    readFileSync(p) {
      return readBoundedSync(p, MAX_DOCUMENT_BYTES);
    },
    mkdirExclusiveSync(p) {
      mutating(p);
      return inner.mkdirExclusiveSync(p);
    },
    rmdirSync(p) {
      mutating(p);
      return inner.rmdirSync(p);
    },
    realpathSync: (p) => inner.realpathSync(p),
    touchIfSync(p, time, check) {
      mutating(p);
      return inner.touchIfSync(p, time, check);
    },
    writeNewFileSync(p, data, options) {
      confineParentSync(p);
      return inner.writeNewFileSync(p, data, options);
    },
    openSync: checkedSync,
    statSync: (p) => inner.statSync(p),
    lstatSync: (p) => inner.lstatSync(p),
    mkdirSync(p) {
      mutating(p);
      return inner.mkdirSync(p);
    },
    syncDirSync(p) {
      mutating(p);
      return inner.syncDirSync(p);
    },
  };
}
