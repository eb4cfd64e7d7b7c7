/**
 * The Ledgers view: ledgers grouped by workspace folder (as in every Ledgerlock view), each
 * with its health, event count and size; its children are its events newest first, one page
 * at a time with a "Load more" node. This file draws the tree; which events are loaded, and
 * how they follow a growing ledger, is event-pages.ts.
 */
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import type { EventFilter, EventItem, FolderState, LedgerItem } from '../../protocol';
import { baseName, formatBytes, formatCount, plural, relativePath } from '../format';
import { isLedgerProblem } from '../problems';
import type { ServerState } from '../server-state';
import { EventNode, EventPages, LoadMoreNode, pageSize } from './event-pages';
import { eventIcon, eventLabel, eventTimeExact, eventTime } from './event-looks';
import { FolderGroups, folderItem } from './folder-groups';
import { TreeRedraw } from './tree-redraw';

class LedgerFolderNode {
  constructor(public folder: FolderState) {}
}

export class LedgerNode {
  constructor(public ledger: LedgerItem) {}
}

type Node = LedgerFolderNode | LedgerNode | EventNode | LoadMoreNode;

/** Just over VS Code's 200 ms hold on a tree's changes (tree-redraw.ts). */
const TREE_REDRAW_MS = 210;

const HEALTH_ICONS: Record<LedgerItem['health'], [string, string | undefined]> = {
  ok: ['database', undefined],
  torn: ['warning', 'list.errorForeground'],
  corrupt: ['error', 'list.errorForeground'],
  unknown: ['question', 'descriptionForeground'],
};

export class LedgersView implements vscode.TreeDataProvider<Node>, vscode.Disposable {
  private readonly drawing = new TreeRedraw<Node>(TREE_REDRAW_MS);
  readonly onDidChangeTreeData = this.drawing.onDidChangeTreeData;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly folders = new FolderGroups(
    (f) => new LedgerFolderNode(f),
    (f) => f.ledgers,
  );
  private readonly nodes = new Map<string, LedgerNode>();
  private readonly events: EventPages;
  private badgeCount = -1;
  readonly view: vscode.TreeView<Node>;
  /** Rows redrawn since activation; tests read it. */
  redraws = 0;

  constructor(
    private readonly state: ServerState,
    client: () => LanguageClient | undefined,
    log: vscode.LogOutputChannel,
  ) {
    this.events = new EventPages(
      client,
      log,
      (p) => this.nodes.get(p)?.ledger,
      (p) => this.redrawLedger(p),
    );
    this.view = vscode.window.createTreeView('ledgerlock.ledgers', { treeDataProvider: this, showCollapseAll: true });
    this.disposables.push(
      this.view,
      this.drawing,
      this.events,
      state.onDidChange(() => this.render()),
    );
    void vscode.commands.executeCommand('setContext', 'ledgerlock.following', true);
  }

  get follow(): boolean {
    return this.events.follow;
  }

  /** Follow on: new events appear on top as they are written. Off: the list holds still. */
  setFollow(on: boolean): void {
    this.events.setFollow(on);
    void vscode.commands.executeCommand('setContext', 'ledgerlock.following', on);
    if (!on) this.drawing.request([...this.nodes.values()]);
  }

  get filter(): EventFilter | undefined {
    return this.events.filter;
  }

  setFilter(filter: EventFilter | undefined): void {
    const inForce = this.events.setFilter(filter);
    void vscode.commands.executeCommand('setContext', 'ledgerlock.eventsFiltered', inForce !== undefined);
    this.view.description = inForce ? describeFilter(inForce) : '';
    this.drawing.request([...this.nodes.values()]);
  }

  /** A Timeline bar: the ledger's events in that time window, in the view, expanded. */
  async showTimeRange(ledger: string, from: number, to: number): Promise<void> {
    this.setFilter({ ...(this.events.filter ?? {}), from, to });
    const node = this.nodes.get(ledger);
    await vscode.commands.executeCommand('workbench.view.extension.ledgerlock');
    if (node) await this.view.reveal(node, { select: true, focus: true, expand: true });
  }

  /** Drops the cached pages of a ledger, so its next expansion reads from the tail again. */
  forget(ledgerPath: string): void {
    this.events.forget(ledgerPath);
    this.redrawLedger(ledgerPath);
  }

  /** Events loaded for a ledger, newest first (event documents, copy, tests). */
  loaded(ledger: string): readonly EventItem[] {
    return this.events.loaded(ledger);
  }

