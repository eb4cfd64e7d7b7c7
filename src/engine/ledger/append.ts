/**
 * Appending under the ledger's lock: learn the last id from the tail (or from what we wrote
 * last, while the file is exactly as we left it), cut a torn tail first so a record is never
 * glued onto a partial line, write the whole batch at once, and make it durable per mode. A
 * write that fails is cut back off, under the same lock, before the batch is rejected: nothing
 * unacknowledged stays behind to be duplicated by a retry.
 *
 * A batch is acknowledged only if the lock is still ours once it is written (and, where the
 * flush runs under the lock, flushed): otherwise another writer may have appended meanwhile,
 * so nothing is cut and the batch is rejected with E_LOCK_COMPROMISED saying which of its ids
 * are on disk (README, "Guarantees"). The file is written with O_APPEND, so a write that lands
 * late lands after such a writer's records instead of over them.
 *
 * Everything under the lock but the write itself is a few tiny synchronous calls (stat,
 * a read of the last record when the cache cannot be trusted), so `append` (one pool hop: the
 * O_DSYNC write) and `appendSync` (nothing async) share one protocol.
 */
import { ErrorCode, LedgerlockError, codeForErrno, errnoCode, isLedgerlockError } from '../errors';
import { fsl, type OpenFile } from '../fs';
import type { LockHandle } from '../lock';
import { HeldLock } from '../lock/handle';
import type { TelemetryDraft } from '../telemetry';
import type { LedgerContext } from './context';
import { GroupCommitter, type WrittenBatch } from './group-commit';
import { withLedgerLock, withLedgerLockSync } from './ledger-lock';
import { decodeRecord, encodeBatch, type Draft, type EncodedBatch } from './record';
import { cutTornTail } from './repair';
import { linesBackwardSync, readBackwardSync } from './reverse';
import type { LedgerEvent } from './types';

/** In batch mode an fsync runs at once when this much written data is waiting for it. */
const BATCH_SYNC_BYTES = 1024 * 1024;

/**
 * Writes go to the end of the file whatever it is by then (O_APPEND). Windows cannot truncate
 * through an append-only handle, so there the batch is written at the offset it was planned for.
 */
const APPEND_MODE = process.platform !== 'win32';

/** A lost lock's report reads back at most this much written after our batch's planned start. */
const REPORT_SCAN_BYTES = 64 * 1024 * 1024;

interface Handle {
  file: OpenFile;
  ino: number;
  dev: number;
}

/** A batch encoded under the lock, about to be written at `start`. */
interface PlannedBatch extends EncodedBatch {
  file: OpenFile;
  ino: number;
  start: number;
  previousId: number | null;
  recoveries: TelemetryDraft[];
}

export class Appender {
  private handle: Handle | null = null;
  private readonly committer = new GroupCommitter((drafts) => this.writeBatch(drafts));
  private syncWaiters: { resolve(): void; reject(err: unknown): void }[] = [];
  private syncTimer: NodeJS.Timeout | null = null;
  private unsyncedBytes = 0;
  /** Batch mode: where the oldest written but not yet fsynced batch starts, and the last id before it. */
  private unsynced: { start: number; previousId: number | null; ino: number } | null = null;

  constructor(
    private readonly ctx: LedgerContext,
    private readonly emit: (draft: TelemetryDraft) => Promise<void>,
  ) {}

  submit(drafts: Draft[]): Promise<LedgerEvent[]> {
    return this.committer.submit(drafts);
  }

  /** The whole append, synchronously: returns once the batch is as durable as the mode promises. */
  appendSync(drafts: Draft[]): LedgerEvent[] {
    const ctx = this.ctx;
    const recoveries: TelemetryDraft[] = [];
    const events = withLedgerLockSync(
      ctx.path,
      ctx.opts,
      (unchanged, lock) => {
        this.refuseIfLost(lock, drafts.length);
        const plan = this.plan(drafts, unchanged);
        recoveries.push(...plan.recoveries);
        try {
          plan.file.writeSync(plan.bytes, 0, plan.bytes.length, APPEND_MODE ? null : plan.start);
          // Batch mode promises durability when the call returns; a sync caller is waiting now.
          if (ctx.opts.durability === 'batch') plan.file.datasyncSync();
        } catch (err) {
          throw this.rollBack(plan, err, lock);
        }
        this.confirmStillOurs(plan, lock);
        return this.committed(plan, ctx.opts.durability !== 'none');
      },
      this,
    );
    for (const r of recoveries) void this.emit(r).catch(() => undefined);
    return events;
  }

