/**
 * Notifications that respect the person: once the first scan of every folder is in, one
 * notification sums up what is new ("3 problems — Show Fixes"), or names the one problem with
 * its fix. Each condition is announced once per workspace, remembered across reloads; one
 * that clears and comes back is new again. "Don't Show Again" silences a kind for this
 * workspace; the `ledgerlock.notifications.*` settings silence it everywhere.
 */
import * as vscode from 'vscode';
import { countByKind, NOTIFICATION_SETTING, problemsOf, type Problem, type ProblemKind } from './problems';
import type { ServerState } from './server-state';

const ANNOUNCED_KEY = 'ledgerlock.announced';
const MUTED_KEY = 'ledgerlock.mutedKinds';
const DONT_SHOW = "Don't Show Again";

export class Alerts implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];
  /** What was shown, newest last (tests and the log read it). */
  readonly shown: string[] = [];

  constructor(
    private readonly state: ServerState,
    private readonly memento: vscode.Memento,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.disposables.push(state.onDidChange(() => this.check()));
  }

  /** Forgets what was announced and muted in this workspace (command "Reset Notifications"). */
  async reset(): Promise<void> {
    await this.memento.update(ANNOUNCED_KEY, undefined);
    await this.memento.update(MUTED_KEY, undefined);
    this.check();
  }

  private check(): void {
    // A half-scanned workspace would announce in pieces and forget what it has not seen yet.
    if (!this.state.complete) return;
    const problems = problemsOf(this.state).filter((p) => NOTIFICATION_SETTING[p.kind] !== undefined);
    const announced = new Set(this.memento.get<string[]>(ANNOUNCED_KEY, []));
    const current = new Set(problems.map((p) => p.key));
    const muted = new Set(this.memento.get<ProblemKind[]>(MUTED_KEY, []));
    const fresh = problems.filter((p) => !announced.has(p.key) && !muted.has(p.kind) && this.enabled(p));
    const next = [...announced].filter((k) => current.has(k));
    for (const p of problems) if (!announced.has(p.key)) next.push(p.key);
    if (next.length !== announced.size || next.some((k) => !announced.has(k))) void this.memento.update(ANNOUNCED_KEY, next);
    if (fresh.length === 1) this.announceOne(fresh[0]!);
    else if (fresh.length > 1) this.announceSummary(fresh);
  }

  private enabled(p: Problem): boolean {
    const setting = NOTIFICATION_SETTING[p.kind]!;
    return vscode.workspace.getConfiguration('ledgerlock.notifications', vscode.Uri.parse(p.folder)).get<boolean>(setting, true);
  }

  private announceOne(p: Problem): void {
    const message = `Ledgerlock: ${p.sentence}`;
    this.record(message);
    const show = p.severity === 'error' ? vscode.window.showErrorMessage : vscode.window.showWarningMessage;
    void show(message, p.fix.button, DONT_SHOW).then((choice) => {
      if (choice === p.fix.button && this.alreadyFixed([p])) return undefined;
      if (choice === p.fix.button) return vscode.commands.executeCommand(p.fix.command, ...p.fix.args);
      if (choice === DONT_SHOW) return this.mute([p.kind]);
      return undefined;
    });
  }

  private announceSummary(problems: Problem[]): void {
    const message = `Ledgerlock: ${problems.length.toLocaleString('en-US')} problems — ${countByKind(problems)}.`;
    this.record(message);
    const show = problems.some((p) => p.severity === 'error') ? vscode.window.showErrorMessage : vscode.window.showWarningMessage;
    void show(message, 'Show Fixes', DONT_SHOW).then((choice) => {
      if (choice === 'Show Fixes' && this.alreadyFixed(problems)) return undefined;
      if (choice === 'Show Fixes') return vscode.commands.executeCommand('ledgerlock.showFixes');
      if (choice === DONT_SHOW) return this.mute([...new Set(problems.map((p) => p.kind))]);
      return undefined;
    });
  }

  /**
   * A notification cannot be taken back once shown, and a person may click it long after its
   * problems were fixed (a reap from the Locks view, another tool releasing its lock): say so
   * instead of acting on a condition that no longer holds.
   */
  private alreadyFixed(announced: Problem[]): boolean {
    const current = new Set(problemsOf(this.state).map((p) => p.key));
    if (announced.some((p) => current.has(p.key))) return false;
    const what = announced.length === 1 ? 'That problem is' : `Those ${announced.length.toLocaleString('en-US')} problems are`;
    void vscode.window.showInformationMessage(`Ledgerlock: ${what} no longer there; nothing to fix.`);
    this.log.info(`notification clicked after its problems cleared: ${announced.map((p) => p.key).join(', ')}`);
    return true;
  }

  private async mute(kinds: ProblemKind[]): Promise<void> {
    const muted = new Set(this.memento.get<ProblemKind[]>(MUTED_KEY, []));
    kinds.forEach((k) => muted.add(k));
    await this.memento.update(MUTED_KEY, [...muted]);
    this.log.info(`notifications muted in this workspace for: ${kinds.join(', ')} (run "Ledgerlock: Reset Notifications" to undo)`);
    vscode.window.setStatusBarMessage('$(bell-slash) Ledgerlock: those notifications are off for this workspace; the status bar still shows problems.', 8000);
  }

  private record(message: string): void {
    this.shown.push(message);
    this.log.info(`notified: ${message}`);
  }

  dispose(): void {
    this.disposables.forEach((d) => d.dispose());
  }
}
