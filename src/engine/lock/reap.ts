/**
 * Breaking a stale lock without ever breaking a live one. Breakers take a short guard file
 * (`<lock>.reaping`) so two of them cannot both judge the same dead lock and then move the
 * fresh lock one of them just took. Under the guard: capture identity, re-judge, rename to a
 * trash name, verify the moved bytes are what was judged, restore with `link` otherwise.
 */
import * as path from 'node:path';
import { ErrorCode, LedgerlockError, errnoCode } from '../errors';
import { refuseUnsafeReap } from '../reap-guard';
import { fsl } from '../fs';
import { backoffDelay, sleep } from '../options';
import { keepInQuarantine, knownQuarantineDir } from '../ledger/quarantine';
import { emitTelemetry, type TelemetryTarget } from '../telemetry';
import { holderWitness, judgeLock, processWords, type LockInfo } from './classify';
import { createLockFile, newOwnerId, nativeLockContent, removeIfOwned, removeIfOwnedSync, restore, trashPathFor } from './file';
import { describeHolder } from './holder';
import { inspectLock, observeLock, sameIdentity, type ObservedLock } from './inspect';
import { profileById } from './profiles';
import { collectOsEvidence } from './os-evidence';
import { selfIdentity } from './process';
import { resolveTiming, type LockTiming, type ResolvedTiming } from './timing';

export interface ReapOptions extends LockTiming {
  telemetry?: TelemetryTarget;
  /**
   * Also break a lock that is not provably stale (a fresh lock from another host, unreadable
   * content). A live holder on this host is refused even so.
   */
  force?: boolean;
  /**
   * Remove a lock whose state is `unknown` (nothing this judge can see decides: a holder outside
   * its container, another user's process). Only for an explicit action that showed a person
   * what is unknown and was confirmed; a lock with a live holder is refused even so.
   */
  confirmUnknown?: boolean;
  /** How long to wait for another process that is breaking the same lock. Default 5 s. */
  guardTimeoutMs?: number;
  /**
   * Where a reaped lock outside a native store is kept (the editor names its workspace's
   * `.ledgerlock/quarantine/`); default: the enclosing store's quarantine, if there is one.
   */
  quarantineDir?: string;
}

/** What a caller allows beyond a provably stale lock. */
export interface BreakPermission {
  force?: boolean;
  confirmUnknown?: boolean;
  /** Where the reaped bytes are kept (ReapOptions.quarantineDir). */
  quarantineDir?: string;
}

export interface ReapResult {
  reaped: boolean;
  info: LockInfo;
  /** Where the reaped bytes went (a quarantine folder), or a restore leftover to look at. */
  trash?: string;
  /** Why nothing was reaped: set whenever `reaped` is false (`info.reason` is the verdict it acted on). */
  why?: string;
}

/** Breaks a stale or orphaned lock. E_LOCK_LIVE_HOLDER for a live local holder, E_LOCK_NOT_STALE otherwise. */
export async function reapLock(lockPath: string, opts: ReapOptions = {}): Promise<ReapResult> {
  await refuseUnsafeReap(lockPath);
  const timing = resolveTiming(opts);
  const allow: BreakPermission = {
    force: opts.force === true,
    confirmUnknown: opts.confirmUnknown === true,
    ...(opts.quarantineDir !== undefined ? { quarantineDir: opts.quarantineDir } : {}),
  };
  refuseUnlessBreakable(await inspectLock(lockPath, opts), allow);
  const deadline = Date.now() + (opts.guardTimeoutMs ?? 5_000);
  for (let attempt = 0; ; attempt++) {
    const outcome = await breakLock(lockPath, { ...timing, now: Date.now() }, opts.telemetry, allow);
    if (outcome.kind === 'busy') {
      if (Date.now() >= deadline) {
        throw new LedgerlockError(ErrorCode.LockTimeout, `another process is breaking ${lockPath} right now; try again`, { path: lockPath });
      }
      await sleep(backoffDelay(attempt, 10, 200));
      continue;
    }
    if (outcome.kind === 'gone') {
      throw new LedgerlockError(ErrorCode.NotFound, `no lock at ${lockPath} (it was released or reaped meanwhile)`, { path: lockPath });
    }
    if (outcome.kind === 'not-breakable') refuseUnlessBreakable(outcome.info, allow);
    const trash = outcome.kind === 'not-breakable' ? undefined : outcome.trash;
    const why =
      outcome.kind === 'reaped'
        ? {}
        : { why: `a new holder took its place while it was being broken${trash !== undefined ? ', and the file moved aside could not be put back' : ''}` };
    return { reaped: outcome.kind === 'reaped', info: outcome.info, ...(trash !== undefined ? { trash } : {}), ...why };
  }
}

function breakable(info: LockInfo, allow: BreakPermission): boolean {
  if (info.alive === true) return false;
  if (info.reapable) return true;
  if (info.state === 'unknown') return allow.confirmUnknown === true;
  return allow.force === true;
}

