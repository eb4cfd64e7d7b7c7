/**
 * How an event row looks in the Ledgers view, the way the built-in Timeline and GitLens draw
 * commits: the id first and the type after it (a long type is shortened, never the id), a
 * readable local time as the description, and an icon by the type's kind, its colour fixed
 * by the type's name so it never changes between refreshes.
 */
import * as vscode from 'vscode';
import { formatAge } from '../../shared/age';

/** Longer types are cut in the middle in the row; the tooltip has them whole. */
const MAX_TYPE_CHARS = 36;

/** The first matching kind gives the icon; the words are common in event type names. */
const KINDS: readonly [RegExp, string][] = [
  [/error|fail|fatal|panic|crash|abort|reject/i, 'error'],
  [/warn|retry|timeout|stale|torn/i, 'warning'],
  [/unlock|release/i, 'unlock'],
  [/lock|acquire/i, 'lock'],
  [/start|begin|open|spawn|launch|init/i, 'play-circle'],
  [/stop|end|finish|done|complete|close|exit/i, 'pass'],
  [/tool|call|invoke|exec|command|run/i, 'tools'],
  [/message|chat|prompt|reply|response|user|assistant/i, 'comment'],
  [/write|save|append|update|edit|create|commit/i, 'edit'],
  [/read|load|fetch|get/i, 'eye'],
  [/delete|remove|drop|reap|quarantine/i, 'trash'],
];

/** Colours of the charts palette: readable in light, dark and high-contrast themes. */
const COLOURS = ['charts.blue', 'charts.green', 'charts.purple', 'charts.orange', 'charts.yellow', 'charts.foreground'];

export function eventIcon(type: string): vscode.ThemeIcon {
  const kind = KINDS.find(([re]) => re.test(type))?.[1];
  if (kind === 'error') return new vscode.ThemeIcon('error', new vscode.ThemeColor('charts.red'));
  if (kind === 'warning') return new vscode.ThemeIcon('warning', new vscode.ThemeColor('charts.yellow'));
  return new vscode.ThemeIcon(kind ?? 'circle-filled', new vscode.ThemeColor(COLOURS[hash(type) % COLOURS.length]!));
}

/** `#792  agent.tool_call`: the id is never what gets cut off. */
export function eventLabel(id: number | string, type: string): string {
  return `#${id}  ${shortType(type)}`;
}

function shortType(type: string): string {
  if (type.length <= MAX_TYPE_CHARS) return type;
  const keep = MAX_TYPE_CHARS - 1;
  return `${type.slice(0, Math.ceil(keep / 2))}…${type.slice(type.length - Math.floor(keep / 2))}`;
}

/** "14:03:07" today, "Tue 14:03" this week, "12 Mar 14:03" this year, else with the year. */
export function eventTime(ts: string | null, now = new Date()): string {
  if (!ts) return '';
  const d = new Date(ts);
  if (Number.isNaN(d.getTime())) return ts;
  const time = (opts: Intl.DateTimeFormatOptions) => d.toLocaleString(undefined, opts);
  if (d.toDateString() === now.toDateString()) return time({ hour: '2-digit', minute: '2-digit', second: '2-digit' });
  const days = (now.getTime() - d.getTime()) / 86_400_000;
  if (days >= 0 && days < 6) return time({ weekday: 'short', hour: '2-digit', minute: '2-digit' });
  if (d.getFullYear() === now.getFullYear()) return time({ day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });
  return time({ day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit' });
}

/** For the tooltip, computed when it is shown: "12 Mar 2025, 14:03:07.123 (4 min ago)". */
export function eventTimeExact(ts: string | null, now = Date.now()): string {
  if (!ts) return 'no time recorded';
  const d = new Date(ts);
  if (Number.isNaN(d.getTime())) return ts;
  const exact = d.toLocaleString(undefined, {
    day: 'numeric',
    month: 'short',
    year: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    fractionalSecondDigits: 3,
  });
  const ms = now - d.getTime();
  return ms >= 0 ? `${exact} (${formatAge(ms)} ago)` : exact;
}

function hash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}
