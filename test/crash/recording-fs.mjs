// A FileSystem for the engine's `useFileSystem` hook that performs every operation for real on a
// scratch directory and logs each mutation (with its bytes) so crash states can be replayed.
import * as path from 'node:path';
import { FileTree, splitPath } from './model.mjs';

export class RecordingFileSystem {
  /**
   * @param root the scratch directory (absolute, real path)
   * @param inner the real file system (the engine's nodeFileSystem)
   */
  constructor(root, inner) {
    this.root = root;
    this.inner = inner;
    const { tree, nextIno } = FileTree.fromDisk(root);
    this.snapshot = tree;
    this.tree = tree.clone(); // the tree as the OS sees it: every recorded op applied
    this.nextIno = nextIno;
    this.ops = [];
    this.umask = process.umask();
    this.unrecorded = new Set();
  }

  /** Marks the moment an engine promise resolved: what it acknowledged is owed from here on. */
  ack(label, value) {
    this.ops.push({ kind: 'ack', label, value });
  }

  record(op) {
    this.ops.push(op);
    this.tree.apply(op);
  }

  rel(p) {
    const rel = path.relative(this.root, path.resolve(p)).split(path.sep).join('/');
    if (rel.startsWith('..') || path.isAbsolute(rel)) throw new Error(`recording: ${p} is outside the scratch directory ${this.root}`);
    return rel;
  }

  where(p) {
    const rel = this.rel(p);
    const parts = splitPath(rel);
    const name = parts.pop();
    return { rel, name, dir: this.tree.lookup(parts.join('/')), ino: this.tree.lookup(rel) };
  }

  async open(p, flags, mode, options) {
    const at = this.where(p);
    return this.opened(at, flags, mode, options, await this.inner.open(p, flags, mode, options));
  }

  openSync(p, flags, mode, options) {
    const at = this.where(p);
    return this.opened(at, flags, mode, options, this.inner.openSync(p, flags, mode, options));
  }

  opened(at, flags, mode, options, handle) {
    if (typeof flags !== 'string') throw new Error(`recording: numeric open flags are not supported (${flags})`);
    let ino = at.ino;
    if (ino === undefined && /[wa]/.test(flags)) {
      ino = this.nextIno++;
      this.record({ kind: 'create', path: at.rel, dir: at.dir, name: at.name, ino, mode: (mode ?? 0o666) & ~this.umask });
    } else if (flags.includes('w') && this.tree.inodes.get(ino)?.data?.length > 0) {
      this.record({ kind: 'truncate', path: at.rel, ino, length: 0 });
    }
    return forwardUnknown(new RecordingOpenFile(this, handle, at.rel, ino, flags.includes('a'), options?.dsync === true), handle, (m) =>
      this.unrecorded.add(`OpenFile.${m}`),
    );
  }

  readFile(p) {
    return this.inner.readFile(p);
  }
  readdir(p) {
    return this.inner.readdir(p);
  }
  stat(p) {
    return this.inner.stat(p);
  }
  lstat(p) {
    return this.inner.lstat(p);
  }
  realpath(p) {
    return this.inner.realpath(p);
  }
  readFileSync(p) {
    return this.inner.readFileSync(p);
  }
  statSync(p) {
    return this.inner.statSync(p);
  }
  lstatSync(p) {
    return this.inner.lstatSync(p);
  }

  async rename(from, to) {
    const src = this.where(from);
    const dst = this.where(to);
    await this.inner.rename(from, to);
    this.record({
      kind: 'rename',
      path: `${src.rel} -> ${dst.rel}`,
      srcDir: src.dir,
      srcName: src.name,
      dstDir: dst.dir,
      dstName: dst.name,
      ino: src.ino,
      replaced: dst.ino,
    });
  }

  async link(existing, newPath) {
    const src = this.where(existing);
    const dst = this.where(newPath);
    await this.inner.link(existing, newPath);
    this.record({ kind: 'link', path: `${src.rel} => ${dst.rel}`, dir: dst.dir, name: dst.name, ino: src.ino });
  }

  async unlink(p) {
    const at = this.where(p);
    await this.inner.unlink(p);
    this.record({ kind: 'unlink', path: at.rel, dir: at.dir, name: at.name, ino: at.ino });
  }

