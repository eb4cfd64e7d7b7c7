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

/** store.ts's STORE_DIR_NAME; repeated here because the store reaches the disk through this layer. */
const STORE_DIR_NAME = '.ledgerlock';

const scope = new AsyncLocalStorage<string>();

/** Runs `fn` (and everything it starts) with `root` as the root of paths that lie under it and in no store. */
export function withinRoot<T>(root: string, fn: () => T): T {
  return scope.run(path.resolve(root), fn);
}

/**
 * path.resolve(p), returning `p` itself when it is already absolute and normal (the engine's
 * paths nearly always are): every confined call resolves its paths, several times per release.
 */
let lastAbsolute = '';

export function absolute(p: string): string {
  // The same path comes back several times per step (parent check, root, link check): one compare.
  if (p === lastAbsolute) return p;
  if (
    process.platform !== 'win32' &&
    p.charCodeAt(0) === 47 &&
    (p.length === 1 || p.charCodeAt(p.length - 1) !== 47) &&
    !p.includes('//') &&
    !p.includes('/./') &&
    !p.includes('/../') &&
    !p.endsWith('/.') &&
    !p.endsWith('/..')
  ) {
    lastAbsolute = p;
    return p;
  }
  return path.resolve(p);
}

/** The root `p` must stay inside; undefined: only its last component is checked (against its own folder). */
function rootOf(p: string): string | undefined {
  const abs = absolute(p);
  const store = storeRootOf(abs);
  if (store !== null) return store;
  const scoped = scope.getStore();
  return scoped !== undefined && lexicallyInside(scoped, abs) ? scoped : undefined;
}

/** The workspace holding the store `abs` lies in (its last `.ledgerlock` segment), or null. */
function storeRootOf(abs: string): string | null {
  const marker = path.sep + STORE_DIR_NAME;
  for (let at = abs.lastIndexOf(marker); at >= 0; at = at === 0 ? -1 : abs.lastIndexOf(marker, at - 1)) {
    const end = at + marker.length;
    if (end === abs.length || abs[end] === path.sep) return at === 0 ? path.sep : abs.slice(0, at);
  }
  return null;
}

/** lexicallyInside for paths already absolute and normalised (real paths): a prefix compare. */
function realInside(realRoot: string, real: string): boolean {
  if (process.platform === 'win32') return lexicallyInside(realRoot, real); // case-insensitive there
  return real === realRoot || real.startsWith(realRoot.endsWith(path.sep) ? realRoot : realRoot + path.sep);
}

