/** What `status` says of one ledger: `path`, `events`, `bytes`, `lastId`, `health` (docs/ARCHITECTURE.md, "CLI contract"). */
import { openLedger, type LedgerProblem } from '../../engine';
import { toLedgerlockError } from '../../engine/errors';

export interface LedgerSummary {
  path: string;
  format: 'ledgerlock' | 'foreign' | null;
  events: number;
  bytes: number;
  lastId: number | null;
  health: 'ok' | 'torn' | 'corrupt';
  problems: LedgerProblem[];
  error?: { code: string; message: string };
}

export async function summarizeLedger(file: string, onProgress?: (bytes: number, total: number) => void): Promise<LedgerSummary> {
  try {
    const ledger = await openLedger(file, { create: false, telemetry: false });
    try {
      const report = await ledger.verify(onProgress !== undefined ? { onProgress } : {});
      return {
        path: file,
        format: report.format,
        events: report.events,
        bytes: report.bytes,
        lastId: report.lastId,
        health: report.health,
        problems: report.problems,
      };
    } finally {
      await ledger.close();
    }
  } catch (err) {
    const known = toLedgerlockError(err);
    if (known === undefined) throw err;
    return {
      path: file,
      format: null,
      events: 0,
      bytes: 0,
      lastId: null,
      health: 'corrupt',
      problems: [],
      error: { code: known.code, message: known.message },
    };
  }
}
