/**
 * A lock's read-only description (`ledgerlock-about-lock:` documents): its state, holder, evidence and
 * ages computed when drawn, with its actions as code lenses. A problem on a lock VS Code cannot
 * open as text (a lock folder, binary content) is raised here, so clicking it in the Problems
 * panel lands where the lock can be acted on, light bulb included (README.md, "In VS Code").
 */
import * as vscode from 'vscode';
import { LOCK_DOCUMENT_SCHEME, offersReap, type LockItem } from '../protocol';
import { formatAge, formatTime, holderWords, localTimes, lockAgeNow, lockName, profileName, reasonNow, relativePath, whenWords } from './format';
import type { ServerState } from './server-state';

export function lockDocumentUri(lockPath: string): vscode.Uri {
  return vscode.Uri.from({ scheme: LOCK_DOCUMENT_SCHEME, path: vscode.Uri.file(lockPath).path });
}

export class LockDocuments implements vscode.TextDocumentContentProvider, vscode.CodeLensProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;
  private readonly lensesChanged = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.lensesChanged.event;
  /** What each open document last showed, apart from its ages: a change of verdict redraws it. */
  private readonly shown = new Map<string, string>();
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly state: ServerState) {
    this.disposables.push(
      this.changed,
      this.lensesChanged,
      state.onDidChange(() => this.refresh()),
      vscode.workspace.onDidCloseTextDocument((d) => this.shown.delete(d.uri.toString())),
    );
  }

  private lockOf(uri: vscode.Uri): LockItem | undefined {
    return this.state.findLock(vscode.Uri.file(uri.path).fsPath);
  }

  private refresh(): void {
    let any = false;
    for (const doc of vscode.workspace.textDocuments) {
      if (doc.uri.scheme !== LOCK_DOCUMENT_SCHEME) continue;
      const key = doc.uri.toString();
      if (this.shown.has(key) && this.shown.get(key) !== signature(this.lockOf(doc.uri))) {
        this.changed.fire(doc.uri);
        any = true;
      }
    }
    if (any) this.lensesChanged.fire();
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    const lockPath = vscode.Uri.file(uri.path).fsPath;
    const lock = this.lockOf(uri);
    this.shown.set(uri.toString(), signature(lock));
    return describeLock(lockPath, lock, Date.now());
  }

  provideCodeLenses(doc: vscode.TextDocument): vscode.CodeLens[] {
    const lockPath = vscode.Uri.file(doc.uri.path).fsPath;
    const lock = this.lockOf(doc.uri);
    const top = new vscode.Range(0, 0, 0, 0);
    const lens = (title: string, command: string, ...args: unknown[]) => new vscode.CodeLens(top, { title, command, arguments: args });
    if (!lock) return [lens('$(refresh) Refresh Locks', 'ledgerlock.refresh')];
    return [
      ...(offersReap(lock) ? [lens('$(unlock) Reap Lock', 'ledgerlock.reapLock', lockPath)] : []),
      ...(lock.state === 'unknown' && vscode.workspace.isTrusted ? [lens('$(trash) Remove Lock Anyway…', 'ledgerlock.removeUnknownLock', lockPath)] : []),
      // Show Holder also selects the lock's row in the Locks view.
      lens('$(person) Show Holder', 'ledgerlock.showHolder', lockPath),
      lens('$(files) Reveal in Explorer', 'ledgerlock.revealLockInExplorer', lockPath),
      lens('$(copy) Copy Path', 'ledgerlock.copyLockPath', lockPath),
    ];
  }

  dispose(): void {
    this.disposables.forEach((d) => d.dispose());
  }
}

function signature(lock: LockItem | undefined): string {
  if (!lock) return '';
  return [lock.state, lock.kind, lock.holder?.pid ?? '', lock.reason.replace(/\d+(\.\d+)?/g, '#'), (lock.evidence ?? []).map((e) => e.kind).join(',')].join(
    '|',
  );
}

/** The document's text: what the lock is, its verdict and why, and what can be done. */
function describeLock(lockPath: string, lock: LockItem | undefined, now: number): string {
  const where = relativePath(lockPath);
  if (!lock) return `${where}\n\nThis lock is no longer there: it was released or reaped (checked at ${formatTime(now)}).\n`;
  const tool = profileName(lock.profile);
  const lines = [
    `${lockName(lock)} — ${lock.state}${tool ? ` (judged by ${tool}'s rules)` : ''}`,
    '',
    reasonNow(lock, now),
    '',
    `Path:     ${where}${lock.kind === 'directory' ? '/ (a lock folder)' : lock.kind === 'unknown' ? ' (content that is not text)' : ''}`,
    `Holder:   ${holderWords(lock)}`,
    `Age:      ${formatAge(lockAgeNow(lock, undefined, now))}`,
    ...(lock.holder?.acquiredAt ? [`Acquired: ${whenWords(lock.holder.acquiredAt, now)}`] : []),
    ...(lock.guards ? [`Guards:   ${relativePath(lock.guards)}`] : []),
  ];
  const evidence = (lock.evidence ?? []).filter((e) => e.kind !== 'heartbeat');
  if (evidence.length > 0) lines.push('', 'Evidence:', ...evidence.map((e) => `  • ${localTimes(e.detail, now)}`));
  lines.push('');
  if (offersReap(lock))
    lines.push(
      'Nothing shows a live holder. Reap Lock (above, or the light bulb on the first line) removes it so others can take it;',
      'its bytes are kept in quarantine and the reap is listed under Recovery Log. A live holder is never broken.',
    );
  else if (lock.state === 'unknown') lines.push('Ledgerlock cannot tell whether this lock is held, so it never reaps it.');
  else if (lock.alive) lines.push('Its holder is running: Ledgerlock never breaks a live lock.');
  lines.push('', `Written at ${formatTime(now)}; it is written again when the lock's verdict changes.`);
  return `${lines.join('\n')}\n`;
}
