/**
 * How ages, sizes, counts and holders read in the views, the status bar and notifications:
 * one format for each, so "held 13m" means the same thing everywhere.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { LockHolder, LockItem } from '../protocol';
import { formatAge as sharedFormatAge } from '../shared/age';
import { isBareLockName } from '../shared/lock-name';
import { reasonAt } from '../shared/reason-ages';

/** An age the way the engine's reasons write it ("12 s", "4 min"); "?" when unknown. */
export function formatAge(ms: number | null | undefined): string {
  return ms === null || ms === undefined || !Number.isFinite(ms) ? '?' : sharedFormatAge(ms);
}

/**
 * An age for a row that should not redraw every few seconds: "< 1 min", "12 min", then the
 * same "3 h", "2 d" as formatAge. Tooltips show the exact age.
 */
export function formatAgeCoarse(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '?';
  if (ms < 60_000) return '< 1 min';
  if (ms < 2 * 3_600_000) return `${Math.floor(ms / 60_000)} min`;
  return sharedFormatAge(ms);
}

/** "1 stale lock", "3 stale locks". */
export function plural(n: number, singular: string, pluralForm = `${singular}s`): string {
  return `${formatCount(n)} ${n === 1 ? singular : pluralForm}`;
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

export function formatCount(n: number | null | undefined): string {
  return n === null || n === undefined ? '?' : n.toLocaleString('en-US');
}

/**
 * Who holds a lock, from the strongest evidence the server reported: the process the kernel
 * sees holding or opening it, else the pid the lock names, else what its content says. Never
 * "unknown": that is a state; a lock nobody holds says so, and an unknown one says what cannot be seen.
 */
export function holderWords(lock: LockItem): string {
  const witness = lock.evidence?.find((e) => e.pid !== undefined && e.kind !== 'waiter');
  if (witness?.pid !== undefined && witness.kind !== 'pid') return `pid ${witness.pid}${witness.command ? ` (${witness.command})` : ''}`;
  const named = formatHolder(lock.holder);
  if (named !== undefined) return named;
  switch (lock.state) {
    case 'free':
      return 'nobody holds it';
    case 'unknown':
      return 'none the lock names, and none Ledgerlock can see from here';
    case 'held':
    case 'contended':
      return 'a process the lock does not name';
    default:
      return 'none: the lock names no process and none holds it';
  }
}

/** The tool whose rules judged a lock, in its own spelling. */
export function profileName(profile: string | undefined): string | undefined {
  const names: Record<string, string> = {
    ledgerlock: 'Ledgerlock',
    hardkas: 'HardKAS',
    authmux: 'authmux',
    'claude-flow': 'claude-flow',
    remnic: 'remnic',
    'proper-lockfile': 'proper-lockfile',
    git: 'git',
    flock: 'flock(2)',
    generic: undefined as unknown as string,
  };
  return profile !== undefined ? names[profile] : undefined;
}

/** What a lock's content says of its holder ("pid 42 on host (tool)"); undefined when it says nothing. */
function formatHolder(holder: LockHolder | null): string | undefined {
  if (!holder) return undefined;
  const parts: string[] = [];
  if (holder.pid !== undefined) parts.push(`pid ${holder.pid}`);
  if (holder.host) parts.push(`on ${holder.host}`);
  if (holder.tool) parts.push(`(${holder.tool})`);
  return parts.length > 0 ? parts.join(' ') : undefined;
}

/** A path as the person sees it: relative to its workspace folder, never absolute inside the workspace. */
export function relativePath(p: string): string {
  return vscode.workspace.asRelativePath(p);
}

/**
 * A lock's name: its file name, or for a file named only `.lock` its folder and tool
 * (".claude-flow/guidance/.lock · claude-flow"), so two such locks never read the same.
 */
export function lockName(lock: Pick<LockItem, 'path' | 'profile'>): string {
  const base = baseName(lock.path);
  if (!isBareLockName(base)) return base;
  const tool = profileName(lock.profile);
  return `${relativePath(lock.path)}${tool ? ` · ${tool}` : ''}`;
}

/** A time as "3 min ago (22:41:03)": relative, with the exact local time beside it. */
export function whenWords(ts: string | number, now = Date.now()): string {
  const d = new Date(ts).getTime();
  if (Number.isNaN(d)) return String(ts);
  return `${formatAge(Math.max(0, now - d))} ago (${formatTime(d)})`;
}

/**
 * A sentence as a person reads it: each ISO time in it (the engine's evidence says "since
 * 2026-…Z") told as "3 min ago (22:41:03)", and each path inside a workspace folder (a holder's
 * command line) relative to it.
 */
export function localTimes(text: string, now = Date.now()): string {
  const folders = vscode.workspace.workspaceFolders ?? [];
  for (const f of folders) text = text.split(`${f.uri.fsPath}${path.sep}`).join(folders.length > 1 ? `${f.name}/` : '');
  return text.replace(/\b\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)?/g, (iso) => whenWords(iso, now));
}

