/**
 * The Ledgers view: each ledger with its event count, size and health; its children are
 * its events newest first, one page at a time (the server reads from the tail) with a
 * "Load more" node. Inline Repair on a torn ledger; the view badge counts damaged ledgers.
 */
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { EventsPageRequest, type EventItem, type LedgerItem } from '../../protocol';
import { baseName, formatBytes, formatCount, formatTime } from '../format';
import { isLedgerProblem, type ServerState } from '../serverState';

export class LedgerNode {
  constructor(public ledger: LedgerItem) {}
}

export class EventNode {
  constructor(readonly ledger: string, readonly event: EventItem) {}
}

export class LoadMoreNode {
  constructor(readonly ledger: string, readonly loaded: number) {}
}

type Node = LedgerNode | EventNode | LoadMoreNode;

interface Pages {
  events: EventItem[];
  next: string | null;
  /** Ledger size the pages were read at; a change means they are out of date. */
  bytes: number;
}

const HEALTH_ICONS: Record<LedgerItem['health'], [string, string | undefined]> = {
  ok: ['database', undefined],
  torn: ['warning', 'list.errorForeground'],
  corrupt: ['error', 'list.errorForeground'],
  unknown: ['question', 'descriptionForeground'],
};

export class LedgersView implements vscode.TreeDataProvider<Node>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<Node | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly nodes = new Map<string, LedgerNode>();
  private readonly pages = new Map<string, Pages>();
  readonly view: vscode.TreeView<Node>;

  constructor(
    private readonly state: ServerState,
    private readonly client: () => LanguageClient | undefined,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.view = vscode.window.createTreeView('ledgerlock.ledgers', { treeDataProvider: this, showCollapseAll: true });
    this.disposables.push(this.view, this.changed, state.onDidChange(() => this.render()));
  }

  /** Drops the cached pages of a ledger, so its next expansion reads from the tail again. */
  forget(ledgerPath: string): void {
    this.pages.delete(ledgerPath);
    const node = this.nodes.get(ledgerPath);
    if (node) this.changed.fire(node);
  }

  /** Pages events are cached here; exposed for the event documents, which render from them. */
  cachedEvent(ledger: string, id: string): EventItem | undefined {
    return this.pages.get(ledger)?.events.find((e) => String(e.id) === id);
  }

  private render(): void {
    const ledgers = this.state.ledgers();
    const damaged = ledgers.filter(isLedgerProblem).length;
    this.view.badge = damaged > 0 ? { value: damaged, tooltip: `${damaged} ledger(s) torn or corrupt` } : undefined;
    const paths = new Set(ledgers.map((l) => l.path));
    const sameSet = paths.size === this.nodes.size && [...this.nodes.keys()].every((p) => paths.has(p));
    const changedNodes: LedgerNode[] = [];
    for (const ledger of ledgers) {
      const node = this.nodes.get(ledger.path);
      if (!node) continue;
      const before = node.ledger;
      node.ledger = ledger;
      if (before.bytes !== ledger.bytes || before.health !== ledger.health || before.events !== ledger.events) {
        const cached = this.pages.get(ledger.path);
        if (cached && cached.bytes !== ledger.bytes) this.pages.delete(ledger.path);
        changedNodes.push(node);
      }
    }
    for (const p of [...this.nodes.keys()]) if (!paths.has(p)) this.nodes.delete(p);
    for (const p of [...this.pages.keys()]) if (!paths.has(p)) this.pages.delete(p);
    if (!sameSet) this.changed.fire(undefined);
    else changedNodes.forEach((n) => this.changed.fire(n));
  }

  async getChildren(node?: Node): Promise<Node[]> {
    if (node === undefined) {
      return this.state.ledgers().map((l) => {
        const existing = this.nodes.get(l.path);
        if (existing) {
          existing.ledger = l;
          return existing;
        }
        const created = new LedgerNode(l);
        this.nodes.set(l.path, created);
        return created;
      });
    }
    if (!(node instanceof LedgerNode)) return [];
    const ledgerPath = node.ledger.path;
    let pages = this.pages.get(ledgerPath);
    if (!pages) {
      const first = await this.fetchPage(ledgerPath, null);
      if (!first) return [];
      pages = { events: first.events, next: first.next, bytes: node.ledger.bytes };
      this.pages.set(ledgerPath, pages);
    }
    const children: Node[] = pages.events.map((e) => new EventNode(ledgerPath, e));
    if (pages.next !== null) children.push(new LoadMoreNode(ledgerPath, pages.events.length));
    return children;
  }

  getParent(node: Node): Node | undefined {
    return node instanceof LedgerNode ? undefined : this.nodes.get(node.ledger);
  }

  /** The "Load more" node: the next page, appended below what is shown. */
  async loadMore(ledgerPath: string): Promise<void> {
    const pages = this.pages.get(ledgerPath);
    const node = this.nodes.get(ledgerPath);
    if (!pages || pages.next === null || !node) return;
    const more = await this.fetchPage(ledgerPath, pages.next);
    if (!more) return;
    pages.events.push(...more.events);
    pages.next = more.next;
    this.changed.fire(node);
  }

  private async fetchPage(ledgerPath: string, cursor: string | null): Promise<{ events: EventItem[]; next: string | null } | undefined> {
    const client = this.client();
    if (!client) return undefined;
    const limit = vscode.workspace.getConfiguration('ledgerlock', vscode.Uri.file(ledgerPath)).get<number>('pageSize', 50);
    const started = Date.now();
    try {
      const page = await client.sendRequest(EventsPageRequest.type, { ledger: ledgerPath, cursor, limit });
      this.log.debug(`${cursor === null ? 'first page' : 'next page'} of ${baseName(ledgerPath)}: ${page.events.length} events in ${Date.now() - started} ms`);
      return page;
    } catch (err) {
      this.log.error(`could not read events of ${ledgerPath}: ${(err as Error).message}`);
      void vscode.window.showErrorMessage(`Ledgerlock: could not read the events of ${baseName(ledgerPath)}: ${(err as Error).message}`);
      return undefined;
    }
  }

  getTreeItem(node: Node): vscode.TreeItem {
    if (node instanceof LedgerNode) return ledgerItem(node.ledger, this.state.snapshot.folders.length > 1);
    if (node instanceof LoadMoreNode) {
      const item = new vscode.TreeItem('Load more…', vscode.TreeItemCollapsibleState.None);
      item.id = `more:${node.ledger}:${node.loaded}`;
      item.iconPath = new vscode.ThemeIcon('fold-down');
      item.contextValue = 'loadMore';
      item.tooltip = `Show older events (${node.loaded} shown)`;
      item.command = { command: 'ledgerlock.loadMore', title: 'Load More', arguments: [node.ledger] };
      return item;
    }
    const e = node.event;
    const item = new vscode.TreeItem(`${e.type}  #${e.id}`, vscode.TreeItemCollapsibleState.None);
    item.id = `event:${node.ledger}:${e.id}`;
    item.description = formatTime(e.ts);
    item.iconPath = new vscode.ThemeIcon('symbol-event');
    item.contextValue = 'event';
    item.tooltip = eventTooltip(e);
    item.command = { command: 'ledgerlock.openEvent', title: 'Open Event', arguments: [node] };
    return item;
  }

  dispose(): void {
    this.disposables.forEach((d) => d.dispose());
  }
}

