/** How ages, sizes and holders read in the views, the status bar and notifications. */
import * as path from 'node:path';
import type { LockHolder, LockItem } from '../protocol';

export function formatAge(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '?';
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d`;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

export function formatCount(n: number | null): string {
  return n === null ? '?' : n.toLocaleString('en-US');
}

export function formatHolder(holder: LockHolder | null): string {
  if (!holder) return 'unknown holder';
  const parts: string[] = [];
  if (holder.pid !== undefined) parts.push(`pid ${holder.pid}`);
  if (holder.host) parts.push(`on ${holder.host}`);
  if (holder.tool) parts.push(`(${holder.tool})`);
  return parts.length > 0 ? parts.join(' ') : 'unknown holder';
}

export function baseName(p: string): string {
  return path.basename(p);
}

/** "events.lock held 45s by pid 4242" — the one-line story of a lock. */
export function lockSentence(lock: LockItem): string {
  const who = lock.holder?.pid !== undefined ? ` by pid ${lock.holder.pid}` : '';
  switch (lock.state) {
    case 'held':
    case 'contended':
      return `${baseName(lock.path)} held ${formatAge(lock.ageMs)}${who}`;
    case 'stale':
      return `${baseName(lock.path)} is stale: ${lock.reason}`;
    case 'orphaned':
      return `${baseName(lock.path)} is orphaned: ${lock.reason}`;
    default:
      return `${baseName(lock.path)}: ${lock.reason}`;
  }
}

export function formatTime(ts: string | null): string {
  if (!ts) return '';
  const d = new Date(ts);
  if (Number.isNaN(d.getTime())) return ts;
  const sameDay = d.toDateString() === new Date().toDateString();
  return sameDay ? d.toLocaleTimeString() : d.toLocaleString();
}