export function lexicallyInside(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

function outsideRoot(p: string, target: string, root: string): LedgerlockError {
  return new LedgerlockError(
    ErrorCode.PathOutsideRoot,
    `${p} links outside the workspace (to ${target}, outside ${root}); Ledgerlock shows it but never reads, writes or removes through it`,
    { path: p, target, root },
  );
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
  const abs = absolute(p);
  const root = rootOf(abs);
  // No root: only the last component is checked. The root itself is where the caller chose to work.
  if (root === undefined || root === abs) return;
  const parent = path.dirname(abs);
  const realParent = confinedDirRealpath(parent) ?? realpathOfDeepestSync(parent);
  if (!realInside(realRootSync(root), realParent)) throw outsideRoot(parent, realParent, root);
  rememberConfinedDir(parent, realParent);
}

/**
 * Parent directories resolved before, each pinned by a descriptor (Linux): the real path of a
 * parent is then two syscalls at any depth instead of a readlink per component. While the
 * descriptor is open the directory's inode cannot be freed and reused, so a stat of the parent
 * path naming that device and inode proves the path resolves to that very directory now, and
 * /proc/self/fd gives where that directory really is now (a directory moved out of the root
 * reads as its new place, a removed one as "(deleted)"). That is the realpath the full walk would
 * compute, so the rule is unchanged (docs/ARCHITECTURE.md, "Confinement"). Bounded, and a
 * descriptor idle for CONFINED_DIR_IDLE_MS is closed so a quiet process pins no file system.
 */
const CONFINED_DIR_CACHE_SIZE = 32;
const CONFINED_DIR_IDLE_MS = 1000;
const confinedDirs = new Map<string, { fd: number; dev: number; ino: number; usedAt: number }>();
let confinedSweeper: NodeJS.Timeout | null = null;

/** The real path of `dir` through its pinned descriptor, or undefined when none matches (then walk). */
function confinedDirRealpath(dir: string): string | undefined {
  const known = confinedDirs.get(dir);
  if (known === undefined) return undefined;
  let real: string;
  try {
    const st = nodeFs.statSync(dir);
    if (st.dev !== known.dev || st.ino !== known.ino) throw new Error('another directory');
    real = nodeFs.readlinkSync(`/proc/self/fd/${known.fd}`);
  } catch {
    forgetConfinedDir(dir);
    return undefined;
  }
  if (!real.startsWith('/') || real.endsWith(' (deleted)')) {
    forgetConfinedDir(dir);
    return undefined;
  }
  known.usedAt = Date.now();
  return real;
}

function rememberConfinedDir(dir: string, realDir: string): void {
  if (process.platform !== 'linux' || confinedDirs.has(dir)) return;
  let fd: number;
  try {
    fd = nodeFs.openSync(realDir, nodeFs.constants.O_RDONLY | nodeFs.constants.O_DIRECTORY | nodeFs.constants.O_NOFOLLOW);
  } catch {
    return; // missing yet, or not a directory: the walk runs next time
  }
  let opened: nodeFs.Stats;
  try {
    opened = nodeFs.fstatSync(fd);
  } catch {
    nodeFs.closeSync(fd);
    return;
  }
  if (confinedDirs.size >= CONFINED_DIR_CACHE_SIZE) forgetConfinedDir(confinedDirs.keys().next().value!);
  confinedDirs.set(dir, { fd, dev: opened.dev, ino: opened.ino, usedAt: Date.now() });
  confinedSweeper ??= setTimeout(sweepConfinedDirs, CONFINED_DIR_IDLE_MS).unref();
}

function forgetConfinedDir(dir: string): void {
  const known = confinedDirs.get(dir);
  if (known === undefined) return;
  confinedDirs.delete(dir);
  try {
    nodeFs.closeSync(known.fd);
  } catch {
    // already closed
  }
}

function sweepConfinedDirs(): void {
  confinedSweeper = null;
  const cutoff = Date.now() - CONFINED_DIR_IDLE_MS;
  for (const [dir, known] of confinedDirs) if (known.usedAt <= cutoff) forgetConfinedDir(dir);
  if (confinedDirs.size > 0) confinedSweeper = setTimeout(sweepConfinedDirs, CONFINED_DIR_IDLE_MS).unref();
}

/**
 * When `p` itself is a symlink: its target must stay in the root (or, with no root, in the
 * folder holding the link). A symlink that leaves is E_PATH_OUTSIDE_ROOT; anything else passes.
 */
export function refuseLinkOutsideSync(p: string): void {
  let st: nodeFs.Stats | undefined;
  try {
    // No throw for a missing path: a trash name about to be created is checked here on every release.
    st = nodeFs.lstatSync(p, { throwIfNoEntry: false });
  } catch {
    return; // not reachable: the operation itself reports that
  }
  if (st === undefined || !st.isSymbolicLink()) return;
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
export function checkDescriptor(p: string, st: nodeFs.Stats, fd: number | undefined): void {
  if (!st.isFile() && !st.isDirectory()) throw notRegularFile(p, st);
  const root = rootOf(p);
  if (root === undefined) return;
  const real = descriptorPath(fd);
  if (real !== undefined && real.startsWith('/') && !realInside(realRootSync(root), real)) throw outsideRoot(p, real, root);
}

export function notRegularFile(p: string, st: nodeFs.Stats): LedgerlockError {
  const kind = st.isFIFO()
    ? 'a FIFO'
    : st.isSocket()
      ? 'a socket'
      : st.isCharacterDevice()
        ? 'a character device'
        : st.isBlockDevice()
          ? 'a block device'
          : st.isDirectory()
            ? 'a directory'
            : 'not a regular file';
  return new LedgerlockError(ErrorCode.NotRegularFile, `${p} is ${kind}, not a regular file`, { path: p, kind });
}

export function documentTooLarge(p: string, bytes: number, limit: number): LedgerlockError {
  return new LedgerlockError(
    ErrorCode.DocumentTooLarge,
    `${p} is ${bytes === Infinity ? 'larger than' : `${bytes} bytes, over`} the limit of ${limit} bytes for a document; it was not read`,
    { path: p, bytes: Number.isFinite(bytes) ? bytes : null, limit },
  );
}