function refuseUnlessBreakable(info: LockInfo, allow: BreakPermission): void {
  if (breakable(info, allow)) return;
  const details = { path: info.path, state: info.state, holder: info.holder, ageMs: info.ageMs, reason: info.reason };
  if (info.alive === true) {
    const witness = holderWitness(info);
    const who = witness !== undefined ? processWords(witness) : describeHolder(info.holder);
    throw new LedgerlockError(
      ErrorCode.LockHeldByLiveProcess,
      `${info.path} is held by ${who}, which is running (${info.reason}); a live holder's lock is never broken`,
      { ...details, evidence: info.evidence, holderPid: witness?.pid ?? info.holder?.pid },
    );
  }
  const hint = info.state === 'unknown' ? '; removing it anyway needs an explicit confirmation of what is unknown (reap --unknown)' : '';
  throw new LedgerlockError(ErrorCode.LockNotStale, `${info.path} is not stale (${info.state}): ${info.reason}${hint}`, details);
}

export type BreakOutcome =
  | { kind: 'reaped'; info: LockInfo; trash?: string }
  | { kind: 'replaced'; info: LockInfo; trash?: string }
  | { kind: 'not-breakable'; info: LockInfo }
  | { kind: 'gone' }
  | { kind: 'busy' };

/** One guarded attempt to break the lock at `lockPath` if it is (still) breakable. */
export async function breakLock(lockPath: string, timing: ResolvedTiming, telemetry: TelemetryTarget, allow: BreakPermission = {}): Promise<BreakOutcome> {
  const guard = await takeGuard(lockPath, timing);
  if (guard === 'gone') return { kind: 'gone' };
  if (guard === 'busy') return { kind: 'busy' };
  try {
    let observed: ObservedLock;
    try {
      observed = await observeLock(lockPath);
    } catch (err) {
      if (err instanceof LedgerlockError && err.code === ErrorCode.NotFound) return { kind: 'gone' };
      throw err;
    }
    const info = await judgeLock(observed, { ...timing, now: Date.now() });
    if (!breakable(info, allow) || observed.identity === undefined) return { kind: 'not-breakable', info };
    const moved = await moveAside(lockPath, observed);
    if (moved.kind === 'gone') return { kind: 'gone' };
    if (moved.kind === 'replaced') {
      if (moved.trash === undefined) return { kind: 'replaced', info };
      await leftAside(telemetry, lockPath, moved.trash, 'the file at the lock path changed between the verdict and the move (not the lock that was judged)');
      return { kind: 'replaced', info, trash: moved.trash };
    }
    // A holder that locked or opened the file between the verdict and the rename is a live
    // holder after all (flock users open, then lock): put the file back for it.
    const lateHolder = heldNow(moved.trash, observed);
    if (lateHolder !== undefined) {
      const restored = observed.type === 'directory' ? await restoreDirectory(moved.trash, lockPath) : await restore(moved.trash, lockPath);
      if (!restored) {
        await leftAside(telemetry, lockPath, moved.trash, lateHolder);
        return { kind: 'replaced', info, trash: moved.trash };
      }
      const rejudged = await judgeLock(observed, { ...timing, now: Date.now() });
      return { kind: 'not-breakable', info: { ...rejudged, alive: true, reapable: false, state: 'held', reason: `${lateHolder}; it was put back` } };
    }
    // Kept first, recorded after: the record says where the bytes are, and a quarantine just
    // created in a workspace without a store is where its recovery log is found.
    const kept = await disposeTrash(moved.trash, lockPath, allow.quarantineDir);
    await emitTelemetry(telemetry, lockPath, {
      type: 'STALE_LOCK_RECOVERY',
      data: {
        lock: lockPath,
        profile: info.profile,
        reason: info.reason,
        ageMs: info.ageMs,
        holder: info.holder ? { ...info.holder } : null,
        ...(info.state === 'unknown' ? { confirmedUnknown: true } : {}),
        ...(kept !== undefined ? { quarantine: kept } : {}),
      },
    });
    // Files the tool keeps beside the lock naming this holder go with it.
    for (const leftover of profileById(info.profile)?.leftovers?.(lockPath, info.holder) ?? []) {
      try {
        removeIfOwnedSync(leftover.path, leftover.owner);
      } catch {
        // one we cannot remove names a dead holder of a lock that no longer exists: harmless
      }
    }
    await fsl()
      .syncDir(path.dirname(lockPath))
      .catch(() => undefined);
    return { kind: 'reaped', info, ...(kept !== undefined ? { trash: kept } : {}) };
  } finally {
    await guard.release();
  }
}

/**
 * A file moved aside that could not be put back (a new lock already has the path) stays at its
 * trash name, where no listing shows it: it may be a live holder's lock, so the move is recorded
 * (LOCK_LEFT_ASIDE) with where the file is and why it was not put back.
 */
