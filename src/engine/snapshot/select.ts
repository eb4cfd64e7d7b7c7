/**
 * Which files a snapshot captures: the store's state documents plus extra globs relative to
 * the workspace. A glob may not climb out (`..`, absolute: E_PATH_TRAVERSAL) and a symlink
 * that resolves outside the workspace is refused (E_PATH_OUTSIDE_ROOT). The store's own
 * bookkeeping (ledgers, blobs, snapshots) is never captured as a file.
 */
import * as path from 'node:path';
import picomatch from 'picomatch';
import { ErrorCode, LedgerlockError, errnoCode } from '../errors';
import { fsl } from '../fs';
import { assertInside } from '../names';
import { STORE_DIR_NAME } from '../store';
import { SKIPPED_DIRS, walk } from '../walk';

export const STATE_GLOB = `${STORE_DIR_NAME}/state/*.json`;

export interface SelectedFile {
  /** Workspace-relative, `/`-separated. */
  rel: string;
  abs: string;
}

export function checkGlob(glob: string): string {
  const parts = glob.split(/[\\/]/);
  if (glob.length === 0 || path.isAbsolute(glob) || /^[A-Za-z]:/.test(glob) || glob.includes('\\') || glob.includes('\0') || parts.includes('..')) {
    throw new LedgerlockError(
      ErrorCode.PathTraversal,
      `snapshot glob ${JSON.stringify(glob)} must be relative to the workspace, use '/', and contain no '..'`,
      { glob },
    );
  }
  return glob;
}

/** Only `.ledgerlock/state/` of the store is user data; the rest is the engine's own. */
function isStoreInternal(rel: string): boolean {
  const parts = rel.split('/');
  const at = parts.indexOf(STORE_DIR_NAME);
  if (at < 0) return false;
  return parts.length > at + 1 && parts[at + 1] !== 'state';
}

export async function selectFiles(workspaceRoot: string, globs: string[]): Promise<SelectedFile[]> {
  const root = path.resolve(workspaceRoot);
  const realRoot = await fsl().realpath(root);
  const found = new Map<string, SelectedFile>();
  for (const glob of globs.map(checkGlob)) {
    const scan = picomatch.scan(glob);
    const match = picomatch(glob, { dot: true });
    const base = path.join(root, scan.isGlob ? scan.base : glob);
    if (!scan.isGlob) {
      if (await isCapturable(base, root, realRoot)) found.set(glob, { rel: glob, abs: base });
      continue;
    }
    let realBase: string;
    try {
      realBase = await fsl().realpath(base);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') continue;
      throw err;
    }
    assertInside(root, realBase, realRoot);
    for await (const entry of walk(base, { skipDir: (name, rel) => SKIPPED_DIRS.has(name) || isStoreInternal(toRel(root, path.join(base, rel))) })) {
      const rel = toRel(root, entry.path);
      if (entry.dirent.isDirectory() || isStoreInternal(rel) || !match(rel)) continue;
      if (await isCapturable(entry.path, root, realRoot)) found.set(rel, { rel, abs: entry.path });
    }
  }
  return [...found.values()].sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
}

/** A regular file, or a symlink to one inside the workspace; throws for a link that leaves it. */
async function isCapturable(file: string, root: string, realRoot: string): Promise<boolean> {
  let st;
  try {
    st = await fsl().lstat(file);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return false;
    throw err;
  }
  if (st.isFile()) {
    assertInside(root, await fsl().realpath(path.dirname(file)), realRoot);
    return true;
  }
  if (!st.isSymbolicLink()) return false;
  let real: string;
  try {
    real = await fsl().realpath(file);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return false; // dangling: nothing to capture
    throw err;
  }
  assertInside(root, real, realRoot);
  return (await fsl().stat(real)).isFile();
}

export function toRel(root: string, abs: string): string {
  return path.relative(root, abs).split(path.sep).join('/');
}
