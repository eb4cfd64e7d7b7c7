/** Human-readable rendering shared by the commands (text mode only; --json prints the objects). */
import { describeLockHolder, formatAge, type LedgerEvent, type LockInfo } from '../engine';

export function formatLock(lock: LockInfo): string {
  return `${lock.state.padEnd(9)} ${formatAge(lock.ageMs).padStart(7)}  ${lock.path}  ${describeLockHolder(lock)} — ${lock.reason}`;
}

/** One event per line as compact JSON, the form `tail` and `read` print in text mode. */
export function formatEvent(event: LedgerEvent): string {
  return JSON.stringify({ id: event.id, ts: event.ts, type: event.type, data: event.data });
}