async function leftAside(telemetry: TelemetryTarget, lockPath: string, trash: string, why: string): Promise<void> {
  await emitTelemetry(telemetry, lockPath, {
    type: 'LOCK_LEFT_ASIDE',
    data: { lock: lockPath, trash, reason: `${why}; a new lock took the path before it could be put back, so it was left at ${trash}` },
  });
}

/** A clause naming who holds or has open the file now at `trash`, if anyone does. */
function heldNow(trash: string, judged: ObservedLock): string | undefined {
  if (judged.key === undefined) return undefined;
  const os = collectOsEvidence([trash, judged.path]);
  const kernel = os.kernelLocks(judged.key).find((k) => !k.waiting);
  if (kernel !== undefined) return `pid ${kernel.pid} took a ${kernel.kind} lock on it while it was being reaped`;
  // A Ledgerlock lock is held by its exclusive create, never by an open descriptor: a process
  // with it open is reading it (a waiter judging it, its crashed owner's release checking whose
  // it is), and putting a stale lock back for a reader would only strand it at the trash path.
  if (judged.parsed.kind === 'ledgerlock') return undefined;
  const opener = os.openers(judged.key)[0];
  if (opener !== undefined) return `pid ${opener.pid} opened it while it was being reaped`;
  return undefined;
}

type MoveResult = { kind: 'moved'; trash: string } | { kind: 'gone' } | { kind: 'replaced'; trash?: string };

/** rename to trash, then check that what moved is what was judged; put a replacement back. */
async function moveAside(lockPath: string, judged: ObservedLock): Promise<MoveResult> {
  const trash = trashPathFor(lockPath);
  try {
    await fsl().rename(lockPath, trash);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return { kind: 'gone' };
    throw new LedgerlockError(
      ErrorCode.Io,
      `cannot move stale lock ${lockPath} aside: ${(err as Error).message}`,
      { path: lockPath, errno: errnoCode(err) },
      { cause: err },
    );
  }
  let moved: ObservedLock | undefined;
  try {
    moved = await observeLock(trash);
  } catch {
    moved = undefined;
  }
  if (moved?.identity !== undefined && sameIdentity(judged.identity!, moved.identity)) return { kind: 'moved', trash };
  const restored = judged.type === 'directory' ? await restoreDirectory(trash, lockPath) : await restore(trash, lockPath);
  return restored ? { kind: 'replaced' } : { kind: 'replaced', trash };
}

/** Directories cannot be hard-linked; put one back only while the path is still free. */
async function restoreDirectory(trash: string, lockPath: string): Promise<boolean> {
  try {
    await fsl().lstat(lockPath);
    return false;
  } catch {
    try {
      await fsl().rename(trash, lockPath);
      return true;
    } catch {
      return false;
    }
  }
}

/**
 * Reaped bytes are kept: in the native store's quarantine/, else the one the caller named, else
 * the enclosing store's. With none of these (the CLI on a lone lock) they are deleted, and the
 * recovery record names the holder. A move that fails leaves them at the trash name.
 */
async function disposeTrash(trash: string, lockPath: string, chosen: string | undefined): Promise<string | undefined> {
  const dir = await knownQuarantineDir(lockPath, chosen);
  if (dir !== undefined) {
    try {
      return await keepInQuarantine(dir, trash, lockPath);
    } catch {
      return trash; // another file system, say: left for a person, under a name no search lists
    }
  }
  try {
    const st = await fsl().lstat(trash);
    if (st.isDirectory()) await fsl().rmdir(trash);
    else await fsl().unlink(trash);
    return undefined;
  } catch {
    return trash; // a non-empty directory lock: left for a person, under a name no search lists
  }
}

interface Guard {
  release(): Promise<void>;
}

/** `<lock>.reaping`: held only for the milliseconds a break takes; itself breakable when its holder died. */
async function takeGuard(lockPath: string, timing: ResolvedTiming): Promise<Guard | 'busy' | 'gone'> {
  const guardPath = `${lockPath}.reaping`;
  const self = await selfIdentity();
  const owner = newOwnerId();
  for (let attempt = 0; attempt < 3; attempt++) {
    let created: boolean;
    try {
      created =
        false !==
        (await createLockFile(guardPath, nativeLockContent(self, owner, 'ledgerlock reaper'), {
          createParents: false,
          durable: false,
          telemetry: false,
        }));
    } catch (err) {
      if (err instanceof LedgerlockError && err.details.errno === 'ENOENT') return 'gone';
      throw err;
    }
    if (created) return { release: async () => void (await removeIfOwned(guardPath, owner).catch(() => undefined)) };
    let observed: ObservedLock;
    try {
      observed = await observeLock(guardPath);
    } catch {
      continue; // released meanwhile
    }
    const info = await judgeLock(observed, { ...timing, now: Date.now() });
    if (!info.reapable || observed.identity === undefined) return 'busy';
    // A breaker died mid-break: move its guard aside the same careful way, then drop it.
    const moved = await moveAside(guardPath, observed);
    if (moved.kind === 'moved')
      await fsl()
        .unlink(moved.trash)
        .catch(() => undefined);
  }
  return 'busy';
}
