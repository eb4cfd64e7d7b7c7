/**
 * Ledgerlock waiters, as their telemetry tells: a process that waited on a lock longer than the
 * contention threshold recorded LOCK_CONTENDED, and records LOCK_WAIT_ENDED or
 * LOCK_CONTENTION_TIMEOUT when it stops waiting. A waiter counts while its pid runs, it is not
 * the lock's holder, and nothing later says it stopped. Read from the tail of the store's
 * telemetry ledger, once per store per look.
 */
import * as path from 'node:path';
import { fsl, type OpenFile } from '../fs';
import { storePathsOf } from '../store';
import type { LockWaiter } from './classify';
import { isProcessAlive } from './process';

/** Only recent waits matter; an older record whose writer never said it stopped is not trusted. */
const TAIL_BYTES = 64 * 1024;
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
  const now = Date.now();
  // A raw, bounded read of the log's end: opening the ledger here would queue behind the very
  // lock being judged when the telemetry's own lock is the one in question.
  for (const record of tailRecords(telemetryPath)) {
    const data = record.data as { lock?: unknown; waiterPid?: unknown } | null;
    if (data === null || typeof data !== 'object' || typeof data.lock !== 'string' || typeof data.waiterPid !== 'number') continue;
    const lock = path.resolve(data.lock);
    let forLock = waiting.get(lock);
    if (record.type === 'LOCK_CONTENDED') {
      const since = typeof record.ts === 'string' ? Date.parse(record.ts) : NaN;
      if (!Number.isFinite(since) || now - since > MAX_WAIT_AGE_MS) continue;
      if (!forLock) waiting.set(lock, (forLock = new Map()));
      forLock.set(data.waiterPid, { pid: data.waiterPid, since });
    } else if (record.type === 'LOCK_CONTENTION_TIMEOUT' || record.type === 'LOCK_WAIT_ENDED') {
      forLock?.delete(data.waiterPid);
    }
  }
  const result = new Map<string, LockWaiter[]>();
  for (const [lock, pids] of waiting) {
    const alive = [...pids.values()].filter((w) => isProcessAlive(w.pid) === true);
    if (alive.length > 0) result.set(lock, alive);
  }
  return result;
}

/** The complete records in the last TAIL_BYTES of a telemetry log, oldest first; [] when unreadable. */
function tailRecords(file: string): { type?: unknown; ts?: unknown; data?: unknown }[] {
  let handle: OpenFile;
  try {
    handle = fsl().openSync(file, 'r');
  } catch {
    return [];
  }
  try {
    const st = handle.statSync();
    if (!st.isFile() || st.size === 0) return [];
    const start = Math.max(0, st.size - TAIL_BYTES);
    const buf = Buffer.alloc(st.size - start);
    const n = handle.readSync(buf, 0, buf.length, start);
    const lines = buf.subarray(0, n).toString('utf8').split('\n');
    if (start > 0) lines.shift(); // a partial first line
    lines.pop(); // the part after the last newline: empty, or a torn record
    const out: { type?: unknown; ts?: unknown; data?: unknown }[] = [];
    for (const line of lines) {
      try {
        const value: unknown = JSON.parse(line);
        if (value !== null && typeof value === 'object') out.push(value as { type?: unknown; ts?: unknown; data?: unknown });
      } catch {
        // a damaged record says nothing about waiters
      }
    }
    return out;
  } catch {
    return [];
  } finally {
    handle.closeSync();
  }
}
