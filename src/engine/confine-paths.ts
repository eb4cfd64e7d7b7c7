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

/** The root `p` must stay inside; undefined: only its last component is checked (against its own folder). */
function rootOf(p: string): string | undefined {
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
export function checkDescriptor(p: string, st: nodeFs.Stats, fd: number | undefined): void {
  if (!st.isFile() && !st.isDirectory()) throw notRegularFile(p, st);
  const root = rootOf(p);
  if (root === undefined) return;
  const real = descriptorPath(fd);
  if (real !== undefined && real.startsWith('/') && !lexicallyInside(realRootSync(root), real)) throw outsideRoot(p, real, root);
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