  /** Waits for every append in flight, makes them durable, and lets go of the file. */
  async close(): Promise<void> {
    await this.committer.idle();
    await this.syncNow();
    const h = this.handle;
    this.handle = null;
    h?.file.closeSync();
  }

  private async writeBatch(drafts: Draft[]): Promise<WrittenBatch> {
    const ctx = this.ctx;
    let recoveries: TelemetryDraft[] = [];
    const events = await withLedgerLock(
      ctx.path,
      ctx.opts,
      async (unchanged, lock) => {
        this.refuseIfLost(lock, drafts.length);
        const plan = this.plan(drafts, unchanged);
        recoveries = plan.recoveries;
        try {
          // In fsync mode the file is open with O_DSYNC: this write returns durable.
          await plan.file.write(plan.bytes, 0, plan.bytes.length, APPEND_MODE ? null : plan.start);
        } catch (err) {
          throw await recorded(this.rollBack(plan, err, lock), lock);
        }
        try {
          this.confirmStillOurs(plan, lock);
        } catch (err) {
          throw await recorded(err, lock);
        }
        return this.committed(plan, ctx.opts.durability === 'fsync');
      },
      this,
    );
    for (const r of recoveries) await this.emit(r);
    return { events, durable: this.durability() };
  }

  /**
   * Under the lock: the file and where it ends, the last id, a torn tail cut, and the batch
   * encoded into one buffer. Held since our own last batch with nothing in between, the file
   * is as we left it, so the stat that would check that is skipped.
   */
  private plan(drafts: Draft[], unchangedSinceUs: boolean): PlannedBatch {
    const ctx = this.ctx;
    const recoveries: TelemetryDraft[] = [];
    const cache = ctx.tailCache;
    const {
      file,
      ino,
      size: sizeNow,
    } = unchangedSinceUs && this.handle && cache && cache.ino === this.handle.ino ? { ...this.handle, size: cache.size } : this.currentHandle();
    let size = sizeNow;
    let lastId: number | null;
    if (cache && cache.size === size && cache.ino === ino) {
      lastId = cache.lastId;
    } else {
      const tail = readBackwardSync(file, ctx.format, size, 1, ctx.opts.maxLineBytes);
      lastId = tail.events[0]?.id ?? null;
      if (tail.damagedAfterValid) {
        const cut = cutTornTail(ctx, file, tail.validEnd, size);
        recoveries.push({
          type: 'CORRUPT_TAIL_RECOVERY',
          data: {
            ledger: ctx.path,
            truncatedAt: tail.validEnd,
            bytesRemoved: size - tail.validEnd,
            quarantine: cut,
            reason: 'torn tail found before an append',
          },
        });
        size = tail.validEnd;
      }
    }
    const batch = encodeBatch(drafts, (lastId ?? 0) + 1, new Date().toISOString(), size);
    return { ...batch, file, ino, start: size, previousId: lastId, recoveries };
  }

  /** `durableNow`: this write (and so every one before it on this file) is already on disk. */
  private committed(plan: PlannedBatch, durableNow: boolean): LedgerEvent[] {
    this.ctx.tailCache = { size: plan.start + plan.bytes.length, lastId: plan.lastId, ino: plan.ino };
    if (durableNow) {
      this.unsynced = null;
    } else {
      this.unsyncedBytes += plan.bytes.length;
      this.unsynced ??= { start: plan.start, previousId: plan.previousId, ino: plan.ino };
    }
    return plan.events;
  }

  /** Before anything is cut or written: a lock already known lost is never written under. */
  private refuseIfLost(lock: LockHandle, events: number): void {
    if (!lock.compromised) return;
    this.ctx.tailCache = null;
    const reason = lock instanceof HeldLock ? lock.compromiseReason : undefined;
    throw new LedgerlockError(
      ErrorCode.LockCompromised,
      `lost ${lock.path} before appending ${events} event(s) to ${this.ctx.path}${reason ? ` (${reason})` : ''}; nothing was written`,
      { path: this.ctx.path, lock: lock.path, reason, written: false, events, ids: [], onDisk: [] },
    );
  }

  /**
   * After the write (and its flush, where that runs under the lock): the batch is acknowledged
   * only while the lock file is still the one we created and names us. If not, another writer
   * may have appended after our bytes, so nothing is cut; the error says which ids are on disk.
   */
  private confirmStillOurs(plan: PlannedBatch, lock: LockHandle): void {
    const reason = lock instanceof HeldLock ? lock.checkOwnedSync() : undefined;
    if (reason === undefined) return;
    this.ctx.tailCache = null;
    throw this.lostLockError(plan, lock, reason, true);
  }

