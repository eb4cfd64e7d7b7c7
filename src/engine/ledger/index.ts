/**
 * `openLedger`: a native Ledgerlock ledger (checksummed records, appendable) or a foreign
 * JSONL/NDJSON ledger (read as it is), told apart by their first lines.
 */
import * as path from 'node:path';
import { syncParentDir } from '../atomic';
import { ErrorCode, LedgerlockError, errnoCode, toLedgerlockError } from '../errors';
import { fsl } from '../fs';
import { checkCount, checkDuration } from '../options';
import { storeRole } from '../discover';
import { ensureStore, readStoreManifest, storePathsOf } from '../store';
import { emitTelemetry, type TelemetryDraft } from '../telemetry';
import { Appender } from './append';
import { compactLedger, type CompactOptions } from './compact';
import { indexPathFor, resolveOptions, withReader, type LedgerContext } from './context';
import { detectFormat, firstRecordProfile, profileOf, refuseForeign, type ProfileHolder } from './foreign';
import { readPage, readRange, readTail, newlinesBefore } from './read';
import { draftOf, type Draft } from './record';
import { quarantineRecord, repairLedger } from './repair';
import { quarantineDirFor } from './quarantine';
import { readBackward } from './reverse';
import { interpretLine } from './interpret';
import { releaseLedgerLock } from './ledger-lock';
import { scanLines } from './scan';
import type { AppendOptions, CompactResult, Ledger, LedgerEvent, LedgerOptions, LedgerStats, Page, RangeQuery, RepairResult, VerifyReport } from './types';
import { verifyLedger } from './verify';

export * from './types';
export type { CompactOptions } from './compact';

const HEAD_BYTES = 64 * 1024;

export async function openLedger(ledgerPath: string, options: LedgerOptions = {}): Promise<Ledger> {
  return withStableErrors(() => openLedgerFile(ledgerPath, options));
}

async function openLedgerFile(ledgerPath: string, options: LedgerOptions): Promise<Ledger> {
  const opts = resolveOptions(options);
  const file = path.resolve(ledgerPath);
  const store = storePathsOf(file);
  if (store) await readStoreManifest(store); // refuses a store newer than this code
  let head: Buffer;
  try {
    const st = await fsl().stat(file);
    if (!st.isFile()) throw new LedgerlockError(ErrorCode.NotALedger, `${file} is not a regular file`, { path: file });
    head = await readHead(file);
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
    if (options.create === false) throw new LedgerlockError(ErrorCode.NotFound, `ledger ${file} does not exist`, { path: file }, { cause: err });
    await createLedgerFile(file);
    head = Buffer.alloc(0);
  }
  const role = storeRole(file.split(path.sep));
  const format = detectFormat(head, store !== undefined, role === 'ledger' || role === 'recoveries');
  const ctx: LedgerContext & ProfileHolder = {
    profile: format === 'foreign' ? firstRecordProfile(head, file, options.profile) : undefined,
    path: file,
    format,
    indexPath: format === 'ledgerlock' ? indexPathFor(file) : null,
    opts,
    quarantineDir: await quarantineDirFor(file, options.quarantineDir),
    tailCache: null,
    keyWindow: null,
    holeCheckedIno: null,
    index: undefined,
  };
  const ledger = new LedgerHandle(ctx);
  if (options.autoCompact) ledger.startAutoCompact(options.autoCompact);
  return ledger;
}

async function readHead(file: string): Promise<Buffer> {
  const f = await fsl().open(file, 'r');
  try {
    const buf = Buffer.alloc(HEAD_BYTES);
    return buf.subarray(0, await f.read(buf, 0, HEAD_BYTES, 0));
  } finally {
    await f.close();
  }
}

async function createLedgerFile(file: string): Promise<void> {
  const store = storePathsOf(file);
  if (store) await ensureStore(store.root);
  await fsl().mkdir(path.dirname(file));
  const f = await fsl().open(file, 'a', 0o644);
  await f.close();
  await syncParentDir(file, false);
}

class LedgerHandle implements Ledger {
  readonly path: string;
  readonly format: Ledger['format'];
  private readonly appender: Appender;
  private closed = false;
  private autoCompactTimer: NodeJS.Timeout | null = null;
  private autoCompacting = false;
  private lastReport: VerifyReport | null = null;

  constructor(private readonly ctx: LedgerContext) {
    this.path = ctx.path;
    this.format = ctx.format;
    this.appender = new Appender(ctx, (d) => this.emit(d));
  }

  /** appendMany of one event, with one promise of its own per call (the hot path of many producers). */
  append(type: string, data?: unknown, opts?: AppendOptions): Promise<LedgerEvent> {
    let draft: Draft;
    try {
      this.checkOpen();
      if (this.format === 'foreign') refuseForeign(this.path, 'append to');
      draft = draftOf(type, data, this.ctx.opts.maxRecordBytes, this.path, opts?.key);
    } catch (err) {
      return Promise.reject(toLedgerlockError(err) ?? err);
    }
    return this.appender.submitOne(draft);
  }

  async appendMany(events: { type: string; data?: unknown; key?: string }[]): Promise<LedgerEvent[]> {
    return withStableErrors(async () => {
      const drafts = this.drafts(events);
      return drafts.length === 0 ? [] : this.appender.submit(drafts);
    });
  }

  appendSync(type: string, data?: unknown, opts?: AppendOptions): LedgerEvent {
    return this.appendManySync([opts?.key === undefined ? { type, data } : { type, data, key: opts.key }])[0]!;
  }

  appendManySync(events: { type: string; data?: unknown; key?: string }[]): LedgerEvent[] {
    try {
      const drafts = this.drafts(events);
      return drafts.length === 0 ? [] : this.appender.appendSync(drafts);
    } catch (err) {
      throw toLedgerlockError(err) ?? err;
    }
  }

