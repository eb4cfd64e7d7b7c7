/**
 * The ledger's cross-process lock. Inside a native store it is `.ledgerlock/locks/<name>.lock`,
 * elsewhere `<ledger>.lock` beside the ledger.
 */
import * as path from 'node:path';
import { storePathsOf } from '../store';
import type { TelemetryTarget } from '../telemetry';
import { withLock } from '../lock';

export function ledgerName(ledgerPath: string): string {
  return path.basename(ledgerPath).replace(/\.(jsonl|ndjson)$/i, '');
}

export function ledgerLockPath(ledgerPath: string): string {
  const store = storePathsOf(ledgerPath);
  return store ? path.join(store.locks, `${ledgerName(ledgerPath)}.lock`) : `${ledgerPath}.lock`;
}

export interface LedgerLockOptions {
  tool: string;
  lockTimeoutMs: number;
  telemetry: TelemetryTarget;
}

/** Lock holders of this process queue here first, so they never poll the lock file against each other. */
const inProcess = new Map<string, Promise<unknown>>();

export async function withLedgerLock<T>(ledgerPath: string, opts: LedgerLockOptions, task: () => Promise<T>): Promise<T> {
  const lockPath = ledgerLockPath(ledgerPath);
  const before = inProcess.get(lockPath) ?? Promise.resolve();
  const mine = before.catch(() => undefined).then(() => holdFileLock(lockPath, opts, task));
  const settled = mine.catch(() => undefined);
  inProcess.set(lockPath, settled);
  void settled.then(() => {
    if (inProcess.get(lockPath) === settled) inProcess.delete(lockPath);
  });
  return mine;
}

async function holdFileLock<T>(lockPath: string, opts: LedgerLockOptions, task: () => Promise<T>): Promise<T> {
  // Ledger locks are held for one write + fsync: poll briefly rather than with the default long backoff.
  return withLock(lockPath, () => task(), { tool: opts.tool, timeoutMs: opts.lockTimeoutMs, telemetry: opts.telemetry, retryBaseMs: 1, retryMaxMs: 25 });
}