function ledgerItem(ledger: LedgerItem, multiRoot: boolean): vscode.TreeItem {
  const item = new vscode.TreeItem(baseName(ledger.path), vscode.TreeItemCollapsibleState.Collapsed);
  item.id = `ledger:${ledger.path}`;
  const health = ledger.error ? 'unreadable' : ledger.health;
  item.description = `${formatCount(ledger.events)} events · ${formatBytes(ledger.bytes)} · ${health}`;
  if (multiRoot) item.description += ` · ${vscode.workspace.getWorkspaceFolder(vscode.Uri.parse(ledger.folder))?.name ?? ''}`;
  const [icon, color] = HEALTH_ICONS[ledger.health];
  item.iconPath = new vscode.ThemeIcon(icon, color ? new vscode.ThemeColor(color) : undefined);
  item.contextValue = `ledger ${ledger.health}`;
  item.resourceUri = vscode.Uri.file(ledger.path);
  const md = new vscode.MarkdownString();
  md.appendMarkdown(`**${baseName(ledger.path)}** — ${health}\n\n`);
  md.appendText(`${ledger.path}\n${ledger.format} ledger, ${formatCount(ledger.events)} events, ${formatBytes(ledger.bytes)}, last id ${ledger.lastId ?? '—'}\n`);
  if (ledger.error) md.appendText(`\n${ledger.error}\n`);
  if (ledger.tailOnly) md.appendMarkdown(`\n\nOnly the tail was checked (a big ledger is never read whole to draw this view). Run **Verify Ledger** for a full check.`);
  for (const problem of ledger.problems.slice(0, 10)) md.appendText(`\n• ${problem}`);
  if (ledger.health === 'torn') md.appendMarkdown(`\n\nThe last record is incomplete. **Repair Tail** cuts it off and keeps its bytes in quarantine.`);
  item.tooltip = md;
  return item;
}

function eventTooltip(e: EventItem): vscode.MarkdownString {
  const md = new vscode.MarkdownString();
  md.appendMarkdown(`**${e.type}** #${e.id}\n\n`);
  if (e.ts) md.appendText(`${e.ts}\n`);
  const json = JSON.stringify(e.data, null, 2) ?? 'null';
  md.appendCodeblock(json.length > 1500 ? `${json.slice(0, 1500)}\n…` : json, 'json');
  return md;
}
