/** How the ledger commands turn LEDGER into an open ledger. */
import { ensureStore, openLedger, resolveLedgerPath, storePathsOf, withinRoot, type Ledger, type LedgerOptions } from '../../engine';

async function openLedgerArg(cwd: string, arg: string, options: LedgerOptions & { create: boolean }): Promise<Ledger> {
  const file = resolveLedgerPath(cwd, arg);
  const store = storePathsOf(file);
  if (options.create && store !== undefined) await ensureStore(store.root);
  return openLedger(file, options);
}

/**
 * Opens LEDGER and runs `fn` with it, confined to the directory the command runs in: a path
 * under it that leads (through a link) outside it is refused, never followed.
 */
export async function withLedger<T>(cwd: string, arg: string, options: LedgerOptions & { create: boolean }, fn: (ledger: Ledger) => Promise<T>): Promise<T> {
  return withinRoot(cwd, async () => {
    const ledger = await openLedgerArg(cwd, arg, options);
    try {
      return await fn(ledger);
    } finally {
      await ledger.close();
    }
  });
}