  private drafts(events: { type: string; data?: unknown; key?: string }[]): Draft[] {
    this.checkOpen();
    if (this.format === 'foreign') refuseForeign(this.path, 'append to');
    if (!Array.isArray(events)) throw new LedgerlockError(ErrorCode.BadInput, 'appendMany takes an array of { type, data }', { path: this.path });
    const max = this.ctx.opts.maxRecordBytes;
    return events.map((e) => draftOf(e?.type, e?.data, max, this.path, e?.key));
  }

  async tail(n: number): Promise<LedgerEvent[]> {
    return withStableErrors(async () => {
      this.checkOpen();
      return withReader(this.ctx, (file, size) => readTail(this.ctx, file, size, n));
    });
  }

  async page(opts: { cursor?: string | null; limit: number }): Promise<Page> {
    return withStableErrors(async () => {
      this.checkOpen();
      return withReader(this.ctx, (file, size) => readPage(this.ctx, file, size, opts));
    });
  }

  async range(opts: RangeQuery): Promise<LedgerEvent[]> {
    return withStableErrors(async () => {
      this.checkOpen();
      return withReader(this.ctx, (file, size) => readRange(this.ctx, file, size, opts ?? {}));
    });
  }

  async verify(opts: { signal?: AbortSignal; onProgress?: (bytes: number, total: number) => void } = {}): Promise<VerifyReport> {
    return withStableErrors(async () => {
      this.checkOpen();
      const report = await withReader(this.ctx, (file, size) =>
        verifyLedger(file, this.path, this.format, size, {
          maxLineBytes: this.ctx.opts.maxLineBytes,
          signal: opts.signal,
          onProgress: opts.onProgress,
          profile: profileOf(this.ctx),
        }),
      );
      this.lastReport = report;
      return report;
    });
  }

  async repair(): Promise<RepairResult> {
    return withStableErrors(async () => {
      this.checkOpen();
      const result = await repairLedger(this.ctx, (d) => this.emit(d));
      this.lastReport = null;
      return result;
    });
  }

  async quarantineRecord(offset: number): Promise<{ removedBytes: number; quarantine: string }> {
    return withStableErrors(async () => {
      this.checkOpen();
      const result = await quarantineRecord(this.ctx, offset, (d) => this.emit(d));
      this.lastReport = null;
      return result;
    });
  }

  async compact(opts: CompactOptions): Promise<CompactResult> {
    return withStableErrors(async () => {
      this.checkOpen();
      if (this.format === 'foreign') refuseForeign(this.path, 'compact');
      const result = await compactLedger(this.ctx, opts ?? {}, (d) => this.emit(d));
      this.lastReport = null;
      return result;
    });
  }

  async stats(): Promise<LedgerStats> {
    return withStableErrors(async () => {
      this.checkOpen();
      return withReader(this.ctx, async (file, size) => {
        const linesBefore = this.format === 'foreign' ? await newlinesBefore(this.ctx, file, size, size) : undefined;
        const tail = await readBackward(file, this.format, size, 1, this.ctx.opts.maxLineBytes, linesBefore, profileOf(this.ctx));
        const known = this.lastReport?.bytes === size ? this.lastReport : null;
        const index = this.ctx.index?.size === size ? this.ctx.index : null;
        return {
          path: this.path,
          format: this.format,
          bytes: size,
          events: known?.events ?? index?.events ?? null,
          lastId: tail.events[0]?.id ?? null,
          health: tail.damagedAfterValid ? 'torn' : (known?.health ?? 'unknown'),
        };
      });
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.autoCompactTimer) clearInterval(this.autoCompactTimer);
    this.autoCompactTimer = null;
    await this.appender.close();
    await releaseLedgerLock(this.path);
  }

  startAutoCompact(opts: { keep: number; everyMs: number }): void {
    if (this.format === 'foreign') refuseForeign(this.path, 'compact');
    const keep = checkCount('autoCompact.keep', opts.keep);
    const everyMs = checkDuration('autoCompact.everyMs', opts.everyMs);
    this.autoCompactTimer = setInterval(() => void this.autoCompact(keep), everyMs);
    this.autoCompactTimer.unref();
  }

  /** Compacts only when there are clearly more than `keep` events: first and last id say so without a scan. */
  private async autoCompact(keep: number): Promise<void> {
    if (this.autoCompacting || this.closed) return;
    this.autoCompacting = true;
    try {
      const span = await withReader(this.ctx, async (file, size) => {
        const last = (await readBackward(file, this.format, size, 1, this.ctx.opts.maxLineBytes)).events[0];
        for await (const raw of scanLines(file, { end: Math.min(size, this.ctx.opts.maxLineBytes + 1), maxLineBytes: this.ctx.opts.maxLineBytes })) {
          const first = interpretLine(this.format, raw, null).event;
          return first && last ? last.id - first.id + 1 : 0;
        }
        return 0;
      });
      if (span > keep) await this.compact({ keep });
    } catch {
      // A failed background compaction leaves the ledger as it was; the next tick tries again.
    } finally {
      this.autoCompacting = false;
    }
  }

  private emit(draft: TelemetryDraft): Promise<void> {
    return emitTelemetry(this.ctx.opts.telemetry, this.path, draft);
  }

  private checkOpen(): void {
    if (this.closed) throw new LedgerlockError(ErrorCode.LedgerClosed, `ledger ${this.path} is closed`, { path: this.path });
  }
}

/** A system error leaves the ledger API with its stable code (E_NO_SPACE, E_PERMISSION, …), never as a raw errno. */
async function withStableErrors<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toLedgerlockError(err) ?? err;
  }
}
