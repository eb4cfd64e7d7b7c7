/**
 * Reads for the Ledgers view and event documents: a page of events newest first (the engine
 * reads backwards from the tail, so the first page of a huge ledger is cheap), the events
 * written since an id (Follow), one event by id, a record's line as it is in the file, and the
 * newest recovery events of every store in the workspace. Ledgers stay open between reads
 * (ledger-readers.ts), so no read counts a big ledger's lines from the start again.
 */
import { constants as fsConstants, promises as fs, type Stats } from 'node:fs';
import { ErrorCode, LedgerlockError, MAX_DOCUMENT_BYTES, openLedger, type Ledger, type LedgerEvent, type LedgerStats } from '../engine';
import type { EventFilter, EventItem, RecoveryItem } from '../protocol';
import { withLedger } from './ledger-readers';

/** A filtered page reads at most this many events per request; the next request goes on. */
const FILTER_SCAN_BUDGET = 20_000;
const TIME_WINDOW_LIMIT = 1_000;

type PageReply = { events: EventItem[]; next: string | null; scanned: number; total?: number | null; newestId?: number | string | null };

export async function eventsPage(ledgerPath: string, cursor: string | null, limit: number, filter?: EventFilter): Promise<PageReply> {
  return withLedger(ledgerPath, async (ledger) => {
    if (cursor !== null) return readEventsPage(ledger, cursor, limit, filter);
    // The first page also says how many events there are and where Follow goes on from: counted
    // before the page is read, so an event written meanwhile is read again by Follow (the view
    // keeps each record once), never skipped.
    const { total, newestId } = await counted(ledger);
    const page = await readEventsPage(ledger, cursor, limit, filter);
    return { ...page, total, newestId };
  });
}

async function readEventsPage(ledger: Ledger, cursor: string | null, limit: number, filter?: EventFilter): Promise<PageReply> {
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
}

/**
 * Follow: the events after `afterId`, read forward from the sparse index entry at or below it,
 * so a 300,000-event ledger costs only the bytes written since (the open handle keeps its index).
 */
export async function eventsSince(
  ledgerPath: string,
  afterId: number | string,
  limit: number,
  filter?: EventFilter,
): Promise<{ events: EventItem[]; more: boolean; newestId: number | string | null; total: number | null }> {
  return withLedger(ledgerPath, async (ledger) => {
    const from = typeof afterId === 'number' ? afterId + 1 : Number(afterId) + 1;
    if (!Number.isSafeInteger(from) || from < 1) {
      throw new LedgerlockError(ErrorCode.BadOption, `afterId must be an event id, got ${JSON.stringify(afterId)}`, { option: 'afterId' });
    }
    const read = await ledger.range({ fromId: from, limit: limit + 1 });
    const more = read.length > limit;
    if (more) read.length = limit;
    // Where Follow goes on from is the newest event read, not the file's newest id now: one
    // written after the read would be skipped.
    const newestId = read.at(-1)?.id ?? from - 1;
    const matches = eventMatcher(filter, true);
    const events = (matches ? read.filter(matches) : [...read]).reverse().map(toItem);
    const { total } = await counted(ledger);
    return { events, more, newestId, total };
  });
}

/**
 * The ledger's event count and newest id. The count comes from the sparse index once it covers
 * the whole file; a range read of the newest id brings the index up to the end (new bytes only).
 * `known`: stats the caller has just read, not read again.
 */
export async function counted(ledger: Ledger, known?: LedgerStats): Promise<{ total: number | null; newestId: number | string | null }> {
  let stats = known ?? (await ledger.stats());
  if (stats.events === null && typeof stats.lastId === 'number') {
    await ledger.range({ fromId: stats.lastId, toId: stats.lastId, limit: 1 });
    stats = await ledger.stats();
  }
  return { total: stats.events, newestId: stats.lastId };
}

function eventMatcher(filter: EventFilter | undefined, withTime = false): ((e: LedgerEvent) => boolean) | undefined {
  const types = filter?.types && filter.types.length > 0 ? new Set(filter.types) : undefined;
  const text = filter?.text?.trim().toLowerCase();
  const from = withTime ? filter?.from : undefined;
  const to = withTime ? filter?.to : undefined;
  if (!types && !text && from === undefined && to === undefined) return undefined;
  return (e) => {
    if (types && !types.has(e.type)) return false;
    if (from !== undefined || to !== undefined) {
      const t = e.ts === null ? NaN : Date.parse(e.ts);
      if (Number.isNaN(t) || (from !== undefined && t < from) || (to !== undefined && t > to)) return false;
    }
    if (!text) return true;
    return `#${e.id} ${e.type} ${e.ts ?? ''} ${JSON.stringify(e.data) ?? ''}`.toLowerCase().includes(text);
  };
}

/**
 * The record at `offset` exactly as the file holds it (Copy Event JSON), without its newline.
 * It must still start a line and end at one, else the file changed under it: null then.
 */
export async function eventRaw(ledgerPath: string, offset: number, length: number): Promise<{ text: string | null; error?: string }> {
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length <= 0 || length > MAX_DOCUMENT_BYTES) {
    return { text: null, error: `not a record's place: offset ${offset}, length ${length}` };
  }
  let handle: fs.FileHandle | undefined;
  try {
    const opened = await openRegular(ledgerPath);
    if (typeof opened === 'string') return { text: null, error: opened };
    const { stat } = opened;
    handle = opened.handle;
    if (offset + length > stat.size) return { text: null, error: `${ledgerPath} is shorter than it was (repaired or compacted meanwhile?)` };
    const from = offset > 0 ? offset - 1 : 0;
    const buf = Buffer.alloc(offset + length - from);
    const { bytesRead } = await handle.read(buf, 0, buf.length, from);
    if (bytesRead !== buf.length || (offset > 0 && buf[0] !== 0x0a)) return { text: null, error: `the record at offset ${offset} is no longer there` };
    let line = buf.subarray(offset - from);
    if (line.at(-1) === 0x0a) line = line.subarray(0, -1);
    if (line.at(-1) === 0x0d) line = line.subarray(0, -1);
    return { text: line.toString('utf8') };
  } catch (err) {
    return { text: null, error: (err as Error).message };
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

/** Opens a ledger for reading without following a link or waiting on a FIFO; a string says why it is not a regular file. */
async function openRegular(ledgerPath: string): Promise<{ handle: fs.FileHandle; stat: Stats } | string> {
  const handle = await fs.open(ledgerPath, fsConstants.O_RDONLY | (fsConstants.O_NOFOLLOW ?? 0) | (fsConstants.O_NONBLOCK ?? 0));
  const stat = await handle.stat();
  if (stat.isFile()) return { handle, stat };
  await handle.close().catch(() => undefined);
  return `${ledgerPath} is not a regular file`;
}

/** The 1-based line of the record starting at `offset`: newlines before it, counted in 1 MB reads. */
export async function lineAt(ledgerPath: string, offset: number): Promise<{ line: number | null; error?: string }> {
  let handle: fs.FileHandle | undefined;
  try {
    const opened = await openRegular(ledgerPath);
    if (typeof opened === 'string') return { line: null, error: opened };
    const { stat } = opened;
    handle = opened.handle;
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
  if (!/^\d+$/.test(id)) return null;
  return withLedger(ledgerPath, async (ledger) => {
    const events = await ledger.range({ fromId: Number(id), toId: Number(id), limit: 1 });
    const found = events.find((e) => String(e.id) === id);
    return found ? toItem(found) : null;
  });
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
