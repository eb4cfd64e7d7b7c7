/**
 * Finding the locks under a directory: `*.lock` files and `*.lock/` directories (the store's
 * `locks/`, git's `index.lock`, proper-lockfile's directories), never dependency lockfiles,
 * never through a symlink. Each one found is inspected read-only.
 */
import * as path from 'node:path';
import picomatch from 'picomatch';
import { ErrorCode, LedgerlockError } from '../errors';
import { fsl } from '../fs';
import { SKIPPED_DIRS, VCS_DIRS, walk } from '../walk';
import type { LockInfo } from './classify';
import { isDependencyLockfile } from './dependency-lockfiles';
import { inspectLocks } from './inspect';
import { resolveTiming, type LockTiming } from './timing';

export interface ListLocksOptions extends LockTiming {
  /** Extra globs (relative to `dir`) naming lock files beyond `*.lock`, e.g. `**\/*.pid`. */
  include?: string[];
  /** Globs (relative to `dir`) of paths neither listed nor descended into. */
  exclude?: string[];
  /** How deep to descend below `dir`. Default 12. */
  maxDepth?: number;
}

export async function listLocks(dir: string, opts: ListLocksOptions = {}): Promise<LockInfo[]> {
  const timing = resolveTiming(opts); // one "now" for the whole listing, so ages compare
  const root = path.resolve(dir);
  const extra = opts.include && opts.include.length > 0 ? picomatch(opts.include, { dot: true }) : () => false;
  const excluded = opts.exclude && opts.exclude.length > 0 ? picomatch(opts.exclude, { dot: true }) : () => false;
  const isLock = (name: string, rel: string) => !isDependencyLockfile(name) && (name.endsWith('.lock') || extra(rel));
  const skipDir = (name: string, rel: string) => SKIPPED_DIRS.has(name) || VCS_DIRS.has(name) || excluded(posix(rel)) || isLock(name, posix(rel));

  const found: string[] = [];
  const walkOptions = opts.maxDepth !== undefined ? { maxDepth: opts.maxDepth, skipDir } : { skipDir };
  for await (const entry of walk(root, walkOptions)) {
    const rel = posix(entry.relPath);
    if (excluded(rel)) continue;
    if (entry.dirent.isDirectory() && VCS_DIRS.has(entry.dirent.name)) {
      found.push(...(await vcsLocks(entry.path)));
      continue;
    }
    if (isLock(entry.dirent.name, rel)) found.push(entry.path);
  }

  // One look at /proc and at each store's telemetry serves every lock in the listing.
  const locks: LockInfo[] = [];
  for (const verdict of (await inspectLocks(found.sort(), timing)).values()) {
    if (!(verdict instanceof LedgerlockError)) locks.push(verdict);
    else if (verdict.code !== ErrorCode.NotFound) throw verdict; // NotFound: released while listing
  }
  return locks;
}

async function vcsLocks(vcsDir: string): Promise<string[]> {
  try {
    const entries = await fsl().readdir(vcsDir);
    return entries.filter((e) => e.name.endsWith('.lock') && !e.isDirectory()).map((e) => path.join(vcsDir, e.name));
  } catch {
    return [];
  }
}

function posix(rel: string): string {
  return rel.split(path.sep).join('/');
}