  createFileSync(p, data, mode, keepOpen) {
    const at = this.where(p);
    const kept = this.inner.createFileSync(p, data, mode, keepOpen);
    this.recordNewFile(at, data, mode & ~this.umask & 0o7777);
    // A lock keeps this descriptor only to read and stat its own file: nothing to record.
    return kept;
  }

  /** A file created whole: its create and its one write. */
  recordNewFile(at, data, mode) {
    const ino = this.nextIno++;
    this.record({ kind: 'create', path: at.rel, dir: at.dir, name: at.name, ino, mode });
    if (data.length) this.record({ kind: 'write', path: at.rel, ino, offset: 0, bytes: Buffer.from(data) });
    return ino;
  }

  /** Exclusive create, mode, whole write and an optional fsync, as fs.ts does them in one call. */
  writeNewFileSync(p, data, options) {
    const at = this.where(p);
    this.inner.writeNewFileSync(p, data, options);
    const ino = this.recordNewFile(at, data, options.mode & 0o7777);
    if (options.fsync) this.record({ kind: 'fsync', path: at.rel, ino, from: this.ops.length, data: true });
  }

  renameSync(from, to) {
    const src = this.where(from);
    const dst = this.where(to);
    this.inner.renameSync(from, to);
    this.record({
      kind: 'rename',
      path: `${src.rel} -> ${dst.rel}`,
      srcDir: src.dir,
      srcName: src.name,
      dstDir: dst.dir,
      dstName: dst.name,
      ino: src.ino,
      replaced: dst.ino,
    });
  }

  linkSync(existing, newPath) {
    const src = this.where(existing);
    const dst = this.where(newPath);
    this.inner.linkSync(existing, newPath);
    this.record({ kind: 'link', path: `${src.rel} => ${dst.rel}`, dir: dst.dir, name: dst.name, ino: src.ino });
  }

  unlinkSync(p) {
    const at = this.where(p);
    this.inner.unlinkSync(p);
    this.record({ kind: 'unlink', path: at.rel, dir: at.dir, name: at.name, ino: at.ino });
  }

  async truncate(p, length) {
    const at = this.where(p);
    await this.inner.truncate(p, length);
    this.record({ kind: 'truncate', path: at.rel, ino: at.ino, length });
  }

  async mkdir(p) {
    const missing = this.missingDirs(p);
    await this.inner.mkdir(p);
    this.recordMkdirs(missing);
  }

  mkdirSync(p) {
    const missing = this.missingDirs(p);
    this.inner.mkdirSync(p);
    this.recordMkdirs(missing);
  }

  /** The real mkdir is recursive: one mkdir is recorded per directory it actually creates. */
  missingDirs(p) {
    const parts = splitPath(this.rel(p));
    const missing = [];
    for (let i = 1; i <= parts.length; i++) {
      const rel = parts.slice(0, i).join('/');
      if (this.tree.lookup(rel) === undefined) missing.push({ rel, parent: parts.slice(0, i - 1).join('/'), name: parts[i - 1] });
    }
    return missing;
  }

  recordMkdirs(missing) {
    for (const m of missing)
      this.record({ kind: 'mkdir', path: m.rel, dir: this.tree.lookup(m.parent), name: m.name, ino: this.nextIno++, mode: 0o777 & ~this.umask });
  }

  async rmdir(p) {
    const at = this.where(p);
    await this.inner.rmdir(p);
    this.record({ kind: 'rmdir', path: at.rel, dir: at.dir, name: at.name, ino: at.ino });
  }

  async utimes(p, atime, mtime) {
    const at = this.where(p);
    await this.inner.utimes(p, atime, mtime);
    this.record({ kind: 'utimes', path: at.rel, ino: at.ino, mtimeMs: new Date(mtime).getTime() });
  }

  async syncDir(p) {
    const at = this.where(p);
    await this.inner.syncDir(p);
    this.record({ kind: 'syncdir', path: at.rel || '.', ino: at.ino });
  }

  syncDirSync(p) {
    const at = this.where(p);
    this.inner.syncDirSync(p);
    this.record({ kind: 'syncdir', path: at.rel || '.', ino: at.ino });
  }
}

