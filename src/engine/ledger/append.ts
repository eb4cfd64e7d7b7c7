/**
 * Appending under the ledger's lock: learn the last id from the tail (or from what we wrote
 * last, while the file is exactly as we left it), cut a torn tail (and, once per process, a
 * hole a power loss left) first so a record is never glued onto a partial line, return the
 * events whose keys are already there, write the rest of the batch at once, and make it
 * durable per mode. A write that fails is cut back off, under the same lock, before the batch
 * is rejected: nothing unacknowledged stays behind to be duplicated by a retry.
 *
 * The flush runs after the lock is let go (docs/ARCHITECTURE.md, "Append and group commit"):
 * writes of different processes stay whole and in id order under the lock, while their
 * fdatasyncs overlap and coalesce (one flushes every earlier write to the file). A batch is
 * acknowledged only once a flush that started after its write has returned. `appendSync`
 * flushes before it returns, under the lock it may still be lingering on.
 *
 * A batch is acknowledged only if the lock is still ours once it is written: otherwise another
 * writer may have appended meanwhile, so nothing is cut and the batch is rejected with
 * E_LOCK_COMPROMISED saying which of its ids are on disk (README, "Guarantees"). That check
 * runs under the lock, right after the write. The file is written with O_APPEND, so a write
 * that lands late lands after such a writer's records instead of over them.
 */
import { confineParentSync } from '../confine-paths';
import { ErrorCode, LedgerlockError, codeForErrno, errnoCode, isLedgerlockError, toLedgerlockError } from '../errors';
import { fsl, type OpenFile } from '../fs';
import type { LockHandle } from '../lock';
import { HeldLock } from '../lock/handle';
import type { TelemetryDraft } from '../telemetry';
import type { LedgerContext } from './context';
import { GroupCommitter, type WrittenBatch } from './group-commit';
import { findHoleSync, HOLE_WINDOW_BYTES } from './holes';
import { findKeyedSync, noteWritten } from './key-window';
import { withLedgerLock, withLedgerLockSync, type LockOwner } from './ledger-lock';
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

/** Batches up to this size are written synchronously under the lock (no disk wait: no flush flag). */
const INLINE_WRITE_BYTES = 64 * 1024;

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
  /** One event per draft: a new one, or the one already in the ledger under the draft's key. */
  results: LedgerEvent[];
}

/** Written, waiting for a flush that starts after the write. `epoch`: rolled back if it changed. */
interface FlushWaiter {
  epoch: number;
  resolve(): void;
  reject(err: unknown): void;
}

export class Appender implements LockOwner {
  private handle: Handle | null = null;
  private readonly committer = new GroupCommitter(
    (drafts) => this.writeBatch(drafts),
    (err) => toLedgerlockError(err) ?? err,
  );
  private waiting: FlushWaiter[] = [];
  private flushing = false;
  private batchTimer: NodeJS.Timeout | null = null;
  private unsyncedBytes = 0;
  /** Where the oldest written but not yet flushed batch starts, and the last id before it. */
  private unsynced: { start: number; previousId: number | null; ino: number } | null = null;
  /** The end of our latest write: a flush that starts now covers everything below it. */
  private writtenEnd: { ino: number; end: number } | null = null;
  /** Everything below `end` of file `ino` is known flushed (by one of our fdatasyncs). */
  private durableEnd: { ino: number; end: number } | null = null;
  /** Bumped when unflushed batches are cut off after a failed flush; waiters of an older epoch fail. */
  private epoch = 0;
  private epochFailure: unknown;
  /** Files replaced while a flush ran on them, closed once it is done. */
  private retired: OpenFile[] = [];

  constructor(
    private readonly ctx: LedgerContext,
    private readonly emit: (draft: TelemetryDraft) => Promise<void>,
  ) {}

  submit(drafts: Draft[]): Promise<LedgerEvent[]> {
    return this.committer.submit(drafts);
  }

  /** One event; a failure comes back with its stable code (E_NO_SPACE, …), as from the ledger API. */
  submitOne(draft: Draft): Promise<LedgerEvent> {
    return this.committer.submitOne(draft);
  }

  /**
   * Whether a batch will want the ledger's lock again before the next turn of the event loop:
   * one already queued, or (unless every append waits for its fdatasync) the producers whose
   * appends this batch acknowledges at once. In 'fsync' mode with nothing queued the next batch
   * comes after a flush, so the lock is let go right after the write.
   */
  wantsLockSoon(): boolean {
    return this.committer.queued > 0 || this.ctx.opts.durability !== 'fsync';
  }