  cachedEvent(ledger: string, id: string): EventItem | undefined {
    return this.events.cachedEvent(ledger, id);
  }

  /** The node of a loaded event, for reveal. */
  eventNode(ledger: string, id: string): EventNode | undefined {
    return this.events.eventNode(ledger, id);
  }

  ledgerNode(ledger: string): LedgerNode | undefined {
    return this.nodes.get(ledger);
  }

  /** Types seen in the loaded events, for the filter's pick list. */
  knownTypes(): string[] {
    return this.events.knownTypes();
  }

  /** The "Load more" node: the next page, appended below what is shown. */
  loadMore(ledgerPath: string): Promise<void> {
    return this.events.loadMore(ledgerPath);
  }

  /** Whether older events than those loaded are left (Go to Event Id). */
  hasMore(ledgerPath: string): boolean {
    return this.events.hasMore(ledgerPath);
  }

  /** The ledger's event count: the one read with its newest events when that is ahead of the summary. */
  private count(ledger: LedgerItem): number | null {
    const read = this.events.total(ledger.path);
    return read !== null && (ledger.events === null || read > ledger.events) ? read : ledger.events;
  }

  private redrawLedger(ledgerPath: string): void {
    const node = this.nodes.get(ledgerPath);
    if (node) this.drawing.request(node);
  }

  private render(): void {
    const ledgers = this.state.ledgers();
    const damaged = ledgers.filter(isLedgerProblem).length;
    if (damaged !== this.badgeCount) {
      this.badgeCount = damaged;
      this.view.badge = damaged > 0 ? { value: damaged, tooltip: `${plural(damaged, 'ledger')} torn or corrupt` } : undefined;
    }
    const { folders, structural, changed } = this.folders.update(this.state.snapshot.folders);
    const redraw: Node[] = [...changed];
    const seen = new Set<string>();
    for (const f of folders) {
      for (const ledger of f.ledgers) {
        seen.add(ledger.path);
        const node = this.nodes.get(ledger.path);
        if (!node) continue;
        const before = node.ledger;
        node.ledger = ledger;
        if (before.bytes === ledger.bytes && before.health === ledger.health && before.events === ledger.events && before.error === ledger.error) continue;
        if (this.events.ledgerChanged(before, ledger)) redraw.push(node);
      }
    }
    for (const p of [...this.nodes.keys()]) if (!seen.has(p)) this.nodes.delete(p);
    this.events.retain(seen);
    if (structural) this.drawing.request(undefined);
    else if (redraw.length > 0) this.drawing.request(redraw);
  }

  getChildren(node?: Node): Promise<Node[]> {
    return this.drawing.children(() => this.childrenOf(node));
  }

