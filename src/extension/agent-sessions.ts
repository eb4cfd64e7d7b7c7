/**
 * This workspace's agent sessions as the server reports them (README.md, "Agent sessions"). The
 * tool roots are read here from user settings only — `inspect().globalValue`, never
 * the merged value a workspace could add to — and sent to the server, which reads them from
 * nowhere else. On open, and when a session newly turns damaged, one summary names the damaged
 * sessions and what broke, with a one-click Repair.
 */
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { SessionsNotification, ToolRootsNotification, type SessionItem, type SessionsState } from '../sessions-protocol';
import { baseName, plural } from './format';

const EMPTY: SessionsState = { roots: [], rejected: [], folders: [], locks: [], scanning: false };

/**
 * The enabled tool roots: the user's value only; a workspace's is ignored. The setting has
 * application scope: with machine scope a remote window (code-server, a container, SSH) drops
 * a user-settings value, and tool roots shown in one window would be gone in the next.
 */
export function userToolRoots(): unknown {
  return vscode.workspace.getConfiguration('ledgerlock').inspect<unknown>('toolRoots')?.globalValue ?? [];
}

const PROBLEM_WORDS: Record<string, string> = {
  'torn-tail': 'torn end',
  'glued-record': 'glued record',
  'zero-filled': 'zero-filled run',
  'missing-newline': 'missing newline',
  'not-a-record': 'line that is not a record',
  'duplicate-record': 'repeated record',
};

/** "1 glued record, 1 torn end": the problems of a session counted by kind, in words. */
export function problemWords(s: SessionItem): string {
  const counts = new Map<string, number>();
  for (const p of s.problems) {
    const word = PROBLEM_WORDS[p.kind] ?? 'damaged line';
    counts.set(word, (counts.get(word) ?? 0) + 1);
  }
  if (s.error) return s.error.message;
  return [...counts].map(([word, n]) => plural(n, word)).join(', ') || s.health;
}

export function isDamaged(s: SessionItem): boolean {
  return s.health === 'torn' || s.health === 'corrupt';
}

export class AgentSessions implements vscode.Disposable {
  private current: SessionsState = EMPTY;
  private readonly emitter = new vscode.EventEmitter<SessionsState>();
  readonly onDidChange = this.emitter.event;
  private readonly disposables: vscode.Disposable[] = [this.emitter];
  /** Damage already summarised (path and what broke), so the summary is not shown again for it. */
  private readonly announced = new Set<string>();
  private client: LanguageClient | undefined;

  constructor(
    private readonly log: vscode.LogOutputChannel,
    /** Runs the repair of one session (the command, confirmed by the click). */
    private readonly repair: (session: string) => Thenable<unknown>,
  ) {
    this.disposables.push(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('ledgerlock.toolRoots')) this.sendRoots();
      }),
    );
  }

  get state(): SessionsState {
    return this.current;
  }

  sessions(): SessionItem[] {
    return this.current.folders.flatMap((f) => f.sessions);
  }

  /** The server is up: listen to its reports and tell it the roots. */
  attach(client: LanguageClient): void {
    this.client = client;
    this.disposables.push(client.onNotification(SessionsNotification.type, (s) => this.update(s)));
    this.sendRoots();
  }

  private sendRoots(): void {
    const roots = userToolRoots();
    this.log.info(`agent sessions: tool roots from user settings: ${JSON.stringify(roots)}`);
    void this.client?.sendNotification(ToolRootsNotification.type, { roots });
  }

  private update(state: SessionsState): void {
    this.current = state;
    this.emitter.fire(state);
    if (!state.scanning) this.summarise();
  }

  private summarise(): void {
    const fresh = this.sessions().filter((s) => isDamaged(s) && !this.announced.has(key(s)));
    const stillDamaged = new Set(this.sessions().filter(isDamaged).map(key));
    for (const k of [...this.announced]) if (!stillDamaged.has(k)) this.announced.delete(k);
    if (fresh.length === 0) return;
    for (const s of fresh) this.announced.add(key(s));
    const named = fresh.map((s) => `${baseName(s.path)} (${toolName(s.tool)}: ${problemWords(s)}${s.writing.length > 0 ? '; being written now' : ''})`);
    const message =
      fresh.length === 1
        ? `Ledgerlock: an agent session of this workspace is damaged: ${named[0]}. Repair keeps every complete record and moves only the damaged bytes to quarantine.`
        : `Ledgerlock: ${plural(fresh.length, 'agent session')} of this workspace are damaged: ${named.join('; ')}. Repair keeps every complete record.`;
    this.log.warn(message);
    void vscode.window.showWarningMessage(message, 'Repair', 'Show Sessions').then(async (choice) => {
      if (choice === 'Repair') for (const s of fresh) await this.repair(s.path);
      else if (choice === 'Show Sessions') await vscode.commands.executeCommand('ledgerlock.sessions.focus');
    });
  }

  dispose(): void {
    this.disposables.forEach((d) => d.dispose());
  }
}

function key(s: SessionItem): string {
  return `${s.path}|${s.health}|${s.problems.map((p) => `${p.kind}@${p.offset}`).join(',')}`;
}

export function toolName(tool: string): string {
  return tool === 'claude-code' ? 'Claude Code' : tool === 'codex' ? 'Codex' : tool === 'authmux' ? 'authmux' : tool;
}
