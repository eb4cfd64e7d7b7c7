/**
 * Which files of a workspace folder are ledgers, locks or recovery logs, from the folder's
 * glob settings. One walk finds all three; file-watcher events are classified with the same
 * rules, so an update never needs a rescan. Dependency trees are skipped, and VCS folders
 * are only looked at for their lock files (git's `index.lock`).
 */
import type { Dirent } from 'node:fs';
import * as path from 'node:path';
import * as fs from 'node:fs/promises';
import picomatch from 'picomatch';
import { isDependencyLockfile, storeRole } from '../engine';
import { fsl } from '../engine/fs';
import { SKIPPED_DIRS, VCS_DIRS, walk } from '../engine/walk';
import type { FolderSettings } from './settings';

export type FileRole = 'ledger' | 'lock' | 'recovery-log';

/**
 * The scan's budgets, which bound its memory and time: entries walked (names are not kept,
 * only matches), and locks and ledgers kept per folder. Past a budget the scan stops counting
 * and says so (`limit`).
 */
export const SCAN_LIMITS = { entries: 1_000_000, locks: 20_000, ledgers: 2_000 };

export interface FolderScan {
  ledgers: string[];
  locks: string[];
  recoveryLogs: string[];
  truncated: boolean;
  /** Where counting stopped, when it did. */
  limit?: string;
}

export class FolderClassifier {
  private readonly isLedger: (rel: string) => boolean;
  private readonly isLock: (rel: string) => boolean;
  private readonly isExcluded: (rel: string) => boolean;

  constructor(
    readonly root: string,
    settings: FolderSettings,
  ) {
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
    if (inStore === 'recoveries') return 'recovery-log';
    if (inStore === 'private') return undefined;
    if (this.isLock(rel) && !isDependencyLockfile(name)) return 'lock';
    if (this.isLedger(rel) || inStore === 'ledger') return 'ledger';
    return undefined;
  }

  async scan(limits = SCAN_LIMITS): Promise<FolderScan> {
    const result: FolderScan = { ledgers: [], locks: [], recoveryLogs: [], truncated: false };
    let seen = 0;
    const vcsDirs: string[] = [];
    for await (const entry of walk(this.root, { maxEntries: limits.entries })) {
      seen++;
      if (entry.dirent.isDirectory() && VCS_DIRS.has(entry.dirent.name)) vcsDirs.push(entry.path);
      const role = this.roleOfEntry(entry.path, entry.dirent);
      if (role === undefined) continue;
      if (!this.push(result, role, entry.path, limits)) break;
    }
    if (seen >= limits.entries && !result.truncated) {
      result.truncated = true;
      result.limit = `stopped counting after ${limits.entries.toLocaleString('en-US')} files and folders; locks and ledgers further in are not listed`;
    }
    for (const dir of vcsDirs) {
      const names = await fs.readdir(dir).catch(() => [] as string[]);
      for (const name of names) {
        const full = path.join(dir, name);
        if (this.classify(full) === 'lock' && !this.push(result, 'lock', full, limits)) break;
      }
    }
    return result;
  }

  /**
   * Whether a watcher event on `absPath` (no lock or ledger itself) can concern anything of
   * ours: nothing is ever found or known below a skipped or VCS folder (only a VCS folder's own
   * top-level locks count), so the events of `npm install` or a build there are not looked at.
   */
  mayHoldMatches(absPath: string): boolean {
    const parts = path.relative(this.root, absPath).split(path.sep);
    if (parts[0] === '' || parts[0] === '..' || path.isAbsolute(parts.join(path.sep))) return false;
    return !parts.slice(0, -1).some((p) => SKIPPED_DIRS.has(p) || VCS_DIRS.has(p));
  }

  /**
   * The matches under one folder of the workspace that a watcher event named (a folder created
   * with its files, whose own events a recursive watcher can miss), at most `maxEntries` looked at.
   */
  async scanUnder(dir: string, maxEntries = 5_000): Promise<{ path: string; role: FileRole }[]> {
    const rel = path.relative(this.root, dir).split(path.sep);
    if (rel[0] === '..' || path.isAbsolute(dir) === false || rel.some((p) => SKIPPED_DIRS.has(p) || VCS_DIRS.has(p))) return [];
    const found: { path: string; role: FileRole }[] = [];
    for await (const entry of walk(dir, { maxEntries })) {
      const role = this.roleOfEntry(entry.path, entry.dirent);
      if (role !== undefined) found.push({ path: entry.path, role });
    }
    return found;
  }

  /**
   * The matches directly in one folder, not below (a folder whose mtime moved with no watcher
   * event), at most `maxEntries` names read. A VCS folder's own lock files count, as in the
   * scan. A folder that is gone or now leads out of the workspace gives nothing.
   */
  async scanFolder(dir: string, maxEntries: number): Promise<{ path: string; role: FileRole }[]> {
    const rel = path.relative(this.root, dir);
    if (rel.startsWith('..') || path.isAbsolute(rel)) return [];
    const entries = await fsl()
      .readdir(dir, maxEntries)
      .catch(() => []);
    const found: { path: string; role: FileRole }[] = [];
    for (const dirent of entries) {
      const full = path.join(dir, dirent.name);
      const role = this.roleOfEntry(full, dirent);
      if (role !== undefined) found.push({ path: full, role });
    }
    return found;
  }

  /**
   * The role of an entry a walk or a listing met: files, folders made by mkdir-style lockers
   * (`x.lock/`, never a folder as ledger), and symlinks, which are listed (a link leaving the
   * workspace is shown as such) but never followed.
   */
  private roleOfEntry(full: string, dirent: Dirent): FileRole | undefined {
    if (!dirent.isFile() && !dirent.isDirectory() && !dirent.isSymbolicLink()) return undefined;
    const role = this.classify(full);
    return role === undefined || (dirent.isDirectory() && role !== 'lock') ? undefined : role;
  }

  /** Adds a match; false (and the scan's limit set) once a budget is reached. */
  private push(scan: FolderScan, role: FileRole, p: string, limits: typeof SCAN_LIMITS): boolean {
    const list = role === 'ledger' ? scan.ledgers : role === 'lock' ? scan.locks : scan.recoveryLogs;
    const cap = role === 'ledger' ? limits.ledgers : role === 'lock' ? limits.locks : limits.ledgers;
    if (list.length >= cap) {
      scan.truncated = true;
      scan.limit = `stopped counting at ${cap.toLocaleString('en-US')} ${role === 'lock' ? 'locks' : 'ledgers'}, the most one folder lists; narrow ledgerlock.${role === 'lock' ? 'lockGlobs' : 'ledgerGlobs'} or ledgerlock.exclude`;
      return false;
    }
    list.push(p);
    return true;
  }
}
