/**
 * The server's picture of the workspace: per folder, its locks, ledgers and recovery logs.
 * Built by one scan per folder, then kept current from file-watcher events and a timer that
 * re-inspects locks (a lock grows stale with no file event when its holder dies).
 */
import * as path from 'node:path';
import type { VerifyReport } from '../engine';
import type { FolderState, LedgerItem, LockItem, WorkspaceState } from '../protocol';
import { FolderClassifier } from './discovery';
import { summarizeLedger } from './ledgerSummary';
import { KeyedDebouncer, mapLimit } from './limit';
import { summarizeLocks } from './lockSummary';

const LOCK_BATCH = 256;
import type { FolderSettings } from './settings';

export interface ModelListener {
  /** `structural`: something other than lock ages changed. */
  stateChanged(structural: boolean): void;
  ledgerVerified(ledgerPath: string, report: VerifyReport | undefined): void;
  ledgerForgotten(ledgerPath: string): void;
  /** A lock was looked at again (undefined: it is gone). */
  lockJudged(lockPath: string, item: LockItem | undefined): void;
  recoveriesChanged(): void;
}

class FolderModel {
  readonly locks = new Map<string, LockItem>();
  readonly ledgers = new Map<string, LedgerItem>();
  readonly recoveries = new Set<string>();
  truncated = false;
  /** The first scan has finished. */
  scanned = false;
  readonly classifier: FolderClassifier;

  constructor(readonly uri: string, readonly name: string, readonly root: string, readonly settings: FolderSettings) {
    this.classifier = new FolderClassifier(root, settings);
  }

  state(): FolderState {
    const byPath = <T extends { path: string }>(a: T, b: T) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
    return {
      uri: this.uri,
      name: this.name,
      locks: [...this.locks.values()].sort(byPath),
      ledgers: [...this.ledgers.values()].sort(byPath),
      truncated: this.truncated,
    };
  }
}

export class WorkspaceModel {
  private readonly folders = new Map<string, FolderModel>();
  private readonly debouncer = new KeyedDebouncer(150);

  constructor(private readonly listener: ModelListener) {}

  folderUris(): string[] {
    return [...this.folders.keys()];
  }

  settingsOf(folderUri: string): FolderSettings | undefined {
    return this.folders.get(folderUri)?.settings;
  }

  async setFolder(uri: string, name: string, root: string, settings: FolderSettings): Promise<void> {
    const old = this.folders.get(uri);
    if (old) for (const p of old.ledgers.keys()) this.listener.ledgerForgotten(p);
    if (old) for (const p of old.locks.keys()) this.listener.lockJudged(p, undefined);
    const folder = new FolderModel(uri, name, root, settings);
    this.folders.set(uri, folder);
    const scan = await folder.classifier.scan();
    if (this.folders.get(uri) !== folder) return; // replaced while scanning
    folder.truncated = scan.truncated;
    scan.recoveries.forEach((p) => folder.recoveries.add(p));
    await this.updateLocks(folder, scan.locks);
    this.listener.stateChanged(true);
    await mapLimit(scan.ledgers, 4, (p) => this.updateLedger(folder, p));
    folder.scanned = true;
    this.listener.stateChanged(true);
    this.listener.recoveriesChanged();
  }

  removeFolder(uri: string): void {
    const folder = this.folders.get(uri);
    if (!folder) return;
    for (const p of folder.ledgers.keys()) this.listener.ledgerForgotten(p);
    for (const p of folder.locks.keys()) this.listener.lockJudged(p, undefined);
    this.folders.delete(uri);
    this.listener.stateChanged(true);
  }

  /** A file-watcher event: only the one path is looked at again, never the whole folder. */
  fileChanged(absPath: string): void {
    for (const folder of this.folders.values()) {
      const role = folder.classifier.classify(absPath);
      if (role === undefined) continue;
      this.debouncer.schedule(absPath, async () => {
        if (this.folders.get(folder.uri) !== folder) return;
        if (role === 'lock') await this.updateLock(folder, absPath);
        else if (role === 'ledger') await this.updateLedger(folder, absPath);
        else await this.updateRecoveries(folder, absPath);
        this.listener.stateChanged(true);
      });
      return;
    }
  }

