/**
 * The `ledgerlock.status` item: quiet when all is well, a warning background for stale or
 * long-held locks, an error background for a torn or corrupt ledger. Clicking it offers the
 * fixes in a quick pick.
 */
import * as vscode from 'vscode';
import { baseName, lockSentence } from './format';
import type { LockItem } from '../protocol';
import { isLedgerProblem, isLockProblem, type ServerState } from './serverState';
import { snapshotTrouble } from './snapshotTrouble';

export class StatusBar implements vscode.Disposable {
  readonly item: vscode.StatusBarItem;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly state: ServerState) {
    this.item = vscode.window.createStatusBarItem('ledgerlock.status', vscode.StatusBarAlignment.Left, 50);
    this.item.name = 'Ledgerlock';
    this.item.command = 'ledgerlock.showFixes';
    this.disposables.push(this.item, state.onDidChange(() => this.render()), state.onDidChangeSnapshots(() => this.render()));
    this.render();
  }

  private render(): void {
    const damaged = this.state.ledgers().filter(isLedgerProblem);
    const troubled = this.state.locks().filter(isLockProblem);
    const blobs = snapshotTrouble(this.state);
    const total = this.state.ledgers().length + this.state.locks().length + blobs.length;
    if (!this.state.ready || total === 0) {
      this.item.hide();
      return;
    }
    const more = (n: number) => (n > 1 ? ` (+${n - 1})` : '');
    if (blobs.length > 0 && damaged.length === 0) {
      // Snapshot damage: what a restore would need is gone or changed.
      this.item.text = `$(error) ${blobs[0]}${more(blobs.length + troubled.length)}`;
      this.item.backgroundColor = new vscode.ThemeColor('statusBarItem.errorBackground');
      this.item.tooltip = `Ledgerlock: ${blobs.join('; ')}. Click for fixes.`;
    } else if (damaged.length > 0) {
      const first = damaged[0]!;
      this.item.text = `$(error) ${baseName(first.path)} ${first.health}${more(damaged.length + troubled.length + blobs.length)}`;
      this.item.backgroundColor = new vscode.ThemeColor('statusBarItem.errorBackground');
      this.item.tooltip = `Ledgerlock: ${damaged.map((l) => `${baseName(l.path)} is ${l.health}`).join(', ')}. Click for fixes.`;
    } else if (troubled.length > 0) {
      // A stale lock (a fix exists) comes before a live one held long (only waiting helps).
      const first = troubled.find((l) => l.reapable) ?? troubled[0]!;
      const icon = first.reapable ? '$(unlock)' : '$(lock)';
      this.item.text = `${icon} ${lockSentence(first)}${more(troubled.length)}`;
      this.item.backgroundColor = new vscode.ThemeColor('statusBarItem.warningBackground');
      this.item.tooltip = `Ledgerlock: ${troubled.map((l) => `${lockSentence(l)}${evidenceWords(l)}`).join('; ')}. Click for fixes.`;
    } else {
      this.item.text = '$(lock) Ledgerlock';
      this.item.backgroundColor = undefined;
      this.item.tooltip = `Ledgerlock: ${this.state.locks().length} lock(s) and ${this.state.ledgers().length} ledger(s), all healthy.`;
    }
    this.item.show();
  }

  dispose(): void {
    this.disposables.forEach((d) => d.dispose());
  }
}

/** The facts behind a lock's verdict, as the tooltip's parenthesis: "(pid 12 holds a flock write lock on it; ...)". */
function evidenceWords(lock: LockItem): string {
  const facts = (lock.evidence ?? []).filter((e) => e.kind !== 'heartbeat').map((e) => e.detail);
  return facts.length > 0 ? ` (${facts.join('; ')})` : '';
}
