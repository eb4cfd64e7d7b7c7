/**
 * Reads for the Ledgers view and event documents: a page of events newest first (the engine
 * reads backwards from the tail, so the first page of a huge ledger is cheap), one event by
 * id, and the newest recovery events of every store in the workspace.
 */
import { openLedger, type LedgerEvent } from '../engine';
import type { EventItem, RecoveryItem } from '../protocol';

export async function eventsPage(ledgerPath: string, cursor: string | null, limit: number): Promise<{ events: EventItem[]; next: string | null }> {
  const ledger = await openLedger(ledgerPath, { create: false, telemetry: false });
  try {
    const page = await ledger.page({ cursor, limit });
    return { events: page.events.map(toItem), next: page.next };
  } finally {
    await ledger.close().catch(() => undefined);
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
