/**
 * The Ledgers view's events, cached per ledger: pages read from the server newest first, the
 * next one on "Load more", and (while Follow is on) the events written since put on top, so
 * nothing already shown moves. Only a rewrite (repair, compaction) starts the pages over. A
 * filter (types, text, time) is applied by the server; changing it starts every ledger over.
 * Follow reads only what comes after the newest id read, as soon as the editor's file watcher
 * sees a write (docs/ARCHITECTURE.md, "Ledgers view: pages and Follow").
 */
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { EventsPageRequest, EventsSinceRequest, type EventFilter, type EventItem, type LedgerItem } from '../../protocol';
import { baseName } from '../format';
import { watchFile } from '../watch-file';

/** Lists of events built so far; each list's rows carry its number in their ids. */
let lists = 0;

export class EventNode {
  constructor(
    readonly ledger: string,
    readonly event: EventItem,
    /** The list it belongs to: a filter change or a rewrite starts a new one. */
    readonly list: number,
  ) {}

  /**
   * The row's id: one record (its byte offset and id) in one list. A foreign log's `#792` is a
   * line number, which a rewrite or a completed torn line gives to other content, so the id
   * alone is never the row's id: VS Code draws two rows with one id over each other.
   */
  get rowId(): string {
    return `event:${this.list}:${this.event.offset}:${this.event.id}:${this.ledger}`;
  }
}

export class LoadMoreNode {
  constructor(
    readonly ledger: string,
    readonly list: number,
  ) {}

  get rowId(): string {
    return `more:${this.list}:${this.ledger}`;
  }
}

interface Pages {
  list: number;
  nodes: EventNode[];
  rowIds: Set<string>;
  next: string | null;
  /** Ledger size when the pages were last brought up to date; smaller now means a rewrite. */
  bytes: number;
  /** The newest event id in the file at the last read: Follow reads what comes after it. */
  newestId: number | string | null;
  /** The ledger's events at the last read, when the server knew them. */
  total: number | null;
  /** Reads of this ledger run one after another. */
  busy: Promise<void>;
  /** A Follow read is waiting in `busy`: another change needs no second one. */
  catchUpQueued: boolean;
  loadMoreNode: LoadMoreNode;
  /** Tells of writes to this ledger as soon as the editor sees them (Follow). */
  watcher: vscode.Disposable | undefined;
}

/** New events read per Follow request; a bigger burst starts the pages over. */
const FOLLOW_MAX = 500;

export class EventPages implements vscode.Disposable {
  private readonly pages = new Map<string, Pages>();
  /** First pages being read, shared by concurrent looks at one ledger. */
  private readonly loading = new Map<string, Promise<Pages | undefined>>();
  /** Bumped whenever every list starts over (a filter change): a read begun before is not kept. */
  private epoch = 0;
  private following = true;
  private filterValue: EventFilter | undefined;

  /**
   * `current`: the ledger's latest summary (undefined once it is no longer shown);
   * `changed`: a ledger's events changed, so its row's children must be drawn again.
   */
  constructor(
    private readonly client: () => LanguageClient | undefined,
    private readonly log: vscode.LogOutputChannel,
    private readonly current: (ledgerPath: string) => LedgerItem | undefined,
    private readonly changed: (ledgerPath: string) => void,
  ) {}

  get follow(): boolean {
    return this.following;
  }

  /** Follow on: reads what was written meanwhile and keeps putting new events on top. */
  setFollow(on: boolean): void {
    this.following = on;
    if (on) for (const p of this.pages.keys()) this.catchUp(p);
  }

  get filter(): EventFilter | undefined {
    return this.filterValue;
  }

  /** Sets the filter (an empty one is none) and drops every page; returns the filter in force. */
  setFilter(filter: EventFilter | undefined): EventFilter | undefined {
    const empty = !filter || ((!filter.types || filter.types.length === 0) && !filter.text?.trim() && filter.from === undefined && filter.to === undefined);
    this.filterValue = empty ? undefined : filter;
    this.epoch++;
    for (const p of [...this.pages.keys()]) this.drop(p);
    this.loading.clear();
    return this.filterValue;
  }

  /** Drops the cached pages of a ledger, so its next expansion reads from the tail again. */
  forget(ledgerPath: string): void {
    this.drop(ledgerPath);
    this.loading.delete(ledgerPath);
  }

  /** Keeps only the ledgers still shown. */
  retain(shown: ReadonlySet<string>): void {
    for (const p of [...this.pages.keys()]) if (!shown.has(p)) this.drop(p);
  }

