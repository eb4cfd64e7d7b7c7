/** Human-readable rendering shared by the commands (text mode only; --json prints the objects). */
import { describeLockHolder, formatAge, type LedgerEvent, type LockInfo } from '../engine';

export function formatLock(lock: LockInfo): string {
  return `${lock.state.padEnd(9)} ${formatAge(lock.ageMs).padStart(7)}  ${displayPath(lock.path)}  ${oneLine(describeLockHolder(lock))} — ${oneLine(lock.reason)}`;
}

/**
 * A path as one line of text output: a name holding a newline or another control character
 * (a workspace may hold any name) is printed JSON-quoted, so each entry stays on its line.
 */
export function displayPath(p: string): string {
  return /[\u0000-\u001f\u007f"]/.test(p) ? JSON.stringify(p) : p;
}

/** Text that came from a file (a reason quoting a holder, a message) on one line. */
export function oneLine(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f]+/g, ' ');
}

/** One event per line as compact JSON, the form `tail` and `read` print in text mode. */
export function formatEvent(event: LedgerEvent): string {
  return JSON.stringify({ id: event.id, ts: event.ts, type: event.type, data: event.data });
}
