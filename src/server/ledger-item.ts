/**
 * What the Ledgers view shows for one ledger: size, event count and health. Small ledgers
 * are verified in full (so a corrupt record in the middle is seen); big ones only get the
 * engine's cheap stats, which read the tail, so a 1 GB ledger is never read whole to draw
 * the view. A full verify of a big ledger is an explicit command.
 */
import type { VerifyReport } from '../engine';
import type { LedgerItem } from '../protocol';
import { counted } from './events';
import { withLedger } from './ledger-readers';

const FULL_VERIFY_MAX_BYTES = 8 * 1024 * 1024;

export interface LedgerSummary {
  item: LedgerItem;
  report: VerifyReport | undefined;
}

export async function summarizeLedger(ledgerPath: string, folder: string): Promise<LedgerSummary> {
  try {
    // The open handle is shared with the view's pages (ledger-readers.ts): a growing ledger's
    // count comes from its index brought up to the end, reading only the bytes written since.
    return await withLedger(ledgerPath, async (ledger) => {
      const stats = await ledger.stats();
      const base: LedgerItem = {
        path: ledgerPath,
        folder,
        format: stats.format,
        bytes: stats.bytes,
        events: stats.events,
        lastId: stats.lastId ?? null,
        health: stats.health,
        problems: [],
      };
      if (stats.bytes > FULL_VERIFY_MAX_BYTES) {
        // The stats looked at the tail only: a torn tail shows, damage further in needs Verify.
        const events = stats.events ?? (await counted(ledger, stats)).total;
        return { item: { ...base, events, health: stats.health === 'unknown' ? 'ok' : stats.health, tailOnly: true }, report: undefined };
      }
      const report = await ledger.verify({});
      return { item: fromReport(base, report), report };
    });
  } catch (err) {
    return { item: unreadable(ledgerPath, folder, err), report: undefined };
  }
}

export function fromReport(base: LedgerItem, report: VerifyReport): LedgerItem {
  return {
    ...base,
    format: report.format,
    bytes: report.bytes,
    events: report.events,
    lastId: report.lastId ?? base.lastId,
    health: report.health,
    // Say the line once: some problem messages already start with it.
    problems: report.problems.map((p) => (p.line && !p.message.startsWith(`line ${p.line}:`) ? `line ${p.line}: ${p.message}` : p.message)),
  };
}

function unreadable(ledgerPath: string, folder: string, err: unknown): LedgerItem {
  const e = err as { code?: string; message?: string };
  return {
    path: ledgerPath,
    folder,
    format: 'unknown',
    bytes: 0,
    events: null,
    lastId: null,
    health: 'unknown',
    problems: [],
    error: e.code ? `${e.code}: ${e.message}` : String(e.message ?? err),
  };
}
