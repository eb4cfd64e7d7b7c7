/**
 * Notifications, once per condition, each with its fix: a torn tail [Repair], a stale lock
 * [Reap], a live holder past the contention threshold [Show Holder]. A condition that clears
 * and comes back is announced again. Each kind can be turned off per folder.
 */
import * as vscode from 'vscode';
import { baseName, formatAge, formatHolder } from './format';
import type { ServerState } from './serverState';

export class Alerts implements vscode.Disposable {
  private readonly announced = new Set<string>();
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly state: ServerState) {
    this.disposables.push(state.onDidChange(() => this.check()));
  }

  private check(): void {
    const current = new Set<string>();
    for (const ledger of this.state.ledgers()) {
      if (ledger.health !== 'torn') continue;
      this.once(current, `torn:${ledger.path}`, ledger.folder, 'tornTail', () =>
        this.offer(vscode.window.showErrorMessage, `Ledgerlock: ${baseName(ledger.path)} has a torn tail (an incomplete last record).`, 'Repair', () =>
          vscode.commands.executeCommand('ledgerlock.repairTail', ledger.path)));
    }
    for (const lock of this.state.locks()) {
      if (lock.reapable) {
        this.once(current, `stale:${lock.path}`, lock.folder, 'staleLock', () =>
          this.offer(vscode.window.showWarningMessage, `Ledgerlock: ${baseName(lock.path)} is stale — ${lock.reason}.`, 'Reap', () =>
            vscode.commands.executeCommand('ledgerlock.reapLock', lock.path)));
      } else if (lock.overThreshold) {
        this.once(current, `contended:${lock.path}:${lock.holder?.pid ?? '?'}`, lock.folder, 'contention', () =>
          this.offer(vscode.window.showWarningMessage, `Ledgerlock: ${baseName(lock.path)} has been held ${formatAge(lock.ageMs)} by ${formatHolder(lock.holder)}.`, 'Show Holder', () =>
            vscode.commands.executeCommand('ledgerlock.showHolder', lock.path)));
      }
    }
    for (const key of [...this.announced]) if (!current.has(key)) this.announced.delete(key);
  }

  private once(current: Set<string>, key: string, folder: string, setting: string, show: () => void): void {
    current.add(key);
    if (this.announced.has(key)) return;
    this.announced.add(key);
    const enabled = vscode.workspace.getConfiguration('ledgerlock.notifications', vscode.Uri.parse(folder)).get<boolean>(setting, true);
    if (enabled) show();
  }

  private offer(show: (message: string, ...items: string[]) => Thenable<string | undefined>, message: string, action: string, fix: () => Thenable<unknown>): void {
    void show(message, action).then((choice) => (choice === action ? fix() : undefined));
  }

  dispose(): void {
    this.disposables.forEach((d) => d.dispose());
  }
}
