/**
 * The Ledgers view: ledgers grouped by workspace folder (as in every Ledgerlock view), each
 * with its health, event count and size; its children are its events newest first, one page
 * at a time (the server reads from the tail) with a "Load more" node.
 *
 * Pages that were loaded stay loaded: when a ledger grows, its newer events are read and put
 * on top (while Follow is on, the default) and nothing below moves. Only a rewrite (repair,
 * compaction) starts the pages over. A filter (types, text) is applied by the server.
 */
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { EventsPageRequest, type EventFilter, type EventItem, type FolderState, type LedgerItem } from '../../protocol';
import { baseName, formatBytes, formatCount, formatTime, plural } from '../format';
import { isLedgerProblem } from '../problems';
import type { ServerState } from '../server-state';
import { FolderGroups, folderItem } from './folder-groups';

export class LedgerFolderNode {
  constructor(public folder: FolderState) {}
}

export class LedgerNode {
  constructor(public ledger: LedgerItem) {}
}

export class EventNode {
  constructor(readonly ledger: string, readonly event: EventItem) {}
}

export class LoadMoreNode {
  constructor(readonly ledger: string) {}
}

type Node = LedgerFolderNode | LedgerNode | EventNode | LoadMoreNode;

interface Pages {
  nodes: EventNode[];
  next: string | null;
  /** Ledger size when the newest loaded event was read; smaller now means a rewrite. */
  bytes: number;
  /** Events the ledger had then, to tell how many arrived while Follow is off. */
  events: number | null;
  /** Reads of this ledger run one after another. */
  busy: Promise<void>;
  loadMoreNode: LoadMoreNode;
}

const HEALTH_ICONS: Record<LedgerItem['health'], [string, string | undefined]> = {
  ok: ['database', undefined],
  torn: ['warning', 'list.errorForeground'],
  corrupt: ['error', 'list.errorForeground'],
  unknown: ['question', 'descriptionForeground'],
};

/** New events read per update while following; a bigger burst starts the pages over. */
const FOLLOW_MAX_PAGES = 10;

