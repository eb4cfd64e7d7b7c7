/**
 * Ledgers the server reads again and again (the Ledgers view's pages, Follow, Load more, the
 * row's summary) stay open here, so the engine's sparse index of each is kept in memory and
 * only the bytes written since the last read are scanned: a foreign log's line numbers (its
 * ids) are not counted again from the start for every page (docs/ARCHITECTURE.md, "Ledgers
 * view: pages and Follow"). A handle holds no descriptor or lock between reads.
 */
import { promises as fs } from 'node:fs';
import { openLedger, type Ledger } from '../engine';

/** Ledgers kept open at once; the least recently read is closed first. */
const MAX_OPEN = 16;

interface Reader {
  ledger: Ledger;
  /** The file's inode and size when last used: a new inode or a smaller size is a rewrite. */
  ino: number;
  size: number;
}

const readers = new Map<string, Reader>();

/**
 * Runs `work` on an open handle of `ledgerPath`, opening it on first use, and again when the
 * file was replaced or shrank (repair, compaction), since its format and index may differ then.
 */
export async function withLedger<T>(ledgerPath: string, work: (ledger: Ledger) => Promise<T>): Promise<T> {
  const st = await fs.stat(ledgerPath).catch(() => undefined);
  let reader = readers.get(ledgerPath);
  if (reader && (!st || st.ino !== reader.ino || st.size < reader.size)) {
    forgetLedgerReader(ledgerPath);
    reader = undefined;
  }
  if (reader && st) {
    // Most recently used last.
    readers.delete(ledgerPath);
    readers.set(ledgerPath, reader);
    reader.size = st.size;
    return work(reader.ledger);
  }
  // Missing files get the engine's own error; an empty one has no line to tell its format by yet.
  const ledger = await openLedger(ledgerPath, { create: false, telemetry: false });
  if (!st || st.size === 0) {
    try {
      return await work(ledger);
    } finally {
      await ledger.close().catch(() => undefined);
    }
  }
  readers.set(ledgerPath, { ledger, ino: st.ino, size: st.size });
  while (readers.size > MAX_OPEN) forgetLedgerReader(readers.keys().next().value as string);
  return work(ledger);
}

/** Closes a ledger kept open: replaced, shrunk, or the least recently read. */
function forgetLedgerReader(ledgerPath: string): void {
  const reader = readers.get(ledgerPath);
  if (!reader) return;
  readers.delete(ledgerPath);
  void reader.ledger.close().catch(() => undefined);
}
