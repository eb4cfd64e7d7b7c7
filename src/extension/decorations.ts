/**
 * Explorer decorations: a lock file carries a badge saying it is a lock and in what state
 * (warning colour when stale, orphaned or contended); a torn or corrupt ledger carries an
 * error badge. Only files whose decoration changed are announced to the editor.
 */
import * as vscode from 'vscode';
import type { LedgerItem, LockItem } from '../protocol';
import { holderWords } from './format';
import { isLedgerProblem, isLockProblem } from './problems';
import type { ServerState } from './server-state';

export class Decorations implements vscode.FileDecorationProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<vscode.Uri[]>();
  readonly onDidChangeFileDecorations = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [];
  private current = new Map<string, vscode.FileDecoration>();
  private signatures = new Map<string, string>();

  constructor(private readonly state: ServerState) {
    this.disposables.push(
      this.changed,
      state.onDidChange(() => this.render()),
      vscode.window.registerFileDecorationProvider(this),
    );
  }

  /** The decoration of a path, as the Explorer shows it (tests read it). */
  decorationOf(fsPath: string): vscode.FileDecoration | undefined {
    return this.current.get(vscode.Uri.file(fsPath).toString());
  }

  private render(): void {
    const next = new Map<string, vscode.FileDecoration>();
    const signatures = new Map<string, string>();
    for (const lock of this.state.locks()) {
      const uri = vscode.Uri.file(lock.path).toString();
      next.set(uri, lockDecoration(lock));
      signatures.set(uri, `${lock.state}|${lock.reapable}|${lock.holder?.pid ?? ''}`);
    }
    for (const ledger of this.state.ledgers().filter(isLedgerProblem)) {
      const uri = vscode.Uri.file(ledger.path).toString();
      next.set(uri, ledgerDecoration(ledger));
      signatures.set(uri, ledger.health);
    }
    const touched: vscode.Uri[] = [];
    for (const [uri, sig] of signatures) if (this.signatures.get(uri) !== sig) touched.push(vscode.Uri.parse(uri));
    for (const uri of this.signatures.keys()) if (!signatures.has(uri)) touched.push(vscode.Uri.parse(uri));
    this.current = next;
    this.signatures = signatures;
    if (touched.length > 0) this.changed.fire(touched);
  }

  provideFileDecoration(uri: vscode.Uri): vscode.FileDecoration | undefined {
    return this.current.get(uri.toString());
  }

  dispose(): void {
    this.disposables.forEach((d) => d.dispose());
  }
}

function lockDecoration(lock: LockItem): vscode.FileDecoration {
  const problem = isLockProblem(lock);
  // Unknown is no problem, but not "fine" either: its own badge, no warning colour.
  const badge = problem ? 'L!' : lock.state === 'unknown' ? 'L?' : 'L';
  const d = new vscode.FileDecoration(
    badge,
    `Ledgerlock: lock ${lock.state}, holder: ${holderWords(lock)}`,
    problem ? new vscode.ThemeColor('list.warningForeground') : undefined,
  );
  d.propagate = false;
  return d;
}

function ledgerDecoration(ledger: LedgerItem): vscode.FileDecoration {
  const d = new vscode.FileDecoration('!', `Ledgerlock: ledger ${ledger.health}`, new vscode.ThemeColor('list.errorForeground'));
  d.propagate = true;
  return d;
}
