/**
 * The `ledgerlock.status` item: hidden when all is well. Otherwise it says what and how many
 * ("events.jsonl torn", "1 torn ledger, 2 stale locks"), with a warning background for locks
 * and an error background for damaged ledgers or snapshots; the tooltip lists each problem
 * and clicking offers the fixes.
 */
import * as vscode from 'vscode';
import { countByKind, problemsOf, type Problem } from './problems';
import type { ServerState } from './server-state';

export class StatusBar implements vscode.Disposable {
  readonly item: vscode.StatusBarItem;
  private readonly disposables: vscode.Disposable[] = [];
  private shown = '';
  /** Whether the item is on screen (tests read it). */
  visible = false;

  constructor(private readonly state: ServerState) {
    this.item = vscode.window.createStatusBarItem('ledgerlock.status', vscode.StatusBarAlignment.Left, 50);
    this.item.name = 'Ledgerlock';
    this.item.command = 'ledgerlock.showFixes';
    this.disposables.push(
      this.item,
      state.onDidChange(() => this.render()),
      state.onDidChangeSnapshots(() => this.render()),
    );
    this.render();
  }

  private render(): void {
    const problems = this.state.ready ? problemsOf(this.state) : [];
    // Only a change of what is shown touches the item (an open tooltip stays open).
    const signature = problems.map((p) => `${p.key}|${p.sentence}`).join('\n');
    if (signature === this.shown) return;
    this.shown = signature;
    this.visible = problems.length > 0;
    if (problems.length === 0) {
      this.item.hide();
      return;
    }
    const error = problems.some((p) => p.severity === 'error');
    const icon = error ? '$(error)' : '$(warning)';
    this.item.text = `${icon} ${problems.length === 1 ? problems[0]!.short : countByKind(problems)}`;
    this.item.backgroundColor = new vscode.ThemeColor(error ? 'statusBarItem.errorBackground' : 'statusBarItem.warningBackground');
    this.item.tooltip = tooltip(problems);
    this.item.accessibilityInformation = { label: `Ledgerlock: ${countByKind(problems)}. Show fixes.` };
    this.item.show();
  }

  dispose(): void {
    this.disposables.forEach((d) => d.dispose());
  }
}

function tooltip(problems: Problem[]): vscode.MarkdownString {
  const md = new vscode.MarkdownString(undefined, true);
  md.appendMarkdown(`**Ledgerlock: ${countByKind(problems)}**\n\n`);
  for (const p of problems.slice(0, 12))
    md.appendMarkdown(
      `- $(${p.severity === 'error' ? 'error' : 'warning'}) ${escapeMarkdown(p.sentence)}${p.evidence ? ` ${escapeMarkdown(`(${p.evidence})`)}` : ''}\n`,
    );
  if (problems.length > 12) md.appendMarkdown(`- and ${problems.length - 12} more\n`);
  md.appendMarkdown('\nClick to choose a fix.');
  return md;
}

export function escapeMarkdown(s: string): string {
  return s.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, (c) => `\\${c}`);
}
