/**
 * The client's copy of what the server last reported. Views, the status bar and alerts all
 * render from this one snapshot and listen to its change event.
 */
import * as vscode from 'vscode';
import type { LedgerItem, LockItem, SnapshotFolderState, SnapshotsState, VantageInfo, WorkspaceState } from '../protocol';

export class ServerState implements vscode.Disposable {
  private current: WorkspaceState = { folders: [], evaluatedAt: 0 };
  private received = false;
  private readonly changed = new vscode.EventEmitter<WorkspaceState>();
  private readonly recoveryLogChanged = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  readonly onDidChangeRecoveryLog = this.recoveryLogChanged.event;
  private snapshotState: SnapshotsState = { folders: [] };
  private readonly snapshotsChanged = new vscode.EventEmitter<SnapshotsState>();
  readonly onDidChangeSnapshots = this.snapshotsChanged.event;

  get snapshot(): WorkspaceState {
    return this.current;
  }

  /** Where the server judges locks from; undefined until its first state arrives. */
  get vantage(): VantageInfo | undefined {
    return this.current.vantage;
  }

  /** The server runs in a pid namespace of its own (a Dev Container): processes outside it are invisible to it. */
  get inContainer(): boolean {
    return this.current.vantage?.platform === 'linux' && this.current.vantage.initialPidNamespace === false;
  }

  /** False until the server's first scan has arrived (views show "Scanning…" meanwhile). */
  get ready(): boolean {
    return this.received;
  }

  /** The first scan of every folder is in: absence now means absence. */
  get complete(): boolean {
    return this.received && this.current.folders.every((f) => !f.scanning);
  }

  update(state: WorkspaceState): void {
    this.current = state;
    this.received = true;
    this.changed.fire(state);
  }

  updateSnapshots(state: SnapshotsState): void {
    this.snapshotState = state;
    this.snapshotsChanged.fire(state);
  }

  get snapshots(): SnapshotsState {
    return this.snapshotState;
  }

  /** Folders whose snapshots have a missing or corrupt blob, or an unreadable manifest. */
  damagedSnapshotFolders(): SnapshotFolderState[] {
    return this.snapshotState.folders.filter(isSnapshotProblem);
  }

  /** Resolves when the snapshots satisfy `predicate`. */
  waitForSnapshots(predicate: (state: SnapshotsState) => boolean, timeoutMs = 10_000): Promise<SnapshotsState> {
    if (predicate(this.snapshotState)) return Promise.resolve(this.snapshotState);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        sub.dispose();
        reject(new Error(`ledgerlock: snapshot condition not met within ${timeoutMs} ms`));
      }, timeoutMs);
      const sub = this.onDidChangeSnapshots((state) => {
        if (!predicate(state)) return;
        clearTimeout(timer);
        sub.dispose();
        resolve(state);
      });
    });
  }

  fireRecoveryLogChanged(): void {
    this.recoveryLogChanged.fire();
  }

  locks(): LockItem[] {
    return this.current.folders.flatMap((f) => f.locks);
  }

  ledgers(): LedgerItem[] {
    return this.current.folders.flatMap((f) => f.ledgers);
  }

  findLock(p: string): LockItem | undefined {
    return this.locks().find((l) => l.path === p);
  }

  findLedger(p: string): LedgerItem | undefined {
    return this.ledgers().find((l) => l.path === p);
  }

  /** Resolves when the snapshot satisfies `predicate` (tests, commands waiting on a rescan). */
  waitFor(predicate: (state: WorkspaceState) => boolean, timeoutMs = 10_000): Promise<WorkspaceState> {
    if (this.received && predicate(this.current)) return Promise.resolve(this.current);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        sub.dispose();
        reject(new Error(`ledgerlock: state condition not met within ${timeoutMs} ms`));
      }, timeoutMs);
      const sub = this.onDidChange((state) => {
        if (!predicate(state)) return;
        clearTimeout(timer);
        sub.dispose();
        resolve(state);
      });
    });
  }

  dispose(): void {
    this.changed.dispose();
    this.recoveryLogChanged.dispose();
    this.snapshotsChanged.dispose();
  }
}

function isSnapshotProblem(folder: SnapshotFolderState): boolean {
  return folder.problems.length > 0 || folder.unreadable.length > 0;
}