export class LedgersView implements vscode.TreeDataProvider<Node>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<Node | Node[] | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly folders = new FolderGroups((f) => new LedgerFolderNode(f), (f) => f.ledgers);
  private readonly nodes = new Map<string, LedgerNode>();
  private readonly pages = new Map<string, Pages>();
  private badgeCount = -1;
  private following = true;
  private filterValue: EventFilter | undefined;
  readonly view: vscode.TreeView<Node>;
  /** Rows redrawn since activation; tests read it. */
  redraws = 0;

  constructor(
    private readonly state: ServerState,
    private readonly client: () => LanguageClient | undefined,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.view = vscode.window.createTreeView('ledgerlock.ledgers', { treeDataProvider: this, showCollapseAll: true });
    this.disposables.push(this.view, this.changed, state.onDidChange(() => this.render()));
    void vscode.commands.executeCommand('setContext', 'ledgerlock.following', true);
  }

  get follow(): boolean {
    return this.following;
  }

  /** Follow on: new events appear on top as they are written. Off: the list holds still. */
  setFollow(on: boolean): void {
    this.following = on;
    void vscode.commands.executeCommand('setContext', 'ledgerlock.following', on);
    if (on) for (const p of this.pages.keys()) this.catchUp(p);
    else this.changed.fire([...this.nodes.values()]);
  }

  get filter(): EventFilter | undefined {
    return this.filterValue;
  }

  setFilter(filter: EventFilter | undefined): void {
    const empty = !filter || ((!filter.types || filter.types.length === 0) && !filter.text?.trim() && filter.from === undefined && filter.to === undefined);
    this.filterValue = empty ? undefined : filter;
    void vscode.commands.executeCommand('setContext', 'ledgerlock.eventsFiltered', !empty);
    this.view.description = this.filterValue ? describeFilter(this.filterValue) : undefined;
    this.pages.clear();
    this.changed.fire([...this.nodes.values()]);
  }

  /** A Timeline bar: the ledger's events in that time window, in the view, expanded. */
  async showTimeRange(ledger: string, from: number, to: number): Promise<void> {
    this.setFilter({ ...(this.filterValue ?? {}), from, to });
    const node = this.nodes.get(ledger);
    await vscode.commands.executeCommand('workbench.view.extension.ledgerlock');
    if (node) await this.view.reveal(node, { select: true, focus: true, expand: true });
  }

  /** Drops the cached pages of a ledger, so its next expansion reads from the tail again. */
  forget(ledgerPath: string): void {
    this.pages.delete(ledgerPath);
    const node = this.nodes.get(ledgerPath);
    if (node) this.changed.fire(node);
  }

  /** Events loaded for a ledger, newest first (event documents, copy, tests). */
  loaded(ledger: string): readonly EventItem[] {
    return this.pages.get(ledger)?.nodes.map((n) => n.event) ?? [];
  }

  cachedEvent(ledger: string, id: string): EventItem | undefined {
    return this.pages.get(ledger)?.nodes.find((n) => String(n.event.id) === id)?.event;
  }

  /** The node of a loaded event, for reveal. */
  eventNode(ledger: string, id: string): EventNode | undefined {
    return this.pages.get(ledger)?.nodes.find((n) => String(n.event.id) === id);
  }

  ledgerNode(ledger: string): LedgerNode | undefined {
    return this.nodes.get(ledger);
  }

  /** Types seen in the loaded events, for the filter's pick list. */
  knownTypes(): string[] {
    const types = new Set<string>();
    for (const p of this.pages.values()) for (const n of p.nodes) types.add(n.event.type);
    return [...types].sort();
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
        const pages = this.pages.get(ledger.path);
        // An open ledger that only grew is redrawn when its new events are put on top (Follow),
        // not for its count alone: every redraw renders its rows again, and a click landing on a
        // row being rendered again is lost (VS Code drops the old row's command).
        const grewOnly = pages !== undefined && before.health === ledger.health && before.error === ledger.error && ledger.bytes > pages.bytes;
        if (!grewOnly) redraw.push(node);
        if (!pages) continue;
        if (ledger.bytes < pages.bytes || (before.health !== ledger.health && ledger.bytes !== pages.bytes)) {
          // Rewritten (repaired, compacted, quarantined): what was loaded may be gone.
          this.pages.delete(ledger.path);
        } else if (ledger.bytes > pages.bytes && this.following) {
          this.catchUp(ledger.path);
        }
      }
    }
    for (const p of [...this.nodes.keys()]) if (!seen.has(p)) this.nodes.delete(p);
    for (const p of [...this.pages.keys()]) if (!seen.has(p)) this.pages.delete(p);
    if (structural) this.changed.fire(undefined);
    else if (redraw.length > 0) this.changed.fire(redraw);
  }

  /** Reads the events written since the newest loaded one and puts them on top. */
  private catchUp(ledgerPath: string): void {
    const pages = this.pages.get(ledgerPath);
    const node = this.nodes.get(ledgerPath);
    if (!pages || !node) return;
    pages.busy = pages.busy.then(async () => {
      if (this.pages.get(ledgerPath) !== pages) return;
      const target = node.ledger;
      if (target.bytes <= pages.bytes) return;
      const newest = pages.nodes[0]?.event.id;
      const fresh: EventItem[] = [];
      let cursor: string | null = null;
      let reached = newest === undefined;
      for (let i = 0; i < FOLLOW_MAX_PAGES && !reached; i++) {
        const page = await this.fetchPage(ledgerPath, cursor);
        if (!page) return;
        for (const e of page.events) {
          if (newest !== undefined && !isNewer(e.id, newest)) {
            reached = true;
            break;
          }
          fresh.push(e);
        }
        cursor = page.next;
        if (cursor === null) reached = true;
      }
      if (this.pages.get(ledgerPath) !== pages) return;
      if (!reached) {
        // Too many to splice in: start over from the newest page.
        this.pages.delete(ledgerPath);
        this.changed.fire(node);
        return;
      }
      pages.bytes = target.bytes;
      pages.events = target.events;
      if (fresh.length === 0) return;
      pages.nodes.unshift(...fresh.map((e) => new EventNode(ledgerPath, e)));
      this.changed.fire(node);
    });
  }

  async getChildren(node?: Node): Promise<Node[]> {
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
    const ledgerPath = node.ledger.path;
    let pages = this.pages.get(ledgerPath);
    if (!pages) {
      const bytes = node.ledger.bytes;
      const events = node.ledger.events;
      const first = await this.fetchPage(ledgerPath, null);
      if (!first) return [];
      pages = this.pages.get(ledgerPath);
      if (!pages) {
        pages = { nodes: first.events.map((e) => new EventNode(ledgerPath, e)), next: first.next, bytes, events, busy: Promise.resolve(), loadMoreNode: new LoadMoreNode(ledgerPath) };
        this.pages.set(ledgerPath, pages);
      }
    }
    const children: Node[] = [...pages.nodes];
    if (pages.next !== null) children.push(pages.loadMoreNode);
    return children;
  }

  getParent(node: Node): Node | undefined {
    if (node instanceof LedgerFolderNode) return undefined;
    if (node instanceof LedgerNode) return this.folders.get(node.ledger.folder);
    return this.nodes.get(node.ledger);
  }

  /** The "Load more" node: the next page, appended below what is shown. */
  async loadMore(ledgerPath: string): Promise<void> {
    const pages = this.pages.get(ledgerPath);
    const node = this.nodes.get(ledgerPath);
    if (!pages || pages.next === null || !node) return;
    const done = pages.busy.then(async () => {
      if (this.pages.get(ledgerPath) !== pages || pages.next === null) return;
      const more = await this.fetchPage(ledgerPath, pages.next);
      if (!more || this.pages.get(ledgerPath) !== pages) return;
      const have = new Set(pages.nodes.map((n) => String(n.event.id)));
      pages.nodes.push(...more.events.filter((e) => !have.has(String(e.id))).map((e) => new EventNode(ledgerPath, e)));
      pages.next = more.next;
      this.changed.fire(node);
    });
    pages.busy = done;
    await done;
  }

  private async fetchPage(ledgerPath: string, cursor: string | null): Promise<{ events: EventItem[]; next: string | null } | undefined> {
    const client = this.client();
    if (!client) return undefined;
    const limit = vscode.workspace.getConfiguration('ledgerlock', vscode.Uri.file(ledgerPath)).get<number>('pageSize', 50);
    const started = Date.now();
    try {
      const page = await client.sendRequest(EventsPageRequest.type, { ledger: ledgerPath, cursor, limit, ...(this.filterValue ? { filter: this.filterValue } : {}) });
      this.log.debug(`${cursor === null ? 'first page' : 'next page'} of ${baseName(ledgerPath)}: ${page.events.length} events (${page.scanned} read) in ${Date.now() - started} ms`);
      return page;
    } catch (err) {
      this.log.error(`could not read events of ${ledgerPath}: ${(err as Error).message}`);
      vscode.window.setStatusBarMessage(`$(error) Ledgerlock: could not read the events of ${baseName(ledgerPath)}: ${(err as Error).message}`, 10_000);
      return undefined;
    }
  }

  getTreeItem(node: Node): vscode.TreeItem {
    this.redraws++;
    if (node instanceof LedgerFolderNode) return folderItem('ledgers', node.folder.uri, node.folder.name, plural(node.folder.ledgers.length, 'ledger'));
    if (node instanceof LedgerNode) return ledgerItem(node.ledger);
    if (node instanceof LoadMoreNode) {
      const shown = this.pages.get(node.ledger)?.nodes.length ?? 0;
      const item = new vscode.TreeItem('Load more…', vscode.TreeItemCollapsibleState.None);
      item.id = `more:${node.ledger}`;
      item.iconPath = new vscode.ThemeIcon('fold-down');
      item.contextValue = 'loadMore';
      item.tooltip = `Show older events (${formatCount(shown)} shown)`;
      item.command = { command: 'ledgerlock.loadMore', title: 'Load More', arguments: [node.ledger] };
      return item;
    }
    const e = node.event;
    const item = new vscode.TreeItem(`${e.type}  #${e.id}`, vscode.TreeItemCollapsibleState.None);
    item.id = `event:${node.ledger}:${e.id}`;
    item.description = formatTime(e.ts);
    item.iconPath = new vscode.ThemeIcon('symbol-event');
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

function isNewer(a: number | string, b: number | string): boolean {
  return typeof a === 'number' && typeof b === 'number' ? a > b : String(a) > String(b);
}

export function describeFilter(filter: EventFilter): string {
  const parts: string[] = [];
  if (filter.types && filter.types.length > 0) parts.push(filter.types.join(', '));
  if (filter.text?.trim()) parts.push(`"${filter.text.trim()}"`);
  if (filter.from !== undefined || filter.to !== undefined) parts.push(`${filter.from !== undefined ? new Date(filter.from).toLocaleTimeString() : '…'}–${filter.to !== undefined ? new Date(filter.to).toLocaleTimeString() : '…'}`);
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
  item.contextValue = `ledger ${ledger.health}`;
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