  /** Events loaded for a ledger, newest first (event documents, copy, tests). */
  loaded(ledger: string): readonly EventItem[] {
    return this.pages.get(ledger)?.nodes.map((n) => n.event) ?? [];
  }

  cachedEvent(ledger: string, id: string): EventItem | undefined {
    return this.eventNode(ledger, id)?.event;
  }

  /** The node of a loaded event, for reveal. */
  eventNode(ledger: string, id: string): EventNode | undefined {
    return this.pages.get(ledger)?.nodes.find((n) => String(n.event.id) === id);
  }

  /** Whether there are older events than those loaded. */
  hasMore(ledger: string): boolean {
    return (this.pages.get(ledger)?.next ?? null) !== null;
  }

  /** The ledger's event count as last read with its events (newer than the summary while following). */
  total(ledger: string): number | null {
    return this.pages.get(ledger)?.total ?? null;
  }

  /** Types seen in the loaded events, for the filter's pick list. */
  knownTypes(): string[] {
    const types = new Set<string>();
    for (const p of this.pages.values()) for (const n of p.nodes) types.add(n.event.type);
    return [...types].sort();
  }

  /**
   * A ledger's summary changed. Returns whether its row must be drawn again: an open ledger
   * that only grew is redrawn when its new events are put on top, not for its count alone
   * (a click landing on a row being drawn again is lost: VS Code drops the old row's command).
   */
  ledgerChanged(before: LedgerItem, ledger: LedgerItem): boolean {
    const pages = this.pages.get(ledger.path);
    const grewOnly = pages !== undefined && before.health === ledger.health && before.error === ledger.error && ledger.bytes > pages.bytes;
    if (pages && (ledger.bytes < pages.bytes || (before.health !== ledger.health && ledger.bytes !== pages.bytes))) {
      // Rewritten (repaired, compacted, quarantined): what was loaded may be gone.
      this.drop(ledger.path);
    } else if (pages && ledger.bytes > pages.bytes && this.following) {
      this.catchUp(ledger.path);
    }
    return !grewOnly;
  }

  /** A ledger's children: the pages loaded so far (the first is read on first look), then "Load more" while there is more. */
  async children(ledger: LedgerItem): Promise<(EventNode | LoadMoreNode)[]> {
    const ledgerPath = ledger.path;
    let pages = this.pages.get(ledgerPath);
    if (!pages) {
      let loading = this.loading.get(ledgerPath);
      if (!loading) {
        loading = this.loadFirst(ledger);
        this.loading.set(ledgerPath, loading);
        const started = loading;
        void started.finally(() => {
          if (this.loading.get(ledgerPath) === started) this.loading.delete(ledgerPath);
        });
      }
      pages = await loading;
      if (!pages) return [];
    }
    return pages.next !== null ? [...pages.nodes, pages.loadMoreNode] : [...pages.nodes];
  }

  /** Reads the first page; one begun before the filter changed is read again under the new one. */
  private async loadFirst(ledger: LedgerItem): Promise<Pages | undefined> {
    const ledgerPath = ledger.path;
    for (;;) {
      const epoch = this.epoch;
      const first = await this.fetchPage(ledgerPath, null);
      if (!first) return undefined;
      if (epoch !== this.epoch) continue;
      const existing = this.pages.get(ledgerPath);
      if (existing) return existing;
      const list = ++lists;
      const pages: Pages = {
        list,
        nodes: [],
        rowIds: new Set(),
        next: first.next,
        bytes: this.current(ledgerPath)?.bytes ?? ledger.bytes,
        newestId: first.newestId ?? first.events[0]?.id ?? null,
        total: first.total ?? null,
        busy: Promise.resolve(),
        catchUpQueued: false,
        loadMoreNode: new LoadMoreNode(ledgerPath, list),
        watcher: this.watch(ledgerPath),
      };
      add(pages, first.events, 'bottom');
      this.pages.set(ledgerPath, pages);
      return pages;
    }
  }

  /** Writes to the file, seen by the editor's own watcher: Follow need not wait for the server's summary. */
  private watch(ledgerPath: string): vscode.Disposable | undefined {
    return watchFile(ledgerPath, () => {
      if (this.following) this.catchUp(ledgerPath);
    });
  }

  private drop(ledgerPath: string): void {
    this.pages.get(ledgerPath)?.watcher?.dispose();
    this.pages.delete(ledgerPath);
  }