  /** E_LOCK_COMPROMISED for a batch that reached the file: each id's state, read back from it. */
  private lostLockError(plan: PlannedBatch, lock: LockHandle, reason: string, wholeWrite: boolean, cause?: unknown): LedgerlockError {
    const ctx = this.ctx;
    const onDisk = whatIsOnDisk(plan, ctx.opts.maxLineBytes);
    const says = onDisk.map((d) => `id ${d.id} ${STATE_WORDS[d.state]}`).join(', ');
    const failed = cause === undefined ? '' : `; the write itself failed too (${(cause as Error)?.message ?? String(cause)})`;
    let replaced = false;
    try {
      const st = fsl().statSync(ctx.path);
      replaced = st.ino !== plan.ino;
    } catch {
      replaced = true;
    }
    const where = replaced ? ' (the ledger path now names another file: these states are for the file that was written)' : '';
    const errno = cause === undefined ? undefined : errnoCode(cause);
    return new LedgerlockError(
      ErrorCode.LockCompromised,
      `lost ${lock.path} while appending ${plan.events.length} event(s) to ${ctx.path} (${reason}), so none of them is acknowledged: ${says}${where}${failed}; nothing was cut, since another writer may have appended after them (run verify)`,
      {
        path: ctx.path,
        lock: lock.path,
        reason,
        written: wholeWrite,
        events: plan.events.length,
        ids: plan.events.map((e) => e.id),
        onDisk,
        ledgerReplaced: replaced,
        ...(errno !== undefined ? { errno } : {}),
      },
      cause === undefined ? undefined : { cause },
    );
  }

  /**
   * A failed write (a full disk, an I/O error) may have left part of the batch on disk, even
   * whole records: they are cut off, durably, before the batch is rejected. Still under the lock,
   * unless it turns out lost: then nothing is cut, since the bytes after ours may be another
   * writer's.
   */
  private rollBack(plan: PlannedBatch, err: unknown, lock: LockHandle): LedgerlockError {
    const lost = lock.compromised || !lock.held ? 'the lock was lost' : lock instanceof HeldLock ? lock.checkOwnedSync() : undefined;
    if (lost !== undefined) {
      this.ctx.tailCache = null;
      const reason = (lock instanceof HeldLock ? lock.compromiseReason : undefined) ?? lost;
      return this.lostLockError(plan, lock, reason, false, err);
    }
    let rolledBack = false;
    try {
      plan.file.truncateSync(plan.start);
      plan.file.datasyncSync();
      rolledBack = true;
      this.ctx.tailCache = { size: plan.start, lastId: plan.previousId, ino: plan.ino };
    } catch {
      this.ctx.tailCache = null; // the next append reads the tail again (and cuts what is torn)
    }
    return appendError(this.ctx.path, plan.events.length, err, { rolledBack, truncatedAt: rolledBack ? plan.start : null, firstId: plan.events[0]!.id });
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
    const unsynced = this.unsynced;
    this.syncWaiters = [];
    this.unsyncedBytes = 0;
    this.unsynced = null;
    if (waiters.length === 0) return;
    try {
      await this.handle?.file.datasync();
      for (const w of waiters) w.resolve();
    } catch (err) {
      const failure = await this.rollBackUnsynced(unsynced, err, waiters.length);
      for (const w of waiters) w.reject(failure);
    }
  }

  /**
   * Batch mode's fsync failed after the lock was let go: take it again and, if the ledger still
   * ends where our unsynced batches left it, cut them all off. If another writer appended since,
   * their records sit after ours and nothing is cut; the error says so.
   */
  private async rollBackUnsynced(
    unsynced: { start: number; previousId: number | null; ino: number } | null,
    err: unknown,
    waiting: number,
  ): Promise<LedgerlockError> {
    const ctx = this.ctx;
    const expected = ctx.tailCache;
    let rolledBack = false;
    if (unsynced && expected) {
      try {
        await withLedgerLock(ctx.path, ctx.opts, async () => {
          const h = this.handle;
          if (!h || h.ino !== unsynced.ino) return;
          const st = h.file.statSync();
          if (st.size !== expected.size || expected.ino !== unsynced.ino) return;
          h.file.truncateSync(unsynced.start);
          h.file.datasyncSync();
          ctx.tailCache = { size: unsynced.start, lastId: unsynced.previousId, ino: unsynced.ino };
          rolledBack = true;
        });
      } catch {
        ctx.tailCache = null;
      }
    }
    return appendError(ctx.path, waiting, err, { rolledBack, truncatedAt: rolledBack ? unsynced!.start : null, firstId: (unsynced?.previousId ?? 0) + 1 });
  }

