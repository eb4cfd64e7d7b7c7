/** Human-readable rendering shared by the commands (text mode only; --json prints the objects). */
import type { LedgerEvent, LockInfo } from '../engine';

export function formatAge(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '-';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)}s`;
  const m = s / 60;
  if (m < 60) return `${Math.floor(m)}m${Math.round(s % 60)}s`;
  const h = m / 60;
  if (h < 48) return `${Math.floor(h)}h${Math.round(m % 60)}m`;
  return `${Math.floor(h / 24)}d`;
}

export function formatHolder(holder: LockInfo['holder']): string {
  if (!holder) return 'no holder recorded';
  const parts: string[] = [];
  if (holder.pid !== undefined) parts.push(`pid ${holder.pid}`);
  if (holder.host) parts.push(`on ${holder.host}`);
  if (holder.tool) parts.push(`(${holder.tool})`);
  return parts.length > 0 ? parts.join(' ') : 'unknown holder';
}

export function formatLock(lock: LockInfo): string {
  return `${lock.state.padEnd(9)} ${formatAge(lock.ageMs).padStart(7)}  ${lock.path}  ${formatHolder(lock.holder)} — ${lock.reason}`;
}

/** One event per line as compact JSON, the form `tail` and `read` print in text mode. */
export function formatEvent(event: LedgerEvent): string {
  return JSON.stringify({ id: event.id, ts: event.ts, type: event.type, data: event.data });
}
