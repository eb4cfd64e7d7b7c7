/** Human-readable rendering shared by the commands (text mode only; --json prints the objects as they are). */
import * as path from 'node:path';
import * as util from 'node:util';
import type { Writable } from 'node:stream';
import { describeLockHolder, formatAge, type LedgerEvent, type LockInfo } from '../engine';

/** 512 B, 1.5 KiB, 500.0 MiB: sizes people read (IEC units, as du -h and ls -lh use). */
export function humanBytes(n: number): string {
  if (!Number.isFinite(n)) return '?';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = Math.max(0, n);
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** 1,234,567: counts with thousands separators (fixed, not the locale's, so output is stable). */
export function humanCount(n: number): string {
  return Number.isSafeInteger(n) ? String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',') : String(n);
}

/** `1 event`, `2 events`. */
export function plural(n: number, word: string, many = `${word}s`): string {
  return `${humanCount(n)} ${n === 1 ? word : many}`;
}

/** A path as the person typing sees it: relative to their directory when that is shorter, on one line. */
export function relPath(cwd: string, p: string): string {
  if (!path.isAbsolute(p)) return displayPath(p);
  const rel = path.relative(cwd, p);
  if (rel === '') return '.';
  return displayPath(rel.length < p.length ? rel : p);
}

/**
 * A path as one line of text output: a name holding a newline or another control character
 * (a workspace may hold any name) is printed JSON-quoted, so each entry stays on its line.
 */
function displayPath(p: string): string {
  return /[\u0000-\u001f\u007f"]/.test(p) ? JSON.stringify(p) : p;
}

/** Text that came from a file (a reason quoting a holder, a message) on one line. */
export function oneLine(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f]+/g, ' ');
}

type Colour = 'green' | 'yellow' | 'red' | 'dim' | 'bold' | 'cyan';
export type Paint = (colour: Colour, text: string) => string;

/**
 * Colour for one stream through node:util.styleText, which itself honours NO_COLOR,
 * FORCE_COLOR and whether the stream is a terminal; `--no-color` turns it off outright.
 */
export function painter(stream: Writable, enabled: boolean): Paint {
  const styleText = (util as { styleText?: (format: string, text: string, options?: { stream?: Writable }) => string }).styleText;
  if (!enabled || typeof styleText !== 'function') return (_colour, text) => text;
  return (colour, text) => styleText(colour, text, { stream });
}

const STATE_COLOUR: Record<string, Colour> = {
  held: 'green',
  ok: 'green',
  contended: 'yellow',
  torn: 'yellow',
  stale: 'red',
  orphaned: 'red',
  corrupt: 'red',
  unknown: 'yellow',
};

export function paintState(paint: Paint, state: string, width = 0): string {
  return paint(STATE_COLOUR[state] ?? 'bold', state.padEnd(width));
}

export function formatLock(lock: LockInfo, cwd: string, paint: Paint = (_c, t) => t): string {
  return `${paintState(paint, lock.state, 9)} ${formatAge(lock.ageMs).padStart(7)}  ${relPath(cwd, lock.path)}  ${oneLine(describeLockHolder(lock))} ${paint('dim', `— ${oneLine(lock.reason)}`)}`;
}

/** One event per line as compact JSON, the form `tail` and `read` print in text mode. */
export function formatEvent(event: LedgerEvent): string {
  return JSON.stringify({ id: event.id, ts: event.ts, type: event.type, data: event.data });
}
