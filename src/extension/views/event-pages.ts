/**
 * The Ledgers view's events, cached per ledger: pages read from the server newest first, the
 * next one on "Load more", and (while Follow is on) the events written since put on top, so
 * nothing already shown moves. Only a rewrite (repair, compaction) starts the pages over. A
 * filter (types, text, time) is applied by the server; changing it starts every ledger over.
 */
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { EventsPageRequest, type EventFilter, type EventItem, type LedgerItem } from '../../protocol';
import { baseName } from '../format';

export class EventNode {
  constructor(
    readonly ledger: string,
    readonly event: EventItem,
  ) {}
}

export class LoadMoreNode {
  constructor(readonly ledger: string) {}
}

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

/** New events read per update while following; a bigger burst starts the pages over. */
const FOLLOW_MAX_PAGES = 10;

export class EventPages {
  private readonly pages = new Map<string, Pages>();
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
    this.pages.clear();
    return this.filterValue;
  }

  /** Drops the cached pages of a ledger, so its next expansion reads from the tail again. */
  forget(ledgerPath: string): void {
    this.pages.delete(ledgerPath);
  }

  /** Keeps only the ledgers still shown. */
  retain(shown: ReadonlySet<string>): void {
    for (const p of [...this.pages.keys()]) if (!shown.has(p)) this.pages.delete(p);
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
      this.pages.delete(ledger.path);
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
      const { bytes, events } = ledger;
      const first = await this.fetchPage(ledgerPath, null);
      if (!first) return [];
      pages = this.pages.get(ledgerPath);
      if (!pages) {
        pages = {
          nodes: first.events.map((e) => new EventNode(ledgerPath, e)),
          next: first.next,
          bytes,
          events,
          busy: Promise.resolve(),
          loadMoreNode: new LoadMoreNode(ledgerPath),
        };
        this.pages.set(ledgerPath, pages);
      }
    }
    return pages.next !== null ? [...pages.nodes, pages.loadMoreNode] : [...pages.nodes];
  }

  /** The "Load more" node: the next page, appended below what is shown. */
  async loadMore(ledgerPath: string): Promise<void> {
    const pages = this.pages.get(ledgerPath);
    if (!pages || pages.next === null || !this.current(ledgerPath)) return;
    const done = pages.busy.then(async () => {
      if (this.pages.get(ledgerPath) !== pages || pages.next === null) return;
      const more = await this.fetchPage(ledgerPath, pages.next);
      if (!more || this.pages.get(ledgerPath) !== pages) return;
      const have = new Set(pages.nodes.map((n) => String(n.event.id)));
      pages.nodes.push(...more.events.filter((e) => !have.has(String(e.id))).map((e) => new EventNode(ledgerPath, e)));
      pages.next = more.next;
      this.changed(ledgerPath);
    });
    pages.busy = done;
    await done;
  }

  /** Reads the events written since the newest loaded one and puts them on top. */
  private catchUp(ledgerPath: string): void {
    const pages = this.pages.get(ledgerPath);
    if (!pages || !this.current(ledgerPath)) return;
    pages.busy = pages.busy.then(async () => {
      const target = this.current(ledgerPath);
      if (this.pages.get(ledgerPath) !== pages || !target || target.bytes <= pages.bytes) return;
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
        this.changed(ledgerPath);
        return;
      }
      pages.bytes = target.bytes;
      pages.events = target.events;
      if (fresh.length === 0) return;
      pages.nodes.unshift(...fresh.map((e) => new EventNode(ledgerPath, e)));
      this.changed(ledgerPath);
    });
  }

  private async fetchPage(ledgerPath: string, cursor: string | null): Promise<{ events: EventItem[]; next: string | null } | undefined> {
    const client = this.client();
    if (!client) return undefined;
    const limit = vscode.workspace.getConfiguration('ledgerlock', vscode.Uri.file(ledgerPath)).get<number>('pageSize', 50);
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
}

function isNewer(a: number | string, b: number | string): boolean {
  return typeof a === 'number' && typeof b === 'number' ? a > b : String(a) > String(b);
}