  /** Settles once the flush covering what is written now has returned or failed (LockOwner.flushed). */
  flushed(): Promise<void> {
    return new Promise<void>((resolve) => this.waiting.push({ epoch: -1, resolve, reject: () => resolve() }));
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
        // A sync caller is waiting now: flush here, under the lock (batch mode too), even when
        // nothing new is written, since a keyed event found may be another writer's unflushed one.
        const flush = ctx.opts.durability !== 'none';
        if (plan.bytes.length === 0) {
          if (flush) this.flushSync(plan.file);
          return plan.results;
        }
        try {
          this.flushIfFarBehind(plan);
          plan.file.writeSync(plan.bytes, 0, plan.bytes.length, APPEND_MODE ? null : plan.start);
          if (flush || plan.bytes.length > HOLE_WINDOW_BYTES) this.flushSync(plan.file, plan);
        } catch (err) {
          throw this.rollBack(plan, err, lock);
        }
        this.confirmStillOurs(plan, lock);
        return this.committed(plan, flush);
      },
      this,
    );
    for (const r of recoveries) void this.emit(r).catch(() => undefined);
    return events;
  }

  /** Waits for every append in flight, makes them durable, and lets go of the file. */
  async close(): Promise<void> {
    await this.committer.idle();
    while (this.flushing || this.waiting.length > 0) await this.flushSoon();
    const h = this.handle;
    this.handle = null;
    h?.file.closeSync();
  }

  private async writeBatch(drafts: Draft[]): Promise<WrittenBatch> {
    const ctx = this.ctx;
    let recoveries: TelemetryDraft[] = [];
    let durableNow = false;
    const events = await withLedgerLock(
      ctx.path,
      ctx.opts,
      async (unchanged, lock) => {
        this.refuseIfLost(lock, drafts.length);
        const plan = this.plan(drafts, unchanged);
        recoveries = plan.recoveries;
        if (plan.bytes.length === 0) return plan.results;
        try {
          this.flushIfFarBehind(plan);
          // A small write only copies into the page cache: done here, it saves a thread-pool hop
          // (the flush after the lock is the one that waits for the disk).
          const at = APPEND_MODE ? null : plan.start;
          if (plan.bytes.length <= INLINE_WRITE_BYTES) plan.file.writeSync(plan.bytes, 0, plan.bytes.length, at);
          else await plan.file.write(plan.bytes, 0, plan.bytes.length, at);
          // A batch bigger than the hole window is flushed before the lock is let go (holes.ts).
          if (plan.bytes.length > HOLE_WINDOW_BYTES) {
            this.flushSync(plan.file, plan);
            durableNow = true;
          }
        } catch (err) {
          throw await recorded(this.rollBack(plan, err, lock), lock);
        }
        try {
          this.confirmStillOurs(plan, lock);
        } catch (err) {
          throw await recorded(err, lock);
        }
        return this.committed(plan, durableNow);
      },
      this,
    );
    for (const r of recoveries) await this.emit(r);
    return { events, durable: durableNow ? Promise.resolve() : this.durability() };
  }

  /**
   * Under the lock: the file and where it ends, the last id, a torn tail (or hole) cut, the
   * events already there under a draft's key, and the rest encoded into one buffer. Held since
   * our own last batch with nothing in between, the file is as we left it, so the stat that
   * would check that is skipped.
   */
  private plan(drafts: Draft[], unchangedSinceUs: boolean): PlannedBatch {
    const ctx = this.ctx;
    const recoveries: TelemetryDraft[] = [];
    const cache = ctx.tailCache;
    // Plain object literals, no spreads: a spread here cost a few µs per batch (a CPU profile of appendSync).
    const kept = unchangedSinceUs && this.handle && cache && cache.ino === this.handle.ino ? this.handle : null;
    const now = kept !== null ? null : this.currentHandle();
    const file = kept !== null ? kept.file : now!.file;
    const ino = kept !== null ? kept.ino : now!.ino;
    let size = kept !== null ? cache!.size : now!.size;
    let lastId: number | null;
    if (cache && cache.size === size && cache.ino === ino) {
      lastId = cache.lastId;
    } else {
      if (ctx.holeCheckedIno !== ino) {
        // Once per process and file: a power loss may have left a hole before the last record.
        const hole = findHoleSync(file, size, ctx.opts.maxLineBytes);
        if (hole !== null && hole < size) {
          const cut = cutTornTail(ctx, file, hole, size);
          recoveries.push({
            type: 'CORRUPT_TAIL_RECOVERY',
            data: {
              ledger: ctx.path,
              truncatedAt: hole,
              bytesRemoved: size - hole,
              quarantine: cut,
              reason: 'a hole of zero bytes (writes lost in a power loss) found before an append',
            },
          });
          size = hole;
        }
        ctx.holeCheckedIno = ino;
      }
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
    const results: LedgerEvent[] = new Array(drafts.length);
    let fresh = drafts;
    let freshAt: number[] | null = null;
    if (drafts.some((d) => d.key !== undefined)) {
      const keys = drafts.flatMap((d) => (d.key === undefined ? [] : [d.key]));
      const found = findKeyedSync(ctx, file, ino, size, keys);
      const firstInBatch = new Map<string, number>();
      fresh = [];
      freshAt = [];
      const repeats: [number, number][] = [];
      drafts.forEach((d, i) => {
        const existing = d.key === undefined ? undefined : found.get(d.key);
        if (existing !== undefined) {
          results[i] = existing;
        } else if (d.key !== undefined && firstInBatch.has(d.key)) {
          repeats.push([i, firstInBatch.get(d.key)!]);
        } else {
          if (d.key !== undefined) firstInBatch.set(d.key, i);
          fresh.push(d);
          freshAt!.push(i);
        }
      });
      if (fresh.length === 0)
        return { bytes: Buffer.alloc(0), events: [], lastId: lastId ?? 0, file, ino, start: size, previousId: lastId, recoveries, results };
      const batch = encodeBatch(fresh, (lastId ?? 0) + 1, new Date().toISOString(), size);
      batch.events.forEach((e, j) => (results[freshAt![j]!] = e));
      for (const [i, first] of repeats) results[i] = results[first]!;
      return { bytes: batch.bytes, events: batch.events, lastId: batch.lastId, file, ino, start: size, previousId: lastId, recoveries, results };
    }
    const batch = encodeBatch(fresh, (lastId ?? 0) + 1, new Date().toISOString(), size);
    return { bytes: batch.bytes, events: batch.events, lastId: batch.lastId, file, ino, start: size, previousId: lastId, recoveries, results: batch.events };
  }

  /**
   * Under the lock, before a write: no writer leaves more than HOLE_WINDOW_BYTES of the ledger's
   * end unflushed, so after a power loss every hole lies where the next append looks (holes.ts).
   * A process that has not flushed this file yet does not know where it stands, and flushes
   * once when the ledger is bigger than the window.
   */
  private flushIfFarBehind(plan: PlannedBatch): void {
    const known = this.durableEnd?.ino === plan.ino ? this.durableEnd.end : 0;
    if (plan.start + plan.bytes.length - known > HOLE_WINDOW_BYTES && plan.start > known) {
      plan.file.datasyncSync();
      this.durableEnd = { ino: plan.ino, end: plan.start };
    }
  }

  /** fdatasync now; everything written to the file before it (ours and `plan`) is then durable. */
  private flushSync(file: OpenFile, plan?: PlannedBatch): void {
    const covers = plan ? { ino: plan.ino, end: plan.start + plan.bytes.length } : this.writtenEnd;
    file.datasyncSync();
    if (covers) this.markDurable(covers);
  }

  private markDurable(covers: { ino: number; end: number }): void {
    if (this.durableEnd?.ino !== covers.ino || this.durableEnd.end < covers.end) this.durableEnd = covers;
  }

  /** `durableNow`: this write (and so every one before it on this file) is already on disk. */
  private committed(plan: PlannedBatch, durableNow: boolean): LedgerEvent[] {
    const end = plan.start + plan.bytes.length;
    this.ctx.tailCache = { size: end, lastId: plan.lastId, ino: plan.ino };
    this.writtenEnd = { ino: plan.ino, end };
    noteWritten(this.ctx, plan.file, plan.ino, plan.start, plan.events, end);
    if (durableNow) {
      this.unsynced = null;
      this.markDurable({ ino: plan.ino, end });
    } else {
      this.unsyncedBytes += plan.bytes.length;
      this.unsynced ??= { start: plan.start, previousId: plan.previousId, ino: plan.ino };
    }
    return plan.results;
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
      this.ctx.keyWindow = null;
    } catch {
      this.ctx.tailCache = null; // the next append reads the tail again (and cuts what is torn)
    }
    return appendError(this.ctx.path, plan.events.length, err, { rolledBack, truncatedAt: rolledBack ? plan.start : null, firstId: plan.events[0]!.id });
  }

  /**
   * Settles once a flush that started after this batch's write has returned ('fsync': at once;
   * 'batch': on a short timer or once BATCH_SYNC_BYTES are waiting; 'none': not at all).
   */
  private durability(): Promise<void> {
    const mode = this.ctx.opts.durability;
    if (mode === 'none') {
      this.unsyncedBytes = 0;
      return Promise.resolve();
    }
    const durable = new Promise<void>((resolve, reject) => this.waiting.push({ epoch: this.epoch, resolve, reject }));
    if (mode === 'fsync' || this.unsyncedBytes >= BATCH_SYNC_BYTES) this.kickFlush();
    else this.batchTimer ??= setTimeout(() => this.kickFlush(), this.ctx.opts.batchDelayMs);
    return durable;
  }

  /** Resolves once the flushes running or due now are done. */
  private flushSoon(): Promise<void> {
    if (this.waiting.length === 0 && !this.flushing) return Promise.resolve();
    const done = new Promise<void>((resolve) => this.waiting.push({ epoch: -1, resolve, reject: () => resolve() }));
    this.kickFlush();
    return done;
  }

  private kickFlush(): void {
    if (this.batchTimer) clearTimeout(this.batchTimer);
    this.batchTimer = null;
    if (!this.flushing) void this.runFlushes();
  }

  /**
   * One fdatasync at a time per ledger handle: the waiters of one are the writes made before it
   * started; writes made while it runs wait for the next, which starts as soon as it returns.
   */
  private async runFlushes(): Promise<void> {
    this.flushing = true;
    try {
      while (this.waiting.length > 0) {
        const waiters = this.waiting;
        this.waiting = [];
        const unsynced = this.unsynced;
        const covers = this.writtenEnd;
        this.unsynced = null;
        this.unsyncedBytes = 0;
        try {
          await this.handle?.file.datasync();
          if (covers) this.markDurable(covers);
        } catch (err) {
          const failure = await this.rollBackUnsynced(unsynced, err, waiters.length);
          // Everything written since `unsynced.start` is cut or unflushed: none of it may be acknowledged.
          this.epoch++;
          this.epochFailure = failure;
          for (const w of [...waiters, ...this.waiting.splice(0)]) {
            if (w.epoch === -1) w.resolve();
            else w.reject(failure);
          }
          continue;
        }
        for (const w of waiters) {
          if (w.epoch === this.epoch || w.epoch === -1) w.resolve();
          else w.reject(this.epochFailure);
        }
      }
    } finally {
      this.flushing = false;
      for (const f of this.retired.splice(0)) f.closeSync();
    }
  }

  /**
   * A flush failed after the lock was let go: take it again and, if the ledger still ends where
   * our unflushed batches left it, cut them all off. If another writer appended since, their
   * records sit after ours and nothing is cut; the error says so.
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
          ctx.keyWindow = null;
          rolledBack = true;
        });
      } catch {
        ctx.tailCache = null;
        ctx.keyWindow = null;
      }
    }
    return appendError(ctx.path, waiting, err, { rolledBack, truncatedAt: rolledBack ? unsynced!.start : null, firstId: (unsynced?.previousId ?? 0) + 1 });
  }

  /**
   * The open file and its size, from one stat of the path: reopened when the path now names
   * another file (compaction or a quarantine rewrite renamed over it). A descriptor kept from
   * an earlier batch is used again only while the ledger's folder still lies inside its root:
   * the folder may have been moved out and linked back since, and the stat follows the link to
   * the same file (docs/ARCHITECTURE.md, "Confinement"). Checked once per lock acquisition,
   * not on the batches of a hold nothing else touched.
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
    if (this.handle && this.handle.ino === st.ino && this.handle.dev === st.dev) {
      confineParentSync(this.ctx.path);
      return { file: this.handle.file, ino: st.ino, dev: st.dev, size: st.size };
    }
    if (this.handle) {
      // Batches written to the old file are made durable before it is let go.
      if (this.unsynced !== null || this.flushing) this.handle.file.datasyncSync();
      if (this.flushing) this.retired.push(this.handle.file);
      else this.handle.file.closeSync();
      this.handle = null;
    }
    const file = fs.openSync(this.ctx.path, APPEND_MODE ? 'a+' : 'r+');
    const opened = file.statSync();
    this.handle = { file, ino: opened.ino, dev: opened.dev };
    return { file, ino: opened.ino, dev: opened.dev, size: opened.size };
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
