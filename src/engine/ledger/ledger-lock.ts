/**
 * The ledger's cross-process lock. Inside a native store it is `.ledgerlock/locks/<name>.lock`,
 * elsewhere `<ledger>.lock` beside the ledger.
 */
import * as path from 'node:path';
import { storePathsOf } from '../store';
import type { TelemetryTarget } from '../telemetry';
import { ErrorCode, LedgerlockError } from '../errors';
import { acquireLock, acquireLockSync, type LockHandle } from '../lock';
import { HeldLock } from '../lock/handle';
import { ledgerGuardFor } from '../lock/profiles';
import { withToolLock } from '../lock/tool-lock';
import type { LedgerFormat } from './types';

export function ledgerName(ledgerPath: string): string {
  return path.basename(ledgerPath).replace(/\.(jsonl|ndjson)$/i, '');
}

function ledgerLockPath(ledgerPath: string): string {
  let lockPath = lockPaths.get(ledgerPath);
  if (lockPath === undefined) {
    const store = storePathsOf(ledgerPath);
    lockPath = store ? path.join(store.locks, `${ledgerName(ledgerPath)}.lock`) : `${ledgerPath}.lock`;
    if (lockPaths.size >= 1024) lockPaths.clear();
    lockPaths.set(ledgerPath, lockPath);
  }
  return lockPath;
}

/** Computed once per ledger path: every batch needs it. */
const lockPaths = new Map<string, string>();

export interface LedgerLockOptions {
  tool: string;
  lockTimeoutMs: number;
  telemetry: TelemetryTarget;
  /** Where a dead writer's reaped lock is kept (LedgerOptions.quarantineDir). */
  quarantineDir?: string | undefined;
}

/**
 * The lock for rewriting a ledger (repair, record quarantine): the store's own lock for a
 * Ledgerlock ledger, and for a foreign ledger outside a store the lock its own writer takes
 * (HardKAS's append lock, claude-flow's `.lock`, remnic's `<ledger>.lock`), in its format.
 */
/** The lock files a writer of this ledger takes (withWriterLock's choice), for whoever shows them: the Timeline's lanes. */
export function writerLockPaths(ledgerPath: string, format: LedgerFormat): string[] {
  if (format === 'foreign' && storePathsOf(ledgerPath) === undefined) {
    const guard = ledgerGuardFor(ledgerPath);
    return [guard.path, ...(guard.alsoCheck ?? [])];
  }
  return [ledgerLockPath(ledgerPath)];
}

export async function withWriterLock<T>(ledgerPath: string, format: LedgerFormat, opts: LedgerLockOptions, task: () => Promise<T>): Promise<T> {
  if (format === 'foreign' && storePathsOf(ledgerPath) === undefined) {
    const keep = opts.quarantineDir !== undefined ? { quarantineDir: opts.quarantineDir } : {};
    return withToolLock(ledgerGuardFor(ledgerPath), { timeoutMs: opts.lockTimeoutMs, telemetry: opts.telemetry, ...keep }, task);
  }
  return withLedgerLock(ledgerPath, opts, () => task());
}

/** Lock holders of this process queue here first, so they never poll the lock file against each other. */
const inProcess = new Map<string, Promise<unknown>>();
/** Locks an async task of this process is working under right now (across awaits). */
const busy = new Set<string>();

/**
 * Runs `task` holding the ledger's lock. `task` learns whether `owner` was the last to hold
 * this lock without it being let go in between: then nothing (no other process, no other
 * ledger object or operation here) can have touched the file since `owner`'s last task. It
 * also gets the lock, to confirm it is still ours before it acknowledges anything.
 */
