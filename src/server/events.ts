/**
 * Reads for the Ledgers view and event documents: a page of events newest first (the engine
 * reads backwards from the tail, so the first page of a huge ledger is cheap), one event by
 * id, and the newest recovery events of every store in the workspace.
 */
import { constants as fsConstants, promises as fs } from 'node:fs';
import { openLedger, type LedgerEvent } from '../engine';
import type { EventFilter, EventItem, RecoveryItem } from '../protocol';

/** A filtered page reads at most this many events per request; the next request goes on. */
const FILTER_SCAN_BUDGET = 20_000;
const TIME_WINDOW_LIMIT = 1_000;

export async function eventsPage(
  ledgerPath: string,
  cursor: string | null,
  limit: number,
  filter?: EventFilter,
): Promise<{ events: EventItem[]; next: string | null; scanned: number }> {
  const ledger = await openLedger(ledgerPath, { create: false, telemetry: false });
  try {
    const matches = eventMatcher(filter);
    if (filter?.from !== undefined || filter?.to !== undefined) {
      // A time window (a Timeline bar): its first TIME_WINDOW_LIMIT events, newest first.
      const events = await ledger.range({
        ...(filter.from !== undefined ? { fromTime: new Date(filter.from).toISOString() } : {}),
        ...(filter.to !== undefined ? { toTime: new Date(filter.to).toISOString() } : {}),
        limit: TIME_WINDOW_LIMIT,
      });
      const kept = matches ? events.filter(matches) : events;
      return { events: kept.reverse().map(toItem), next: null, scanned: events.length };
    }
    if (!matches) {
      const page = await ledger.page({ cursor, limit });
      return { events: page.events.map(toItem), next: page.next, scanned: page.events.length };
    }
    const events: EventItem[] = [];
    let next = cursor;
    let scanned = 0;
    do {
      const page = await ledger.page({ cursor: next, limit: Math.max(limit, Math.min(1000, FILTER_SCAN_BUDGET - scanned)) });
      scanned += page.events.length;
      next = page.next;
      // Whole engine pages only (the cursor is the engine's): a page may hold a few more than `limit`.
      for (const e of page.events) if (matches(e)) events.push(toItem(e));
    } while (events.length < limit && next !== null && scanned < FILTER_SCAN_BUDGET);
    return { events, next, scanned };
  } finally {
    await ledger.close().catch(() => undefined);
  }
}

function eventMatcher(filter: EventFilter | undefined): ((e: LedgerEvent) => boolean) | undefined {
  const types = filter?.types && filter.types.length > 0 ? new Set(filter.types) : undefined;
  const text = filter?.text?.trim().toLowerCase();
  if (!types && !text) return undefined;
  return (e) => {
    if (types && !types.has(e.type)) return false;
    if (!text) return true;
    return `#${e.id} ${e.type} ${e.ts ?? ''} ${JSON.stringify(e.data) ?? ''}`.toLowerCase().includes(text);
  };
}

/** The 1-based line of the record starting at `offset`: newlines before it, counted in 1 MB reads. */
export async function lineAt(ledgerPath: string, offset: number): Promise<{ line: number | null; error?: string }> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(ledgerPath, fsConstants.O_RDONLY | (fsConstants.O_NOFOLLOW ?? 0) | (fsConstants.O_NONBLOCK ?? 0));
    const stat = await handle.stat();
    if (!stat.isFile()) return { line: null, error: `${ledgerPath} is not a regular file` };
    const end = Math.min(offset, stat.size);
    const chunk = Buffer.allocUnsafe(1 << 20);
    let newlines = 0;
    for (let pos = 0; pos < end;) {
      const { bytesRead } = await handle.read(chunk, 0, Math.min(chunk.length, end - pos), pos);
      if (bytesRead <= 0) break;
      for (let i = chunk.indexOf(0x0a, 0); i !== -1 && i < bytesRead; i = chunk.indexOf(0x0a, i + 1)) newlines++;
      pos += bytesRead;
    }
    return { line: newlines + 1 };
  } catch (err) {
    return { line: null, error: (err as Error).message };
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

export async function eventById(ledgerPath: string, id: string): Promise<EventItem | null> {
  const ledger = await openLedger(ledgerPath, { create: false, telemetry: false });
  try {
    if (!/^\d+$/.test(id)) return null;
    const events = await ledger.range({ fromId: Number(id), toId: Number(id), limit: 1 });
    const found = events.find((e) => String(e.id) === id);
    return found ? toItem(found) : null;
  } finally {
    await ledger.close().catch(() => undefined);
  }
}

export async function recentRecoveries(logs: string[], limit: number): Promise<RecoveryItem[]> {
  const all: RecoveryItem[] = [];
  for (const log of logs) {
    try {
      const ledger = await openLedger(log, { create: false, telemetry: false });
      try {
        const events = await ledger.tail(limit);
        for (const e of events) all.push({ source: log, id: e.id, ts: e.ts, type: e.type, data: e.data });
      } finally {
        await ledger.close().catch(() => undefined);
      }
    } catch {
      // A missing or damaged log shows no recoveries; the Ledgers view reports its damage.
    }
  }
  return all.sort((a, b) => String(b.ts ?? '').localeCompare(String(a.ts ?? ''))).slice(0, limit);
}

function toItem(e: LedgerEvent): EventItem {
  const item: EventItem = { id: e.id, ts: e.ts, type: e.type, offset: e.offset, length: e.length, data: e.data };
  if (e.line !== undefined) item.line = e.line;
  return item;
}