  /**
   * The open file and its size, from one stat of the path: reopened when the path now names
   * another file (compaction or a quarantine rewrite renamed over it).
   */
  private currentHandle(): Handle & { size: number } {
    const fs = fsl();
    let st;
    try {
      st = fs.statSync(this.ctx.path);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
      throw new LedgerlockError(ErrorCode.NotFound, `ledger ${this.ctx.path} no longer exists`, { path: this.ctx.path }, { cause: err });
    }
    if (this.handle && this.handle.ino === st.ino && this.handle.dev === st.dev) return { ...this.handle, size: st.size };
    if (this.handle) {
      // Batches written to the old file in batch mode are made durable before it is let go.
      if (this.unsynced !== null) this.handle.file.datasyncSync();
      this.handle.file.closeSync();
      this.handle = null;
    }
    const file = fs.openSync(this.ctx.path, APPEND_MODE ? 'a+' : 'r+', undefined, { dsync: this.ctx.opts.durability === 'fsync' });
    const opened = file.statSync();
    this.handle = { file, ino: opened.ino, dev: opened.dev };
    return { ...this.handle, size: opened.size };
  }
}

/** The errno's stable code (E_NO_SPACE for a full disk or quota, …); says whether the batch was cut back off. */
function appendError(
  ledgerPath: string,
  events: number,
  err: unknown,
  facts: { rolledBack: boolean; truncatedAt: number | null; firstId: number },
): LedgerlockError {
  if (err instanceof LedgerlockError) return err;
  const errno = errnoCode(err);
  const code = codeForErrno(errno);
  const what = code === ErrorCode.NoSpace ? 'no space left on the device' : ((err as Error)?.message ?? String(err));
  const outcome = facts.rolledBack
    ? `none of them was kept (the ledger was cut back to ${facts.truncatedAt} bytes)`
    : `the ledger could not be cut back, so some of them may be on disk from id ${facts.firstId} (run repair or verify)`;
  return new LedgerlockError(
    code,
    `appending ${events} event(s) to ${ledgerPath} failed: ${what}; ${outcome}`,
    { path: ledgerPath, errno, events, ...facts },
    { cause: err },
  );
}

type DiskState = 'written' | 'written-id-duplicated' | 'taken-by-another' | 'missing' | 'unknown';

const STATE_WORDS: Record<DiskState, string> = {
  written: 'is on disk as written',
  'written-id-duplicated': "is on disk as written, and another writer's record has the same id",
  'taken-by-another': "is not on disk (another writer's record has that id)",
  missing: 'is not on disk',
  unknown: 'could not be read back',
};

/**
 * Which of a batch's records are on disk as we encoded them, and which of its ids another
 * writer's records also carry: read back from the end of the file we wrote to our batch's
 * planned start (a late write lands after it, never before), bounded by REPORT_SCAN_BYTES.
 */
function whatIsOnDisk(plan: PlannedBatch, maxLineBytes: number): { id: number; state: DiskState }[] {
  const ours = new Map<number, Buffer>();
  for (const e of plan.events) ours.set(e.id, plan.bytes.subarray(e.offset - plan.start, e.offset - plan.start + e.length - 1));
  const mine = new Map<number, number>();
  const others = new Map<number, number>();
  let complete = false;
  try {
    const end = plan.file.statSync().size;
    if (end - plan.start <= REPORT_SCAN_BYTES) {
      for (const raw of linesBackwardSync(plan.file, end, maxLineBytes)) {
        if (raw.offset + raw.length <= plan.start) break;
        if (raw.bytes === null || !raw.terminated) continue;
        const record = decodeRecord(raw.bytes);
        if (!record.ok || !ours.has(record.value.id)) continue;
        const id = record.value.id;
        const tally = ours.get(id)!.equals(raw.bytes) ? mine : others;
        tally.set(id, (tally.get(id) ?? 0) + 1);
      }
      complete = true;
    }
  } catch {
    complete = false;
  }
  return plan.events.map(({ id }) => {
    if (!complete) return { id, state: 'unknown' as const };
    const state: DiskState = mine.has(id) ? (others.has(id) ? 'written-id-duplicated' : 'written') : others.has(id) ? 'taken-by-another' : 'missing';
    return { id, state };
  });
}

/** Waits for a lost lock's LOCK_COMPROMISED to be recorded before its error reaches the caller. */
async function recorded(err: unknown, lock: LockHandle): Promise<unknown> {
  if (lock instanceof HeldLock && isLedgerlockError(err, ErrorCode.LockCompromised)) await lock.compromiseRecorded();
  return err;
}