  /** The "Load more" node: the next page, appended below what is shown. */
  async loadMore(ledgerPath: string): Promise<void> {
    const pages = this.pages.get(ledgerPath);
    if (!pages || pages.next === null || !this.current(ledgerPath)) return;
    const done = pages.busy.then(async () => {
      if (this.pages.get(ledgerPath) !== pages || pages.next === null) return;
      const more = await this.fetchPage(ledgerPath, pages.next);
      if (!more || this.pages.get(ledgerPath) !== pages) return;
      add(pages, more.events, 'bottom');
      pages.next = more.next;
      this.changed(ledgerPath);
    });
    pages.busy = done;
    await done;
  }

  /** Reads the events written after the newest one read and puts them on top. */
  private catchUp(ledgerPath: string): void {
    const pages = this.pages.get(ledgerPath);
    if (!pages || pages.catchUpQueued || !this.current(ledgerPath)) return;
    pages.catchUpQueued = true;
    pages.busy = pages.busy.then(async () => {
      pages.catchUpQueued = false;
      const client = this.client();
      // Paused while this read waited (or ran): the list holds still; Follow reads it again when on.
      if (this.pages.get(ledgerPath) !== pages || !client || !this.following) return;
      let reply;
      try {
        reply = await client.sendRequest(EventsSinceRequest.type, {
          ledger: ledgerPath,
          afterId: pages.newestId ?? 0,
          limit: FOLLOW_MAX,
          ...(this.filterValue ? { filter: this.filterValue } : {}),
        });
      } catch (err) {
        this.log.debug(`could not read new events of ${ledgerPath}: ${(err as Error).message}`);
        return;
      }
      if (this.pages.get(ledgerPath) !== pages || !this.following) return;
      if (reply.more) {
        // Too many to splice in: start over from the newest page.
        this.drop(ledgerPath);
        this.changed(ledgerPath);
        return;
      }
      const summary = this.current(ledgerPath);
      if (summary) pages.bytes = Math.max(pages.bytes, summary.bytes);
      if (reply.total !== null) pages.total = reply.total;
      const countChanged = reply.newestId !== pages.newestId;
      if (reply.newestId !== null) pages.newestId = reply.newestId;
      const added = add(pages, reply.events, 'top');
      if (added === 0 && !countChanged) return;
      this.changed(ledgerPath);
    });
  }

  private async fetchPage(ledgerPath: string, cursor: string | null): Promise<EventsPage | undefined> {
    const client = this.client();
    if (!client) return undefined;
    const limit = pageSize(ledgerPath);
    const started = Date.now();
    try {
      const page = await client.sendRequest(EventsPageRequest.type, {
        ledger: ledgerPath,
        cursor,
        limit,
        ...(this.filterValue ? { filter: this.filterValue } : {}),
      });
      this.log.debug(
        `${cursor === null ? 'first page' : 'next page'} of ${baseName(ledgerPath)}: ${page.events.length} events (${page.scanned} read) in ${Date.now() - started} ms`,
      );
      return page;
    } catch (err) {
      this.log.error(`could not read events of ${ledgerPath}: ${(err as Error).message}`);
      vscode.window.setStatusBarMessage(`$(error) Ledgerlock: could not read the events of ${baseName(ledgerPath)}: ${(err as Error).message}`, 10_000);
      return undefined;
    }
  }

  dispose(): void {
    for (const p of [...this.pages.keys()]) this.drop(p);
  }
}

type EventsPage = { events: EventItem[]; next: string | null; total?: number | null | undefined; newestId?: number | string | null | undefined };

/** Events per page (the `ledgerlock.pageSize` setting). */
export function pageSize(ledgerPath: string): number {
  return vscode.workspace.getConfiguration('ledgerlock', vscode.Uri.file(ledgerPath)).get<number>('pageSize', 50);
}

/** Puts events on top (newer) or at the bottom (older) of a list, each record once; returns how many were new. */
function add(pages: Pages, events: readonly EventItem[], where: 'top' | 'bottom'): number {
  const fresh: EventNode[] = [];
  for (const e of events) {
    const node = new EventNode(pages.nodes[0]?.ledger ?? pages.loadMoreNode.ledger, e, pages.list);
    if (pages.rowIds.has(node.rowId)) continue;
    pages.rowIds.add(node.rowId);
    fresh.push(node);
  }
  if (where === 'top') pages.nodes.unshift(...fresh);
  else pages.nodes.push(...fresh);
  return fresh.length;
}
