/**
 * Exactly-once retries: the keys of a ledger's recent records, so an append whose key is
 * already there returns that event instead of writing it again (README, "Guarantees"). The
 * window is the last KEY_WINDOW_BYTES of the ledger; it is kept per open ledger and extended
 * by reading only what was appended since (by anyone), under the ledger's lock.
 */
import type { OpenFile } from '../fs';
import type { KeyWindow, LedgerContext } from './context';
import { decodeRecord, headerKey } from './record';
import { linesBackwardSync } from './reverse';
import type { LedgerEvent } from './types';

const KEY_WINDOW_BYTES = 4 * 1024 * 1024;

/** A few bytes before `end`, to notice that the bytes we scanned were cut and written again. */
const MARK_BYTES = 16;

/**
 * The events among the last KEY_WINDOW_BYTES of `file` (size `size`) whose keys are in
 * `wanted`. The caller holds the ledger's lock, so nothing is appended meanwhile.
 */
export function findKeyedSync(ctx: LedgerContext, file: OpenFile, ino: number, size: number, wanted: readonly string[]): Map<string, LedgerEvent> {
  const w = windowAt(ctx, file, ino, size);
  const found = new Map<string, LedgerEvent>();
  for (const key of wanted) {
    const at = w.keys.get(key);
    if (at === undefined || found.has(key)) continue;
    const buf = Buffer.allocUnsafe(at.length);
    const got = file.readSync(buf, 0, at.length, at.offset);
    const record = got === at.length && buf[at.length - 1] === 0x0a ? decodeRecord(buf.subarray(0, at.length - 1)) : undefined;
    if (record?.ok && record.value.key === key) {
      const r = record.value;
      found.set(key, { id: r.id, ts: r.ts, type: r.type, data: r.data, offset: at.offset, length: at.length, crc: r.crc, key });
    } else {
      w.keys.delete(key); // damaged since: it no longer answers for the key
    }
  }
  return found;
}

/** After our own write of [start, end): its keys join the window when the window reached `start`. */
export function noteWritten(ctx: LedgerContext, file: OpenFile, ino: number, start: number, events: readonly LedgerEvent[], end: number): void {
  const w = ctx.keyWindow;
  if (!w || w.ino !== ino || w.end !== start) return;
  for (const e of events) if (e.key !== undefined && !w.keys.has(e.key)) w.keys.set(e.key, { offset: e.offset, length: e.length });
  w.end = end;
  w.mark = markAt(file, end);
}

function windowAt(ctx: LedgerContext, file: OpenFile, ino: number, size: number): KeyWindow {
  const floor = Math.max(0, size - KEY_WINDOW_BYTES);
  let w = ctx.keyWindow;
  const reusable = w !== null && w.ino === ino && w.end <= size && w.end >= floor && markAt(file, w.end).equals(w.mark);
  if (!reusable || w === null) {
    w = { ino, end: floor, mark: markAt(file, floor), keys: new Map() };
    ctx.keyWindow = w;
  }
  if (w.end < size) {
    const fresh: [string, { offset: number; length: number }][] = [];
    for (const raw of linesBackwardSync(file, size, ctx.opts.maxLineBytes)) {
      if (raw.offset < w.end) break;
      if (!raw.terminated || raw.bytes === null) continue;
      const key = headerKey(raw.bytes);
      if (key !== undefined) fresh.push([key, { offset: raw.offset, length: raw.length }]);
    }
    for (let i = fresh.length - 1; i >= 0; i--) if (!w.keys.has(fresh[i]![0])) w.keys.set(fresh[i]![0], fresh[i]![1]);
    w.end = size;
    w.mark = markAt(file, size);
  }
  // Keys that fell out of the window are forgotten (insertion order is file order).
  if (w.keys.size > 1024) {
    for (const [key, at] of w.keys) {
      if (at.offset >= floor) break;
      w.keys.delete(key);
    }
  }
  return w;
}

function markAt(file: OpenFile, end: number): Buffer {
  const start = Math.max(0, end - MARK_BYTES);
  const buf = Buffer.alloc(end - start);
  if (buf.length > 0) file.readSync(buf, 0, buf.length, start);
  return buf;
}
