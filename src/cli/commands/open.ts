/** How the ledger commands turn LEDGER into an open ledger. */
import { ensureStore, openLedger, resolveLedgerPath, storePathsOf, type Ledger, type LedgerOptions } from '../../engine';

export async function openLedgerArg(cwd: string, arg: string, options: LedgerOptions & { create: boolean }): Promise<Ledger> {
  const file = resolveLedgerPath(cwd, arg);
  const store = storePathsOf(file);
  if (options.create && store !== undefined) await ensureStore(store.root);
  return openLedger(file, options);
}

export async function withLedger<T>(cwd: string, arg: string, options: LedgerOptions & { create: boolean }, fn: (ledger: Ledger) => Promise<T>): Promise<T> {
  const ledger = await openLedgerArg(cwd, arg, options);
  try {
    return await fn(ledger);
  } finally {
    await ledger.close();
  }
}
