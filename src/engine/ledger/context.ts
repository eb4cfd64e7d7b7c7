/** What every ledger operation needs to know about the ledger it works on, with options resolved once. */
import * as path from 'node:path';
import { fsl, type OpenFile } from '../fs';
import { checkCount, checkDuration } from '../options';
import type { TelemetryTarget } from '../telemetry';
import { ErrorCode, LedgerlockError } from '../errors';
import { ledgerName } from './ledger-lock';
import type { SparseIndex } from './index-file';
import type { Durability, LedgerFormat, LedgerOptions } from './types';

export interface ResolvedOptions {
  durability: Durability;
  telemetry: TelemetryTarget;
  lockTimeoutMs: number;
  maxRecordBytes: number;
  maxLineBytes: number;
  tool: string;
  batchDelayMs: number;
  /** The caller's quarantine for a foreign ledger's cut bytes and its writer's reaped lock. */
  quarantineDir: string | undefined;
}

export interface LedgerContext {
  path: string;
  format: LedgerFormat;
  /** Native ledgers keep `<name>.idx` beside them; a foreign ledger's index lives in memory only. */
  indexPath: string | null;
  opts: ResolvedOptions;
  /** Where bytes cut from this ledger go (resolved once, at open). */
  quarantineDir: string;
  /** The last id we wrote and the file size right after: trusted only while the size is unchanged. */
  tailCache: { size: number; lastId: number | null; ino: number } | null;
  /** Recent records' keys, for exactly-once retries (key-window.ts). */
  keyWindow: KeyWindow | null;
  /** The file (inode) whose last HOLE_WINDOW_BYTES this process has checked for holes (holes.ts). */
  holeCheckedIno: number | null;
  index: SparseIndex | undefined;
}

/** The keys of a ledger's recent records (key-window.ts). */
export interface KeyWindow {
  ino: number;
  /** Scanned up to here. */
  end: number;
  /** The bytes just before `end` as they were when scanned: changed ones mean the end was cut and written again. */
  mark: Buffer;
  /** key → where its record is (oldest first, as appended). */
  keys: Map<string, { offset: number; length: number }>;
}

export function resolveOptions(opts: LedgerOptions): ResolvedOptions {
  const durability = opts.durability ?? 'fsync';
  if (!['fsync', 'batch', 'none'].includes(durability)) {
    throw new LedgerlockError(ErrorCode.BadOption, `option durability must be "fsync", "batch" or "none", got ${JSON.stringify(durability)}`, {
      option: 'durability',
    });
  }
  return {
    durability,
    telemetry: opts.telemetry,
    lockTimeoutMs: checkDuration('lockTimeoutMs', opts.lockTimeoutMs ?? 10_000),
    maxRecordBytes: checkCount('maxRecordBytes', opts.maxRecordBytes ?? 1024 * 1024),
    maxLineBytes: checkCount('maxLineBytes', opts.maxLineBytes ?? 16 * 1024 * 1024),
    tool: opts.tool ?? 'ledgerlock',
    batchDelayMs: checkDuration('batchDelayMs', opts.batchDelayMs ?? 10),
    quarantineDir: opts.quarantineDir,
  };
}

export function indexPathFor(ledgerPath: string): string {
  return path.join(path.dirname(ledgerPath), `${ledgerName(ledgerPath)}.idx`);
}

/** Runs `fn` with a read-only handle and the file's size at open. */
export async function withReader<T>(ctx: LedgerContext, fn: (file: OpenFile, size: number) => Promise<T>): Promise<T> {
  const file = await fsl().open(ctx.path, 'r');
  try {
    return await fn(file, (await file.stat()).size);
  } finally {
    await file.close();
  }
}
