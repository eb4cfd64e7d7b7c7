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

/**
 * Who holds a lock, from the strongest evidence the server reported: the process the kernel
 * sees holding or opening it, else the pid the lock names, else what its content says.
 */
export function holderWords(lock: LockItem): string {
  const witness = lock.evidence?.find((e) => e.pid !== undefined && e.kind !== 'waiter');
  if (witness?.pid !== undefined && witness.kind !== 'pid') return `pid ${witness.pid}${witness.command ? ` (${witness.command})` : ''}`;
  return formatHolder(lock.holder);
}

/** The tool whose rules judged a lock, in its own spelling. */
export function profileName(profile: string | undefined): string | undefined {
  const names: Record<string, string> = {
    ledgerlock: 'Ledgerlock', hardkas: 'HardKAS', authmux: 'authmux', 'claude-flow': 'claude-flow', remnic: 'remnic',
    'proper-lockfile': 'proper-lockfile', git: 'git', flock: 'flock(2)', generic: undefined as unknown as string,
  };
  return profile !== undefined ? names[profile] : undefined;
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
  const witness = lock.evidence?.find((e) => e.pid !== undefined && e.kind !== 'waiter');
  const pid = witness?.pid ?? lock.holder?.pid;
  const who = pid !== undefined ? ` by pid ${pid}` : '';
  switch (lock.state) {
    case 'held':
      return `${baseName(lock.path)} held ${formatAge(lock.ageMs)}${who}`;
    case 'contended':
      return `${baseName(lock.path)} held ${formatAge(lock.ageMs)}${who}; ${lock.waiters ?? 1} waiting`;
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
