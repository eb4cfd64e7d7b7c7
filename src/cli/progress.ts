/**
 * Progress on stderr, only when stderr is a terminal: one line redrawn in place at most ten
 * times a second and erased when the work ends. Piped or redirected output never sees it.
 */
import type { Writable } from 'node:stream';
import { humanBytes, humanCount } from './format';

export interface Progress {
  /** `done` of `total` (bytes or items, as the progress was started). */
  update(done: number, total: number): void;
  /** Erases the line. */
  end(): void;
}

const REDRAW_MS = 100;
const silent: Progress = { update() {}, end() {} };

function isTerminal(stream: Writable): boolean {
  return (stream as { isTTY?: boolean }).isTTY === true;
}

export function startProgress(stderr: Writable, label: string, unit: 'bytes' | 'items'): Progress {
  if (!isTerminal(stderr)) return silent;
  let drawn = false;
  let last = 0;
  const show = unit === 'bytes' ? humanBytes : humanCount;
  return {
    update(done, total) {
      const now = Date.now();
      if (now - last < REDRAW_MS && done < total) return;
      last = now;
      const pct = total > 0 ? Math.min(100, Math.floor((done / total) * 100)) : 0;
      stderr.write(`\r\x1b[2K${label} ${String(pct).padStart(3)}%  ${show(done)} / ${show(total)}`);
      drawn = true;
    },
    end() {
      if (drawn) stderr.write('\r\x1b[2K');
      drawn = false;
    },
  };
}