/** What a lock is made of, in words ("unknown" is a state, never a kind shown to a person). */
export function kindWords(kind: string): string {
  const words: Record<string, string> = {
    ledgerlock: 'Ledgerlock record',
    json: 'JSON file',
    text: 'text file',
    directory: 'lock folder',
    empty: 'empty file',
    unknown: 'content that is not text',
  };
  return words[kind] ?? kind;
}

export function baseName(p: string): string {
  return path.basename(p);
}

/**
 * A lock's age now: its age when judged plus the time since (`receivedAt` stands in for a
 * server that does not say when it judged).
 */
export function lockAgeNow(lock: LockItem, receivedAt?: number, now = Date.now()): number | null {
  const since = lock.judgedAt ?? receivedAt ?? now;
  return lock.ageMs === null ? null : lock.ageMs + Math.max(0, now - since);
}

/** A lock's reason with its elapsed times as they are now, computed when drawn. */
export function reasonNow(lock: LockItem, now = Date.now()): string {
  return localTimes(lock.judgedAt === undefined ? lock.reason : reasonAt(lock.reason, lock.reasonAges, now - lock.judgedAt), now);
}

/** "events.lock held 45 s by pid 4242", "build.lock stale: holder pid 7 is no longer running" — the one-line story of a lock. */
export function lockSentence(lock: LockItem): string {
  // The pid alone: the command line the evidence carries is for the tooltip, not this sentence.
  const witness = lock.evidence?.find((e) => e.pid !== undefined && e.kind !== 'waiter');
  const pid = witness?.pid ?? lock.holder?.pid;
  const who = pid !== undefined ? ` by pid ${pid}` : '';
  const name = lockName(lock);
  switch (lock.state) {
    case 'held':
      return `${name} held ${formatAge(lockAgeNow(lock))}${who}`;
    case 'contended':
      return `${name} contended: held ${formatAge(lockAgeNow(lock))}${who}, ${plural(lock.waiters ?? 1, 'process', 'processes')} waiting`;
    default:
      return `${name} ${lock.state}: ${reasonNow(lock)}`;
  }
}

/** An exact local time, for rows, tooltips and dialogs ("22:41:03" today, else date and time). */
export function formatTime(ts: string | number | null): string {
  if (ts === null || ts === '') return '';
  const d = new Date(ts);
  if (Number.isNaN(d.getTime())) return String(ts);
  const sameDay = d.toDateString() === new Date().toDateString();
  return sameDay ? d.toLocaleTimeString() : d.toLocaleString();
}

/**
 * Where a fix keeps the bytes it removes from `p`, in words: a store's own `quarantine/`, else
 * the `.ledgerlock/quarantine/` of the workspace folder holding it (docs/ARCHITECTURE.md, "Quarantine").
 */
export function quarantinePlace(p: string, folder: { name: string; root: string } | undefined): string {
  const segments = p.split(/[\\/]/);
  const at = segments.lastIndexOf('.ledgerlock');
  const store = at > 0 ? segments.slice(0, at + 1).join(path.sep) : folder ? path.join(folder.root, '.ledgerlock') : undefined;
  if (store === undefined) return 'a quarantine folder beside it';
  const rel = folder ? path.relative(folder.root, store) : '';
  const shown = folder && !rel.startsWith('..') ? `${rel.split(path.sep).join('/')}/quarantine/` : `${store}/quarantine/`;
  return folder ? `${shown} in ${folder.name} (ignored by Git)` : shown;
}