  /** Re-inspects every lock; tells the listener whether anything but ages changed. */
  async reevaluateLocks(): Promise<void> {
    let structural = false;
    for (const folder of this.folders.values()) {
      const before = new Map([...folder.locks].map(([p, l]) => [p, lockKey(l)]));
      await this.updateLocks(folder, [...folder.locks.keys()]);
      for (const [p, l] of folder.locks) if (before.get(p) !== lockKey(l)) structural = true;
      if (before.size !== folder.locks.size) structural = true;
    }
    this.listener.stateChanged(structural);
  }

  /** Re-reads one ledger now (after a repair or compaction). */
  async refreshLedger(ledgerPath: string): Promise<void> {
    const folder = this.folderOf(ledgerPath);
    if (folder) await this.updateLedger(folder, ledgerPath);
    this.listener.stateChanged(true);
  }

  async refreshLock(lockPath: string): Promise<void> {
    const folder = this.folderOf(lockPath);
    if (folder) await this.updateLock(folder, lockPath);
    this.listener.stateChanged(true);
  }

  folderOf(p: string): FolderModel | undefined {
    let best: FolderModel | undefined;
    for (const folder of this.folders.values()) {
      const rel = path.relative(folder.root, p);
      if (!rel.startsWith('..') && !path.isAbsolute(rel) && (!best || folder.root.length > best.root.length)) best = folder;
    }
    return best;
  }

  isKnownLedger(p: string): boolean {
    return this.folderOf(p)?.ledgers.has(p) ?? false;
  }

  isKnownLock(p: string): boolean {
    return this.folderOf(p)?.locks.has(p) ?? false;
  }

  recoveryLogs(): string[] {
    return [...this.folders.values()].flatMap((f) => [...f.recoveries]);
  }

  snapshot(): WorkspaceState {
    const folders = [...this.folders.values()];
    return { folders: folders.map((f) => f.state()), evaluatedAt: Date.now(), complete: folders.every((f) => f.scanned) };
  }

  dispose(): void {
    this.debouncer.dispose();
  }

  private async updateLock(folder: FolderModel, lockPath: string): Promise<void> {
    await this.updateLocks(folder, [lockPath]);
  }

  /** In batches: one look at /proc and at the telemetry serves each batch. */
  private async updateLocks(folder: FolderModel, lockPaths: readonly string[]): Promise<void> {
    for (let i = 0; i < lockPaths.length; i += LOCK_BATCH) {
      const items = await summarizeLocks(lockPaths.slice(i, i + LOCK_BATCH), folder.uri, folder.settings);
      for (const [lockPath, item] of items) {
        if (item) folder.locks.set(lockPath, item);
        else folder.locks.delete(lockPath);
        this.listener.lockJudged(lockPath, item);
      }
    }
  }

  private async updateLedger(folder: FolderModel, ledgerPath: string): Promise<void> {
    const { item, report } = await summarizeLedger(ledgerPath, folder.uri);
    if (item.error && /E_NOT_FOUND|ENOENT/.test(item.error)) {
      folder.ledgers.delete(ledgerPath);
      this.listener.ledgerForgotten(ledgerPath);
      return;
    }
    folder.ledgers.set(ledgerPath, item);
    this.listener.ledgerVerified(ledgerPath, report);
  }

  private async updateRecoveries(folder: FolderModel, logPath: string): Promise<void> {
    folder.recoveries.add(logPath);
    this.listener.recoveriesChanged();
  }
}

function lockKey(l: LockItem): string {
  return `${l.state}|${l.reapable}|${l.overThreshold}|${l.longHeld}|${l.holder?.pid}|${l.waiters}|${l.evidence?.map((e) => `${e.kind}:${e.pid}`).join(',')}`;
}
