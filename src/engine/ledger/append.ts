/**
 * Appending under the ledger's lock: learn the last id from the tail (or from what we wrote
 * last, while the file is exactly as we left it), cut a torn tail first so a record is never
 * glued onto a partial line, write the whole batch at once, and make it durable per mode.
 */
import { ErrorCode, LedgerlockError, errnoCode } from '../errors';
import { fsl, type OpenFile } from '../fs';
import type { TelemetryDraft } from '../telemetry';
import type { LedgerContext } from './context';
import { GroupCommitter, type Draft, type WrittenBatch } from './group-commit';
import { withLedgerLock } from './ledger-lock';
import { encodeRecord } from './record';
import { cutTornTail } from './repair';
import { readBackward } from './reverse';
import type { LedgerEvent } from './types';

/** In batch mode an fsync runs at once when this much written data is waiting for it. */
const BATCH_SYNC_BYTES = 1024 * 1024;

interface Handle {
  file: OpenFile;
  ino: number;
  dev: number;
}

export class Appender {
  private handle: Handle | null = null;
  private readonly committer = new GroupCommitter((drafts) => this.writeBatch(drafts));
  private syncWaiters: { resolve(): void; reject(err: unknown): void }[] = [];
  private syncTimer: NodeJS.Timeout | null = null;
  private unsyncedBytes = 0;

  constructor(private readonly ctx: LedgerContext, private readonly emit: (draft: TelemetryDraft) => Promise<void>) {}

  submit(drafts: Draft[]): Promise<LedgerEvent[]> {
    return this.committer.submit(drafts);
  }

  /** Waits for every append in flight, makes them durable, and lets go of the file. */
  async close(): Promise<void> {
    await this.committer.idle();
    await this.syncNow();
    const h = this.handle;
    this.handle = null;
    await h?.file.close();
  }

  private async writeBatch(drafts: Draft[]): Promise<WrittenBatch> {
    const ctx = this.ctx;
    const recoveries: TelemetryDraft[] = [];
    const events = await withLedgerLock(ctx.path, ctx.opts, async (unchangedSinceUs) => {
      // Held since our own last batch with nothing in between: the file is as we left it,
      // so the stat that would check that is skipped.
      const cache = ctx.tailCache;
      const { file, ino, size: sizeNow } =
        unchangedSinceUs && this.handle && cache && cache.ino === this.handle.ino
          ? { ...this.handle, size: cache.size }
          : await this.currentHandle();
      let size = sizeNow;
      let lastId: number | null;
      if (ctx.tailCache && ctx.tailCache.size === size && ctx.tailCache.ino === ino) {
        lastId = ctx.tailCache.lastId;
      } else {
        const tail = await readBackward(file, ctx.format, size, 1, ctx.opts.maxLineBytes);
        lastId = tail.events[0]?.id ?? null;
        if (tail.damagedAfterValid) {
          const cut = await cutTornTail(ctx, file, tail.validEnd, size);
          recoveries.push({ type: 'CORRUPT_TAIL_RECOVERY', data: { ledger: ctx.path, truncatedAt: tail.validEnd, bytesRemoved: size - tail.validEnd, quarantine: cut, reason: 'torn tail found before an append' } });
          size = tail.validEnd;
        }
      }
      const ts = new Date().toISOString();
      const lines: Buffer[] = [];
      const written: LedgerEvent[] = [];
      let offset = size;
      let id = lastId ?? 0;
      for (const d of drafts) {
        const line = encodeRecord(++id, ts, d.type, d.dataJson);
        lines.push(line);
        written.push({ id, ts, type: d.type, data: JSON.parse(d.dataJson), offset, length: line.length, crc: line.subarray(line.length - 11, line.length - 3).toString('latin1') });
        offset += line.length;
      }
      const bytes = Buffer.concat(lines);
      await file.write(bytes, 0, bytes.length, size);
      // In fsync mode the file is open with O_DSYNC: the write above returned durable.
      ctx.tailCache = { size: offset, lastId: id, ino };
      this.unsyncedBytes += bytes.length;
      return written;
    }, this);
    for (const r of recoveries) await this.emit(r);
    return { events, durable: this.durability() };
  }

  private durability(): Promise<void> {
    const mode = this.ctx.opts.durability;
    if (mode !== 'batch') {
      this.unsyncedBytes = 0;
      return Promise.resolve();
    }
    const durable = new Promise<void>((resolve, reject) => this.syncWaiters.push({ resolve, reject }));
    if (this.unsyncedBytes >= BATCH_SYNC_BYTES) void this.syncNow();
    else this.syncTimer ??= setTimeout(() => void this.syncNow(), this.ctx.opts.batchDelayMs);
    return durable;
  }

  private async syncNow(): Promise<void> {
    if (this.syncTimer) clearTimeout(this.syncTimer);
    this.syncTimer = null;
    const waiters = this.syncWaiters;
    this.syncWaiters = [];
    this.unsyncedBytes = 0;
    if (waiters.length === 0) return;
    try {
      await this.handle?.file.datasync();
      for (const w of waiters) w.resolve();
    } catch (err) {
      for (const w of waiters) w.reject(err);
    }
  }

  /**
   * The open file and its size, from one stat of the path: reopened when the path now names
   * another file (compaction or a quarantine rewrite renamed over it).
   */
  private async currentHandle(): Promise<Handle & { size: number }> {
    const fs = fsl();
    let st;
    try {
      st = await fs.stat(this.ctx.path);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
      throw new LedgerlockError(ErrorCode.NotFound, `ledger ${this.ctx.path} no longer exists`, { path: this.ctx.path }, { cause: err });
    }
    if (this.handle && this.handle.ino === st.ino && this.handle.dev === st.dev) return { ...this.handle, size: st.size };
    if (this.handle) {
      await this.syncNow();
      await this.handle.file.close();
      this.handle = null;
    }
    const file = await fs.open(this.ctx.path, 'r+', undefined, { dsync: this.ctx.opts.durability === 'fsync' });
    const opened = await file.stat();
    this.handle = { file, ino: opened.ino, dev: opened.dev };
    return { ...this.handle, size: opened.size };
  }
}
