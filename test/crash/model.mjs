// An in-memory file tree of inodes and directory entries. A crash state is built by applying a
// chosen subset of recorded operations to the pre-operation snapshot, then written to disk.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';

export const ROOT_INO = 0;

export class FileTree {
  constructor() {
    /** ino -> { type: 'file'|'dir', data?: Buffer, entries?: Map<string, number>, mode, mtimeMs? } */
    this.inodes = new Map([[ROOT_INO, { type: 'dir', entries: new Map(), mode: 0o755 }]]);
  }

  clone() {
    const copy = new FileTree();
    copy.inodes = new Map();
    // File data is shared until written (copy-on-write), so building many states stays cheap.
    for (const [ino, node] of this.inodes) {
      copy.inodes.set(ino, { ...node, owned: false, entries: node.entries && new Map(node.entries) });
    }
    return copy;
  }

  /** The inode a path (relative to the root, '/'-separated) names, or undefined. */
  lookup(rel) {
    let ino = ROOT_INO;
    for (const name of splitPath(rel)) {
      const node = this.inodes.get(ino);
      if (node?.type !== 'dir' || !node.entries.has(name)) return undefined;
      ino = node.entries.get(name);
    }
    return ino;
  }

  ensure(ino, type, mode) {
    let node = this.inodes.get(ino);
    if (!node) {
      node = type === 'dir' ? { type, entries: new Map(), mode } : { type, data: Buffer.alloc(0), mode, owned: true };
      this.inodes.set(ino, node);
    }
    return node;
  }

  /** Applies one recorded operation; `tear` replaces a write by a torn version of it. */
  apply(op, tear) {
    switch (op.kind) {
      case 'create': this.ensure(op.ino, 'file', op.mode); this.dir(op.dir).entries.set(op.name, op.ino); break;
      case 'mkdir': this.ensure(op.ino, 'dir', op.mode); this.dir(op.dir).entries.set(op.name, op.ino); break;
      case 'link': this.dir(op.dir).entries.set(op.name, op.ino); break;
      case 'unlink':
      case 'rmdir': {
        const entries = this.dir(op.dir).entries;
        if (entries.get(op.name) === op.ino) entries.delete(op.name);
        break;
      }
      case 'rename': {
        const from = this.dir(op.srcDir).entries;
        if (from.get(op.srcName) === op.ino) from.delete(op.srcName);
        this.dir(op.dstDir).entries.set(op.dstName, op.ino);
        break;
      }
      case 'write': tear ? this.writeTorn(op, tear) : this.write(op.ino, op.offset, op.bytes); break;
      case 'truncate': this.truncate(op.ino, op.length); break;
      case 'chmod': this.ensure(op.ino, 'file', op.mode).mode = op.mode; break;
      case 'utimes': this.ensure(op.ino, 'file', 0o644).mtimeMs = op.mtimeMs; break;
      default: break; // fsync, syncdir, ack: no effect on content
    }
  }

  dir(ino) {
    return this.ensure(ino, 'dir', 0o755);
  }

  write(ino, offset, bytes) {
    const node = this.ensure(ino, 'file', 0o644);
    const end = offset + bytes.length;
    if (end > node.data.length) node.data = Buffer.concat([node.data, Buffer.alloc(end - node.data.length)]);
    else if (!node.owned) node.data = Buffer.from(node.data);
    node.owned = true;
    bytes.copy(node.data, offset);
  }

  truncate(ino, length) {
    const node = this.ensure(ino, 'file', 0o644);
    if (length <= node.data.length) {
      node.data = node.data.subarray(0, length);
      node.owned = false; // a view of bytes another state may share
    } else {
      node.data = Buffer.concat([node.data, Buffer.alloc(length - node.data.length)]);
      node.owned = true;
    }
  }

  /**
   * A write interrupted by power loss: only `tear.pieces` (indexes of `granularity`-aligned
   * pieces) reached the disk. Without zero-fill the file ends after the last persisted piece
   * that extended it; with zero-fill the size was updated but unwritten new blocks read as zeros.
   */
  writeTorn(op, tear) {
    const node = this.ensure(op.ino, 'file', 0o644);
    const oldSize = node.data.length;
    const pieces = tornPieces(op.offset, op.bytes.length, tear.granularity);
    let end = oldSize;
    for (const i of tear.pieces) {
      const [from, to] = pieces[i];
      this.write(op.ino, from, op.bytes.subarray(from - op.offset, to - op.offset));
      end = Math.max(end, to);
    }
    if (tear.zeroFill) end = Math.max(end, op.offset + op.bytes.length);
    this.truncate(op.ino, end);
  }