class RecordingOpenFile {
  constructor(fsys, handle, rel, ino, append, dsync) {
    this.fsys = fsys;
    this.handle = handle;
    this.rel = rel;
    this.ino = ino;
    this.append = append;
    this.dsync = dsync; // O_DSYNC: every write is durable when it returns
    this.position = 0;
  }

  get path() {
    return this.handle.path;
  }

  read(buffer, offset, length, position) {
    return this.handle.read(buffer, offset, length, position);
  }
  readSync(buffer, offset, length, position) {
    return this.handle.readSync(buffer, offset, length, position);
  }
  stat() {
    return this.handle.stat();
  }
  statSync() {
    return this.handle.statSync();
  }
  close() {
    return this.handle.close();
  }
  closeSync() {
    return this.handle.closeSync();
  }

  async write(buffer, offset, length, position) {
    // O_APPEND writes go to the end whatever the position (Linux ignores it).
    const at = this.append ? (await this.handle.stat()).size : (position ?? this.position);
    await this.handle.write(buffer, offset, length, position);
    this.wrote(buffer, offset, length, at);
  }

  writeSync(buffer, offset, length, position) {
    const at = this.append ? this.handle.statSync().size : (position ?? this.position);
    this.handle.writeSync(buffer, offset, length, position);
    this.wrote(buffer, offset, length, at);
  }

  wrote(buffer, offset, length, at) {
    this.position = at + length;
    const bytes = Buffer.from(buffer.subarray(offset, offset + length));
    this.fsys.record({ kind: 'write', path: this.rel, ino: this.ino, offset: at, bytes });
    if (this.dsync) this.fsys.record({ kind: 'fsync', path: this.rel, ino: this.ino, data: true });
  }

  // An fsync is recorded when it returns, but it covers only what was written before it
  // started: `from` is the op count at its start. Writes of another descriptor (another
  // writer) recorded while it ran are not credited to it.
  async sync() {
    const from = this.fsys.ops.length;
    await this.handle.sync();
    this.synced(false, from);
  }
  syncSync() {
    const from = this.fsys.ops.length;
    this.handle.syncSync();
    this.synced(false, from);
  }
  async datasync() {
    const from = this.fsys.ops.length;
    await this.handle.datasync();
    this.synced(true, from);
  }
  datasyncSync() {
    const from = this.fsys.ops.length;
    this.handle.datasyncSync();
    this.synced(true, from);
  }

  synced(data, from) {
    this.fsys.record({ kind: 'fsync', path: this.rel, ino: this.ino, from, ...(data ? { data: true } : {}) });
  }

  async truncate(length) {
    await this.handle.truncate(length);
    this.truncated(length);
  }
  truncateSync(length) {
    this.handle.truncateSync(length);
    this.truncated(length);
  }
  truncated(length) {
    this.fsys.record({ kind: 'truncate', path: this.rel, ino: this.ino, length });
  }

  async chmod(mode) {
    await this.handle.chmod(mode);
    this.chmodded(mode);
  }
  chmodSync(mode) {
    this.handle.chmodSync(mode);
    this.chmodded(mode);
  }
  chmodded(mode) {
    this.fsys.record({ kind: 'chmod', path: this.rel, ino: this.ino, mode: mode & 0o7777 });
  }

  async utimes(atime, mtime) {
    await this.handle.utimes(atime, mtime);
    this.fsys.record({ kind: 'utimes', path: this.rel, ino: this.ino, mtimeMs: new Date(mtime).getTime() });
  }
}

/**
 * Forwards any method the engine's FileSystem grew after this recorder was written, and notes
 * it: an unrecorded mutation would make replayed states wrong, so the run is flagged.
 */
export function forwardUnknown(target, inner, onUnknown) {
  return new Proxy(target, {
    get(t, key, receiver) {
      if (key in t || typeof key === 'symbol') return Reflect.get(t, key, receiver);
      const value = inner[key];
      if (typeof value !== 'function') return value;
      return (...args) => {
        onUnknown(String(key));
        return value.apply(inner, args);
      };
    },
  });
}
