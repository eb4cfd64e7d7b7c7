/**
 * The Agent Sessions view: this workspace's sessions kept by coding agents in per-user tool
 * roots (README.md, "Agent sessions"), grouped by tool root; each with its health, size, last
 * activity and whether its tool writes it now; its children are its records newest first, paged
 * like a ledger's (event-pages.ts). A view of its own rather than a group in Ledgers: these files
 * live outside the workspace, are turned on in user settings, and have their own empty state.
 */
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import type { EventFilter, LedgerItem } from '../../protocol';
import type { SessionItem, SessionLockItem, SessionsState } from '../../sessions-protocol';
import { isDamaged, problemWords, toolName, type AgentSessions } from '../agent-sessions';
import { baseName, formatAge, formatBytes, formatCount, formatTime, plural } from '../format';
import { type EventNode, EventPages, LoadMoreNode } from './event-pages';
import { TreeRedraw } from './tree-redraw';

class RootNode {
  constructor(public root: SessionsState['roots'][number]) {}
}

export class SessionNode {
  constructor(public session: SessionItem) {}
  /** For commands that take anything with a path (Show Timeline). */
  get path(): string {
    return this.session.path;
  }
}

class SessionLockNode {
  constructor(public lock: SessionLockItem) {}
}

type Node = RootNode | SessionNode | SessionLockNode | EventNode | LoadMoreNode;

/** What event-pages.ts needs of a ledger, from a session. */
function asLedger(s: SessionItem): LedgerItem {
  return {
    path: s.path,
    folder: s.folder,
    format: 'foreign',
    bytes: s.bytes,
    events: s.records,
    lastId: null,
    health: s.health,
    problems: s.problems.map((p) => p.message),
    ...(s.error ? { error: s.error.message } : {}),
  };
}

export class SessionsView implements vscode.TreeDataProvider<Node>, vscode.Disposable {
  /** No minimum gap: a session's rows change only with a search of the tool roots. */
  private readonly drawing = new TreeRedraw<Node>(0);
  readonly onDidChangeTreeData = this.drawing.onDidChangeTreeData;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly nodes = new Map<string, SessionNode>();
  private readonly events: EventPages;
  readonly view: vscode.TreeView<Node>;

  constructor(
    private readonly sessions: AgentSessions,
    client: () => LanguageClient | undefined,
    log: vscode.LogOutputChannel,
  ) {
    this.events = new EventPages(
      client,
      log,
      (p) => {
        const s = this.nodes.get(p)?.session;
        return s ? asLedger(s) : undefined;
      },
      (p) => {
        const node = this.nodes.get(p);
        if (node) this.drawing.request(node);
      },
    );
    this.view = vscode.window.createTreeView('ledgerlock.sessions', { treeDataProvider: this, showCollapseAll: true });
    this.disposables.push(
      this.view,
      this.drawing,
      sessions.onDidChange((s) => this.render(s)),
    );
  }

  setFilter(filter: EventFilter | undefined): EventFilter | undefined {
    const inForce = this.events.setFilter(filter);
    this.view.description = inForce ? 'filtered' : '';
    this.drawing.request(undefined);
    return inForce;
  }

  get filter(): EventFilter | undefined {
    return this.events.filter;
  }

  knownTypes(): string[] {
    return this.events.knownTypes();
  }

  loadMore(session: string): Promise<void> {
    return this.events.loadMore(session);
  }

  private render(state: SessionsState): void {
    const damaged = state.folders.flatMap((f) => f.sessions).filter(isDamaged).length;
    this.view.badge = damaged > 0 ? { value: damaged, tooltip: `${plural(damaged, 'agent session')} damaged` } : undefined;
    const seen = new Set<string>();
    for (const s of state.folders.flatMap((f) => f.sessions)) {
      seen.add(s.path);
      const node = this.nodes.get(s.path);
      if (!node) continue;
      const before = asLedger(node.session);
      node.session = s;
      this.events.ledgerChanged(before, asLedger(s));
    }
    for (const p of [...this.nodes.keys()]) if (!seen.has(p)) this.nodes.delete(p);
    this.events.retain(seen);
    this.drawing.request(undefined);
  }

  getChildren(node?: Node): Promise<Node[]> {
    return this.drawing.children(() => this.childrenOf(node));
  }

  private async childrenOf(node?: Node): Promise<Node[]> {
    const state = this.sessions.state;
    if (node === undefined) return state.roots.map((r) => new RootNode(r));
    if (node instanceof RootNode) {
      const sessions = state.folders.flatMap((f) => f.sessions).filter((s) => s.root === node.root.root && s.tool === node.root.tool);
      const locks = state.locks.filter((l) => node.root.tool === 'authmux' && l.path.startsWith(node.root.root));
      return [
        ...sessions.map((s) => {
          const existing = this.nodes.get(s.path);
          if (existing) {
            existing.session = s;
            return existing;
          }
          const created = new SessionNode(s);
          this.nodes.set(s.path, created);
          return created;
        }),
        ...locks.map((l) => new SessionLockNode(l)),
      ];
    }
    if (node instanceof SessionNode) return this.events.children(asLedger(node.session));
    return [];
  }