  /** A digest of everything reachable from the root: names, types, modes and content. */
  digest() {
    const h = createHash('sha256');
    const walk = (ino, rel) => {
      const node = this.inodes.get(ino);
      h.update(`${rel}\0${node.type}\0${node.mode}\0${ino}\0`);
      if (node.type === 'dir') {
        for (const name of [...node.entries.keys()].sort()) walk(node.entries.get(name), `${rel}/${name}`);
      } else {
        h.update(node.data);
      }
    };
    walk(ROOT_INO, '');
    return h.digest('hex');
  }

  /** Reachable paths with their inode, root first (for listings and materialising). */
  list() {
    const out = [];
    const walk = (ino, rel) => {
      const node = this.inodes.get(ino);
      out.push({ rel, ino, node });
      if (node.type === 'dir') for (const name of [...node.entries.keys()].sort()) walk(node.entries.get(name), rel ? `${rel}/${name}` : name);
    };
    walk(ROOT_INO, '');
    return out;
  }

  /**
   * Writes the tree under `dir` (which must exist and be empty). Every file gets the mtime
   * `mtimeMs`: the machine comes back up a while after the crash, so heartbeats are old.
   */
  materialise(dir, { mtimeMs = Date.now() - 3600_000 } = {}) {
    const written = new Map();
    const dirs = [];
    for (const { rel, ino, node } of this.list()) {
      if (rel === '') continue;
      const target = path.join(dir, ...rel.split('/'));
      if (node.type === 'dir') {
        fs.mkdirSync(target);
        dirs.push({ target, node });
      } else if (written.has(ino)) {
        fs.linkSync(written.get(ino), target);
      } else {
        fs.writeFileSync(target, node.data);
        fs.chmodSync(target, node.mode & 0o7777);
        const mtime = new Date(mtimeMs);
        fs.utimesSync(target, mtime, mtime);
        written.set(ino, target);
      }
    }
    for (const { target, node } of dirs.reverse()) fs.chmodSync(target, node.mode & 0o7777);
  }

  /** The pre-operation snapshot of a real directory: every file and directory, all durable. */
  static fromDisk(dir) {
    const tree = new FileTree();
    const byDevIno = new Map();
    let next = 1;
    const walk = (abs, ino) => {
      for (const name of fs.readdirSync(abs).sort()) {
        const child = path.join(abs, name);
        const st = fs.lstatSync(child);
        const key = `${st.dev}:${st.ino}`;
        let childIno = byDevIno.get(key);
        if (childIno === undefined) {
          childIno = next++;
          byDevIno.set(key, childIno);
          if (st.isDirectory()) tree.inodes.set(childIno, { type: 'dir', entries: new Map(), mode: st.mode & 0o7777 });
          else if (st.isFile()) tree.inodes.set(childIno, { type: 'file', data: fs.readFileSync(child), mode: st.mode & 0o7777, mtimeMs: st.mtimeMs });
          else throw new Error(`snapshot: ${child} is neither a file nor a directory`);
        }
        tree.inodes.get(ino).entries.set(name, childIno);
        if (st.isDirectory()) walk(child, childIno);
      }
    };
    walk(dir, ROOT_INO);
    return { tree, nextIno: next };
  }

  toJSON() {
    return [...this.inodes].map(([ino, n]) => ({
      ino, type: n.type, mode: n.mode, mtimeMs: n.mtimeMs,
      data: n.data?.toString('base64'), entries: n.entries && [...n.entries],
    }));
  }

  static fromJSON(rows) {
    const tree = new FileTree();
    tree.inodes = new Map(rows.map((r) => [r.ino, r.type === 'dir'
      ? { type: 'dir', mode: r.mode, entries: new Map(r.entries) }
      : { type: 'file', mode: r.mode, mtimeMs: r.mtimeMs, data: Buffer.from(r.data, 'base64') }]));
    return tree;
  }
}

/** The `granularity`-aligned (by file offset) pieces a write of `length` bytes at `offset` spans. */
export function tornPieces(offset, length, granularity) {
  const pieces = [];
  let at = offset;
  const end = offset + length;
  while (at < end) {
    const next = Math.min(end, (Math.floor(at / granularity) + 1) * granularity);
    pieces.push([at, next]);
    at = next;
  }
  return pieces;
}

export function splitPath(rel) {
  return rel.split('/').filter((s) => s !== '' && s !== '.');
}