export async function withLedgerLock<T>(
  ledgerPath: string,
  opts: LedgerLockOptions,
  task: (unchangedSinceOwner: boolean, lock: LockHandle) => Promise<T>,
  owner?: object,
): Promise<T> {
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

/**
 * After another writer wanted the lock (this process had to wait for it, or another writer here
 * had the hold last), async appends with 'fsync' durability let it go before their flush for
 * this long (see afterTask).
 */
const CONTENDED_MEMORY_MS = 2000;
/** When another writer last wanted each ledger lock (noteContended). */
const contendedAt = new Map<string, number>();

interface StickyLock {
  handle: LockHandle;
  since: number;
  /** Cancels the pending release of a lingering hold (an immediate, or the end of a flush). */
  cancel: (() => void) | null;
  /** Who ran the last task under this hold (null: an anonymous task). */
  lastOwner: object | null;
}

const sticky = new Map<string, StickyLock>();

async function holdFileLock<T>(
  lockPath: string,
  opts: LedgerLockOptions,
  task: (unchangedSinceOwner: boolean, lock: LockHandle) => Promise<T>,
  owner: object | undefined,
): Promise<T> {
  let held = lingering(lockPath);
  if (!held) {
    // Ledger locks are held for one write + fsync: poll briefly rather than with the default long backoff.
    const handle = await acquireLock(lockPath, { tool: opts.tool, timeoutMs: opts.lockTimeoutMs, telemetry: opts.telemetry, retryBaseMs: 1, retryMaxMs: 25 });
    if (handle instanceof HeldLock && handle.waitedForIt) noteContended(lockPath);
    held = { handle, since: Date.now(), cancel: null, lastOwner: null };
    sticky.set(lockPath, held);
  } else if (owner !== undefined && held.lastOwner !== owner) {
    // Another writer of this process (another ledger object, a repair) had the hold last.
    noteContended(lockPath);
  }
  const unchanged = owner !== undefined && held.lastOwner === owner && held.handle.held;
  held.lastOwner = owner ?? null;
  let result: T;
  busy.add(lockPath);
  try {
    result = await task(unchanged, held.handle);
  } catch (err) {
    busy.delete(lockPath);
    releaseNow(lockPath, held);
    throw err;
  }
  busy.delete(lockPath);
  afterTask(lockPath, held, owner);
  return result;
}

/**
 * withLedgerLock for the sync forms: the same lock file, the same lingering hold (a loop of
 * appendSync calls pays one lock round trip per STICKY_MAX_MS), waiting without an event loop.
 */
export function withLedgerLockSync<T>(
  ledgerPath: string,
  opts: LedgerLockOptions,
  task: (unchangedSinceOwner: boolean, lock: LockHandle) => T,
  owner?: object,
): T {
  const lockPath = ledgerLockPath(ledgerPath);
  if (busy.has(lockPath)) {
    throw new LedgerlockError(
      ErrorCode.BadInput,
      `an async operation of this process holds ${lockPath} right now; await it before a sync call on the same ledger`,
      { path: lockPath },
    );
  }
  let held = lingering(lockPath);
  if (!held) {
    const handle = acquireLockSync(lockPath, { tool: opts.tool, timeoutMs: opts.lockTimeoutMs, telemetry: opts.telemetry, retryBaseMs: 1, retryMaxMs: 25 });
    if (handle instanceof HeldLock && handle.waitedForIt) noteContended(lockPath);
    held = { handle, since: Date.now(), cancel: null, lastOwner: null };
    sticky.set(lockPath, held);
  }
  const unchanged = owner !== undefined && held.lastOwner === owner && held.handle.held;
  held.lastOwner = owner ?? null;
  let result: T;
  try {
    result = task(unchanged, held.handle);
  } catch (err) {
    releaseNow(lockPath, held);
    throw err;
  }
  // A sync caller's next call may come in this same tick: the hold always lingers for it.
  afterTask(lockPath, held, undefined);
  return result;
}

/**
 * The lock still held from this process's last task, if it is still ours: its file is checked
 * (one stat), since the heartbeat cannot run while a sync caller keeps the event loop busy. One
 * taken from us meanwhile is not reused (nothing was written under it since the last task
 * confirmed it); the next task takes the lock afresh and reads the file as it is now.
 */
function lingering(lockPath: string): StickyLock | undefined {
  const held = sticky.get(lockPath);
  if (!held) return undefined;
  held.cancel?.();
  held.cancel = null;
  if (held.handle.held && !(held.handle instanceof HeldLock && held.handle.checkInodeSync() !== undefined)) return held;
  sticky.delete(lockPath);
  releaseNow(lockPath, held);
  return undefined;
}

/**
 * An owner that knows whether it will want the lock again within this turn of the event loop.
 * One that will not lets it go at once when other processes want it: lingering then only keeps
 * them waiting (README, "Processes sharing a ledger").
 */
export interface LockOwner {
  wantsLockSoon(): boolean;
  /**
   * Settles when the flush that covers the batch just written has returned (or failed). Its
   * producers append again then, so while no other writer wants the lock, the hold lingers
   * until it settles instead of a lock cycle per batch (docs/ARCHITECTURE.md, "Append and group
   * commit").
   */
  flushed?(): Promise<void>;
}

/** Someone besides this writer wants the lock: another process (our acquire had to wait), or another writer here. */
function noteContended(lockPath: string): void {
  if (contendedAt.size >= 1024) contendedAt.clear();
  contendedAt.set(lockPath, Date.now());
}

function contendedLately(lockPath: string): boolean {
  const at = contendedAt.get(lockPath);
  return at !== undefined && Date.now() - at < CONTENDED_MEMORY_MS;
}

/** After a task: report a lost lock, else let it linger briefly or let it go. */
function afterTask(lockPath: string, held: StickyLock, owner: object | undefined): void {
  if (held.handle.compromised) {
    releaseNow(lockPath, held);
    throw new LedgerlockError(ErrorCode.LockCompromised, `lost ${lockPath} while appending`, { path: lockPath });
  }
  const lockOwner = owner !== undefined && 'wantsLockSoon' in owner ? (owner as LockOwner) : undefined;
  const soon = lockOwner === undefined || lockOwner.wantsLockSoon();
  const left = STICKY_MAX_MS - (Date.now() - held.since);
  if (left <= 0) {
    releaseNow(lockPath, held);
  } else if (soon) {
    const timer = setImmediate(() => releaseNow(lockPath, held));
    held.cancel = () => clearImmediate(timer);
  } else if (lockOwner?.flushed !== undefined && !contendedLately(lockPath)) {
    // Nobody else has wanted this lock lately: keep it over the flush (bounded by what is left
    // of STICKY_MAX_MS), and let it go one turn after the flush unless a new batch took it.
    let live = true;
    let immediate: NodeJS.Immediate | undefined;
    const bound = setTimeout(() => live && releaseNow(lockPath, held), left);
    bound.unref();
    held.cancel = () => {
      live = false;
      clearTimeout(bound);
      if (immediate !== undefined) clearImmediate(immediate);
    };
    void lockOwner.flushed().then(() => {
      if (live) immediate = setImmediate(() => live && releaseNow(lockPath, held));
    });
  } else {
    releaseNow(lockPath, held);
  }
}

/** Lets go of the file lock, synchronously: a release is a rename, a read and an unlink. */
function releaseNow(lockPath: string, held: StickyLock): void {
  held.cancel?.();
  held.cancel = null;
  if (sticky.get(lockPath) === held) sticky.delete(lockPath);
  held.handle.releaseSync();
}

/** Lets go of a lingering lock at once (closing a ledger). */
export async function releaseLedgerLock(ledgerPath: string): Promise<void> {
  const lockPath = ledgerLockPath(ledgerPath);
  await inProcess.get(lockPath);
  const held = sticky.get(lockPath);
  if (held) releaseNow(lockPath, held);
}