  private async childrenOf(node?: Node): Promise<Node[]> {
    if (node === undefined) {
      return this.folders.roots(this.state.snapshot.folders);
    }
    if (node instanceof LedgerFolderNode) {
      return node.folder.ledgers.map((l) => {
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
    return this.events.children(node.ledger);
  }

  getParent(node: Node): Node | undefined {
    if (node instanceof LedgerFolderNode) return undefined;
    if (node instanceof LedgerNode) return this.folders.get(node.ledger.folder);
    return this.nodes.get(node.ledger);
  }

  getTreeItem(node: Node): vscode.TreeItem {
    this.redraws++;
    if (node instanceof LedgerFolderNode) return folderItem('ledgers', node.folder.uri, node.folder.name, plural(node.folder.ledgers.length, 'ledger'));
    if (node instanceof LedgerNode) return ledgerItem({ ...node.ledger, events: this.count(node.ledger) });
    if (node instanceof LoadMoreNode) {
      const shown = this.events.loaded(node.ledger).length;
      const total = this.events.filter ? null : this.count(this.nodes.get(node.ledger)?.ledger ?? ({ path: node.ledger, events: null } as LedgerItem));
      const label = total !== null ? `Load more (${formatCount(shown)} of ${formatCount(total)})` : `Load more (${formatCount(shown)} shown)`;
      const item = new vscode.TreeItem(label, vscode.TreeItemCollapsibleState.None);
      item.id = node.rowId;
      item.iconPath = new vscode.ThemeIcon('fold-down');
      item.contextValue = 'loadMore';
      item.tooltip = `${formatCount(shown)} ${this.events.filter ? 'matching events' : 'events'} shown${total !== null ? ` of ${formatCount(total)}` : ''}: show the next ${formatCount(pageSize(node.ledger))} older ones`;
      item.command = { command: 'ledgerlock.loadMore', title: 'Load More', arguments: [node.ledger] };
      return item;
    }
    const e = node.event;
    const item = new vscode.TreeItem(eventLabel(e.id, e.type), vscode.TreeItemCollapsibleState.None);
    item.id = node.rowId;
    item.description = eventTime(e.ts);
    item.iconPath = eventIcon(e.type);
    item.contextValue = 'event';
    item.command = { command: 'ledgerlock.openEvent', title: 'Open Event', arguments: [node] };
    return item;
  }

  resolveTreeItem(item: vscode.TreeItem, node: Node): vscode.TreeItem {
    if (node instanceof EventNode) item.tooltip = eventTooltip(node.event);
    return item;
  }

  dispose(): void {
    this.disposables.forEach((d) => d.dispose());
  }
}

function describeFilter(filter: EventFilter): string {
  const parts: string[] = [];
  if (filter.types && filter.types.length > 0) parts.push(filter.types.join(', '));
  if (filter.text?.trim()) parts.push(`"${filter.text.trim()}"`);
  if (filter.from !== undefined || filter.to !== undefined)
    parts.push(
      `${filter.from !== undefined ? new Date(filter.from).toLocaleTimeString() : '…'}–${filter.to !== undefined ? new Date(filter.to).toLocaleTimeString() : '…'}`,
    );
  return `filtered: ${parts.join(' · ')}`;
}

function ledgerItem(ledger: LedgerItem): vscode.TreeItem {
  const item = new vscode.TreeItem(baseName(ledger.path), vscode.TreeItemCollapsibleState.Collapsed);
  item.id = `ledger:${ledger.path}`;
  const health = ledger.error ? 'unreadable' : ledger.health;
  // The health word leads when it matters, so a narrow sidebar never cuts it off.
  // A big ledger's count is unknown until Verify: say nothing rather than "? events".
  const parts = ledger.events === null ? [formatBytes(ledger.bytes)] : [`${formatCount(ledger.events)} events`, formatBytes(ledger.bytes)];
  if (health !== 'ok') parts.unshift(health);
  item.description = parts.join(' · ');
  const [icon, color] = HEALTH_ICONS[ledger.health];
  item.iconPath = new vscode.ThemeIcon(icon, color ? new vscode.ThemeColor(color) : undefined);
  // Compaction is offered on Ledgerlock's own ledgers only: other tools' logs are never compacted.
  item.contextValue = `ledger ${ledger.health} ${ledger.format === 'ledgerlock' ? 'native' : 'foreign'}`;
  const md = new vscode.MarkdownString();
  md.appendMarkdown(`**${baseName(ledger.path)}** — ${health}\n\n`);
  // Relative to its folder, as the Explorer says it, in a code span: appendText escapes its
  // dashes and dots, which some hovers show as `\-`.
  md.appendMarkdown(`${codeSpan(relativePath(ledger.path))}\n\n`);
  md.appendText(`${ledger.format} ledger, ${formatCount(ledger.events)} events, ${formatBytes(ledger.bytes)}, last id `);
  md.appendMarkdown(`${ledger.lastId === null ? '—' : codeSpan(String(ledger.lastId))}\n`);
  if (ledger.error) md.appendText(`\n${ledger.error}\n`);
  if (ledger.tailOnly)
    md.appendMarkdown(`\n\nOnly the tail was checked (a big ledger is never read whole to draw this view). Run **Verify Ledger** for a full check.`);
  for (const problem of ledger.problems.slice(0, 10)) md.appendText(`\n• ${problem}`);
  if (ledger.health === 'torn') md.appendMarkdown(`\n\nThe last record is incomplete. **Repair Tail** cuts it off and keeps its bytes in quarantine.`);
  item.tooltip = md;
  return item;
}

function eventTooltip(e: EventItem): vscode.MarkdownString {
  // Names and ids go in code spans and the data in a code block: appendText would escape a
  // UUID's dashes as `e4465a9d\-6af8\-…`.
  const md = new vscode.MarkdownString();
  md.appendMarkdown(`**#${e.id}** ${codeSpan(e.type)}\n\n`);
  md.appendMarkdown(`${codeSpan(eventTimeExact(e.ts))}\n\n`);
  const json = JSON.stringify(e.data, null, 2) ?? 'null';
  md.appendCodeblock(json.length > 1500 ? `${json.slice(0, 1500)}\n…` : json, 'json');
  return md;
}

/** Inline code that holds any text: the fence is one backtick longer than the longest run inside. */
function codeSpan(text: string): string {
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${text}${pad}${fence}`;
}
