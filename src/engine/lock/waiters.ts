/**
 * Ledgerlock waiters, as their telemetry tells: a process that waited on a lock longer than the
 * contention threshold recorded LOCK_CONTENDED, and records LOCK_WAIT_ENDED or
 * LOCK_CONTENTION_TIMEOUT when it stops waiting. A waiter counts while its pid runs, it is not
 * the lock's holder, and nothing later says it stopped. Read from the tail of the store's
 * telemetry ledger, once per store per look.
 */
import * as path from 'node:path';
import { fsl } from '../fs';
import { storePathsOf } from '../store';
import type { LockWaiter } from './classify';
import { isProcessAlive } from './process';

/** Only recent waits matter; an older record whose writer never said it stopped is not trusted. */
const RECENT_RECORDS = 400;
const MAX_WAIT_AGE_MS = 10 * 60_000;

export async function telemetryWaiters(lockPaths: Iterable<string>): Promise<(lockPath: string) => LockWaiter[]> {
  const byStore = new Map<string, Map<string, LockWaiter[]>>();
  for (const p of lockPaths) {
    const store = storePathsOf(p);
    if (store === undefined || byStore.has(store.telemetry)) continue;
    byStore.set(store.telemetry, await readWaiters(store.telemetry));
  }
  return (lockPath) => {
    const store = storePathsOf(lockPath);
    if (store === undefined) return [];
    return byStore.get(store.telemetry)?.get(path.resolve(lockPath)) ?? [];
  };
}

async function readWaiters(telemetryPath: string): Promise<Map<string, LockWaiter[]>> {
  const waiting = new Map<string, Map<number, LockWaiter>>();
  try {
    const st = await fsl().stat(telemetryPath);
    if (!st.isFile() || st.size === 0) return new Map();
    const { openLedger } = await import('../ledger');
    const ledger = await openLedger(telemetryPath, { create: false, telemetry: false });
    try {
      const events = await ledger.tail(RECENT_RECORDS); // newest first
      const now = Date.now();
      for (const e of [...events].reverse()) {
        const data = e.data as { lock?: unknown; waiterPid?: unknown } | null;
        if (data === null || typeof data !== 'object' || typeof data.lock !== 'string' || typeof data.waiterPid !== 'number') continue;
        const lock = path.resolve(data.lock);
        let forLock = waiting.get(lock);
        if (e.type === 'LOCK_CONTENDED') {
          const since = e.ts !== null ? Date.parse(e.ts) : NaN;
          if (!Number.isFinite(since) || now - since > MAX_WAIT_AGE_MS) continue;
          if (!forLock) waiting.set(lock, (forLock = new Map()));
          forLock.set(data.waiterPid, { pid: data.waiterPid, since });
        } else if (e.type === 'LOCK_CONTENTION_TIMEOUT' || e.type === 'LOCK_WAIT_ENDED') {
          forLock?.delete(data.waiterPid);
        }
      }
    } finally {
      await ledger.close();
    }
  } catch {
    return new Map(); // no telemetry, or unreadable: no Ledgerlock waiter is known
  }
  const result = new Map<string, LockWaiter[]>();
  for (const [lock, pids] of waiting) {
    const alive = [...pids.values()].filter((w) => isProcessAlive(w.pid) === true);
    if (alive.length > 0) result.set(lock, alive);
  }
  return result;
}
