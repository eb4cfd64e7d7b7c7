/**
 * Which files of a workspace folder are ledgers, locks or recovery logs, from the folder's
 * glob settings. One walk finds all three; file-watcher events are classified with the same
 * rules, so an update never needs a rescan. Dependency trees are skipped, and VCS folders
 * are only looked at for their lock files (git's `index.lock`).
 */
import * as path from 'node:path';
import * as fs from 'node:fs/promises';
import picomatch from 'picomatch';
import { isDependencyLockfile, storeRole } from '../engine';
import { SKIPPED_DIRS, VCS_DIRS, walk } from '../engine/walk';
import type { FolderSettings } from './settings';

export type FileRole = 'ledger' | 'lock' | 'recoveries';

const MAX_ENTRIES = 200_000;

export interface FolderScan {
  ledgers: string[];
  locks: string[];
  recoveries: string[];
  truncated: boolean;
}

export class FolderClassifier {
  private readonly isLedger: (rel: string) => boolean;
  private readonly isLock: (rel: string) => boolean;
  private readonly isExcluded: (rel: string) => boolean;

  constructor(readonly root: string, settings: FolderSettings) {
    this.isLedger = picomatch(settings.ledgerGlobs, { dot: true });
    this.isLock = picomatch(settings.lockGlobs, { dot: true });
    this.isExcluded = settings.exclude.length > 0 ? picomatch(settings.exclude, { dot: true }) : () => false;
  }

  /** The role of an absolute path inside this folder, or undefined when it is none of ours. */
  classify(absPath: string): FileRole | undefined {
    const rel = path.relative(this.root, absPath).split(path.sep).join('/');
    if (rel === '' || rel.startsWith('../') || path.isAbsolute(rel)) return undefined;
    const parts = rel.split('/');
    const name = parts[parts.length - 1]!;
    const vcsAt = parts.findIndex((p) => VCS_DIRS.has(p));
    if (vcsAt >= 0) {
      // Inside a VCS folder only its own top-level lock files count.
      return vcsAt === parts.length - 2 && this.isLock(rel) ? 'lock' : undefined;
    }
    if (parts.slice(0, -1).some((p) => SKIPPED_DIRS.has(p))) return undefined;
    if (this.isExcluded(rel)) return undefined;
    const inStore = storeRole(parts);
    if (inStore === 'recoveries') return 'recoveries';
    if (inStore === 'private') return undefined;
    if (this.isLock(rel) && !isDependencyLockfile(name)) return 'lock';
    if (this.isLedger(rel) || inStore === 'ledger') return 'ledger';
    return undefined;
  }

  async scan(): Promise<FolderScan> {
    const result: FolderScan = { ledgers: [], locks: [], recoveries: [], truncated: false };
    let seen = 0;
    const vcsDirs: string[] = [];
    for await (const entry of walk(this.root, { maxEntries: MAX_ENTRIES })) {
      seen++;
      if (entry.dirent.isDirectory() && VCS_DIRS.has(entry.dirent.name)) vcsDirs.push(entry.path);
      // Files, and directories made by mkdir-style lockers (`x.lock/`).
      if (!entry.dirent.isFile() && !entry.dirent.isDirectory()) continue;
      const role = this.classify(entry.path);
      if (role === undefined) continue;
      if (entry.dirent.isDirectory() && role !== 'lock') continue;
      this.push(result, role, entry.path);
    }
    result.truncated = seen >= MAX_ENTRIES;
    for (const dir of vcsDirs) {
      const names = await fs.readdir(dir).catch(() => [] as string[]);
      for (const name of names) {
        const full = path.join(dir, name);
        if (this.classify(full) === 'lock') result.locks.push(full);
      }
    }
    return result;
  }

  private push(scan: FolderScan, role: FileRole, p: string): void {
    if (role === 'ledger') scan.ledgers.push(p);
    else if (role === 'lock') scan.locks.push(p);
    else scan.recoveries.push(p);
  }
}
