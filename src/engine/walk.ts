/**
 * The one directory walker for discovery (ledgers, locks): never follows symlinks (so a link
 * cannot lead discovery out of the workspace), skips dependency and VCS trees, and stops at
 * a depth and an entry budget so a huge workspace stays responsive.
 */
import type { Dirent } from 'node:fs';
import * as path from 'node:path';
import { fsl } from './fs';

/** Version-control internals: never walked, except for the lock files at their top level (`.git/index.lock`). */
export const VCS_DIRS = new Set(['.git', '.hg', '.svn', '.jj']);

export const SKIPPED_DIRS = new Set(['node_modules', '.git', '.hg', '.svn', 'bower_components', '.venv', '__pycache__', '.tox', 'target', '.next', '.cache']);

export interface WalkOptions {
  maxDepth?: number;
  maxEntries?: number;
  /** Directories (by name) not descended into; default SKIPPED_DIRS. */
  skipDir?: (name: string, relPath: string) => boolean;
}

export interface WalkEntry {
  path: string;
  relPath: string;
  dirent: Dirent;
}

/** Yields every entry under `root` (files, directories, symlinks as themselves), depth-first. */
export async function* walk(root: string, options: WalkOptions = {}): AsyncGenerator<WalkEntry> {
  const maxDepth = options.maxDepth ?? 12;
  let budget = options.maxEntries ?? 200_000;
  const skipDir = options.skipDir ?? ((name: string) => SKIPPED_DIRS.has(name));
  const stack: { dir: string; depth: number }[] = [{ dir: root, depth: 0 }];
  while (stack.length > 0 && budget > 0) {
    const { dir, depth } = stack.pop()!;
    let entries: Dirent[];
    try {
      entries = await fsl().readdir(dir);
    } catch {
      continue; // vanished or unreadable: discovery is best-effort, inspection reports errors
    }
    entries.sort((a, b) => (a.name < b.name ? 1 : a.name > b.name ? -1 : 0));
    for (const dirent of entries) {
      if (--budget < 0) return;
      const full = path.join(dir, dirent.name);
      const relPath = path.relative(root, full);
      yield { path: full, relPath, dirent };
      if (dirent.isDirectory() && depth + 1 < maxDepth && !skipDir(dirent.name, relPath)) {
        stack.push({ dir: full, depth: depth + 1 });
      }
    }
  }
}