  getTreeItem(node: Node): vscode.TreeItem {
    if (node instanceof RootNode) return rootItem(node.root, this.sessions.state);
    if (node instanceof SessionNode) return sessionItem(node.session, this.sessions.state.folders.length > 1);
    if (node instanceof SessionLockNode) {
      const item = new vscode.TreeItem(baseName(node.lock.path), vscode.TreeItemCollapsibleState.None);
      item.description = `${node.lock.state} · ${node.lock.reason}`;
      item.iconPath = new vscode.ThemeIcon('lock');
      item.tooltip = `${node.lock.path}\n${node.lock.state}: ${node.lock.reason}`;
      item.contextValue = 'sessionLock';
      return item;
    }
    if (node instanceof LoadMoreNode) {
      const item = new vscode.TreeItem('Load more…', vscode.TreeItemCollapsibleState.None);
      item.id = `more:${node.ledger}`;
      item.iconPath = new vscode.ThemeIcon('fold-down');
      item.contextValue = 'loadMore';
      item.command = { command: 'ledgerlock.loadMoreSessionRecords', title: 'Load More', arguments: [node.ledger] };
      return item;
    }
    // A foreign file's records are told by line, never by a native id (README.md, "Agent sessions").
    const e = node.event;
    const item = new vscode.TreeItem(e.type, vscode.TreeItemCollapsibleState.None);
    item.id = `session-record:${node.ledger}:${e.id}`;
    item.description = [e.line !== undefined ? `line ${formatCount(e.line)}` : undefined, formatTime(e.ts)].filter(Boolean).join(' · ');
    item.iconPath = new vscode.ThemeIcon('symbol-event');
    item.contextValue = 'event';
    item.command = { command: 'ledgerlock.openEvent', title: 'Open Record', arguments: [node] };
    return item;
  }

  dispose(): void {
    this.disposables.forEach((d) => d.dispose());
  }
}

function rootItem(root: SessionsState['roots'][number], state: SessionsState): vscode.TreeItem {
  const count = state.folders.flatMap((f) => f.sessions).filter((s) => s.root === root.root && s.tool === root.tool).length;
  const item = new vscode.TreeItem(toolName(root.tool), vscode.TreeItemCollapsibleState.Expanded);
  item.id = `root:${root.tool}:${root.root}`;
  item.description = root.error
    ? root.error
    : !root.exists
      ? `${root.root} — not found`
      : root.tool === 'authmux'
        ? root.root
        : `${plural(count, 'session')} · ${root.root}`;
  item.iconPath = new vscode.ThemeIcon(root.error ? 'error' : 'folder-library');
  item.tooltip = `${toolName(root.tool)} tool root ${root.root}, turned on in user settings (ledgerlock.toolRoots). Everything read there stays inside it; nothing there is written except by Repair.`;
  item.contextValue = 'sessionRoot';
  return item;
}

function sessionItem(s: SessionItem, multiRoot: boolean): vscode.TreeItem {
  // A session file is named by a 36-character id: its first part tells sessions apart and leaves room for the health.
  const name = baseName(s.path).replace(/^([0-9a-z]{8})-[0-9a-z-]{27}\.jsonl$/i, '$1…');
  const item = new vscode.TreeItem(name, vscode.TreeItemCollapsibleState.Collapsed);
  item.id = `session:${s.path}`;
  const age = formatAge(Date.now() - Date.parse(s.modifiedAt));
  const parts = [s.records !== null ? `${formatCount(s.records)} records` : undefined, formatBytes(s.bytes), `${age} ago`].filter((p): p is string => !!p);
  // The health word leads when it matters, so a narrow sidebar never cuts it off.
  if (s.error) parts.unshift(s.error.code);
  else if (s.health !== 'ok') parts.unshift(s.health);
  if (s.writing.length > 0) parts.push('writing now');
  if (multiRoot) parts.push(s.folder.split('/').pop() ?? s.folder);
  item.description = parts.join(' · ');
  const damaged = isDamaged(s);
  item.iconPath = new vscode.ThemeIcon(
    s.error ? 'error' : damaged ? 'warning' : s.writing.length > 0 ? 'sync' : 'comment-discussion',
    s.error || damaged ? new vscode.ThemeColor('list.errorForeground') : undefined,
  );
  item.contextValue = `session ${s.health}${s.writing.length > 0 ? ' writing' : ''}`;
  const md = new vscode.MarkdownString();
  md.appendMarkdown(`**${baseName(s.path)}** — ${s.error ? s.error.code : s.health}\n\n`);
  md.appendText(
    `${s.path}\n${toolName(s.tool)} session${s.sessionId ? ` ${s.sessionId}` : ''}, ${s.records !== null ? `${formatCount(s.records)} complete records, ` : ''}${formatBytes(s.bytes)}, last activity ${s.modifiedAt}\n`,
  );
  if (s.checked === 'tail') md.appendText('\nOnly its end was checked (a big transcript is never read whole to draw this view).\n');
  if (s.error) md.appendText(`\n${s.error.message}\n`);
  for (const w of s.writing) md.appendText(`\nWritten now: ${w}`);
  for (const p of s.problems) md.appendText(`\n• line ${p.line}, byte ${p.offset}: ${p.message}`);
  if (damaged)
    md.appendMarkdown(
      `\n\n${problemWords(s)}. **Repair** keeps every complete record (a record glued onto a torn one stays in place) and moves only the damaged bytes to quarantine.${s.writing.length > 0 ? ' It is refused while the tool writes the file.' : ''}`,
    );
  item.tooltip = md;
  return item;
}
