/**
 * The ledger's cross-process lock. Inside a native store it is `.ledgerlock/locks/<name>.lock`,
 * elsewhere `<ledger>.lock` beside the ledger.
 */
import * as path from 'node:path';
import { storePathsOf } from '../store';
import type { TelemetryTarget } from '../telemetry';
import { ErrorCode, LedgerlockError } from '../errors';
import { acquireLock, type LockHandle } from '../lock';
import { ledgerGuardFor } from '../lock/profiles';
import { withToolLock } from '../lock/tool-lock';
import type { LedgerFormat } from './types';

export function ledgerName(ledgerPath: string): string {
  return path.basename(ledgerPath).replace(/\.(jsonl|ndjson)$/i, '');
}

export function ledgerLockPath(ledgerPath: string): string {
  const store = storePathsOf(ledgerPath);
  return store ? path.join(store.locks, `${ledgerName(ledgerPath)}.lock`) : `${ledgerPath}.lock`;
}

export interface LedgerLockOptions {
  tool: string;
  lockTimeoutMs: number;
  telemetry: TelemetryTarget;
}

/**
 * The lock for rewriting a ledger (repair, record quarantine): the store's own lock for a
 * Ledgerlock ledger, and for a foreign ledger outside a store the lock its own writer takes
 * (HardKAS's append lock, claude-flow's `.lock`, remnic's `<ledger>.lock`), in its format.
 */
export async function withWriterLock<T>(ledgerPath: string, format: LedgerFormat, opts: LedgerLockOptions, task: () => Promise<T>): Promise<T> {
  if (format === 'foreign' && storePathsOf(ledgerPath) === undefined) {
    return withToolLock(ledgerGuardFor(ledgerPath), { timeoutMs: opts.lockTimeoutMs, telemetry: opts.telemetry }, task);
  }
  return withLedgerLock(ledgerPath, opts, () => task());
}

/** Lock holders of this process queue here first, so they never poll the lock file against each other. */
const inProcess = new Map<string, Promise<unknown>>();

/**
 * Runs `task` holding the ledger's lock. `task` learns whether `owner` was the last to hold
 * this lock without it being let go in between: then nothing (no other process, no other
 * ledger object or operation here) can have touched the file since `owner`'s last task.
 */
export async function withLedgerLock<T>(ledgerPath: string, opts: LedgerLockOptions, task: (unchangedSinceOwner: boolean) => Promise<T>, owner?: object): Promise<T> {
  const lockPath = ledgerLockPath(ledgerPath);
  const before = inProcess.get(lockPath) ?? Promise.resolve();
  const mine = before.catch(() => undefined).then(() => holdFileLock(lockPath, opts, task, owner));
  const settled = mine.catch(() => undefined);
  inProcess.set(lockPath, settled);
  void settled.then(() => {
    if (inProcess.get(lockPath) === settled) inProcess.delete(lockPath);
  });
  return mine;
}

/**
 * A held ledger lock lingers until the event loop's next turn, and is reused by the appends
 * that arrive meanwhile (the producers whose previous append just resolved). A busy process
 * then pays one lock round trip for a run of batches instead of one per batch, and other
 * processes get their turn after at most STICKY_MAX_MS.
 */
const STICKY_MAX_MS = 15;

interface StickyLock {
  handle: LockHandle;
  since: number;
  timer: NodeJS.Immediate | null;
  /** Who ran the last task under this hold (null: an anonymous task). */
  lastOwner: object | null;
}

const sticky = new Map<string, StickyLock>();

async function holdFileLock<T>(lockPath: string, opts: LedgerLockOptions, task: (unchangedSinceOwner: boolean) => Promise<T>, owner: object | undefined): Promise<T> {
  let held = sticky.get(lockPath);
  if (held) {
    if (held.timer) clearImmediate(held.timer);
    held.timer = null;
    if (!held.handle.held) {
      sticky.delete(lockPath);
      held = undefined;
    }
  }
  if (!held) {
    // Ledger locks are held for one write + fsync: poll briefly rather than with the default long backoff.
    const handle = await acquireLock(lockPath, { tool: opts.tool, timeoutMs: opts.lockTimeoutMs, telemetry: opts.telemetry, retryBaseMs: 1, retryMaxMs: 25 });
    held = { handle, since: Date.now(), timer: null, lastOwner: null };
    sticky.set(lockPath, held);
  }
  const unchanged = owner !== undefined && held.lastOwner === owner && held.handle.held;
  held.lastOwner = owner ?? null;
  let result: T;
  try {
    result = await task(unchanged);
  } catch (err) {
    await releaseNow(lockPath, held);
    throw err;
  }
  if (held.handle.compromised) {
    await releaseNow(lockPath, held);
    throw new LedgerlockError(ErrorCode.LockCompromised, `lost ${lockPath} while appending`, { path: lockPath });
  }
  if (Date.now() - held.since >= STICKY_MAX_MS) {
    await releaseNow(lockPath, held);
  } else {
    const lingering = held;
    lingering.timer = setImmediate(() => void releaseNow(lockPath, lingering));
  }
  return result;
}

async function releaseNow(lockPath: string, held: StickyLock): Promise<void> {
  if (held.timer) clearImmediate(held.timer);
  held.timer = null;
  if (sticky.get(lockPath) === held) sticky.delete(lockPath);
  await held.handle.release();
}

/** Lets go of a lingering lock at once (closing a ledger). */
export async function releaseLedgerLock(ledgerPath: string): Promise<void> {
  const lockPath = ledgerLockPath(ledgerPath);
  await inProcess.get(lockPath);
  const held = sticky.get(lockPath);
  if (held) await releaseNow(lockPath, held);
}
