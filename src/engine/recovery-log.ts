/**
 * The recovery log as a telemetry sink: events go to `telemetry.jsonl` of the store enclosing
 * the path an operation touched. Installed when the engine loads (index.ts), so telemetry.ts
 * itself needs neither the store nor the ledger.
 */
import * as path from 'node:path';
import { openLedger } from './ledger';
import { findStoreDir, storePaths } from './store';
import type { RecoverySink, TelemetryEvent } from './telemetry';

async function appendToRecoveryLog(storeDir: string, event: TelemetryEvent): Promise<void> {
  const ledger = await openLedger(storePaths(path.dirname(storeDir)).telemetry, { telemetry: false, durability: 'fsync' });
  try {
    await ledger.append(event.type, event.data);
  } finally {
    await ledger.close();
  }
}

export const storeRecoveryLog: RecoverySink = { locate: findStoreDir, append: appendToRecoveryLog };
