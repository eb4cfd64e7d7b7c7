/**
 * Holding another tool's lock the way that tool would: before Ledgerlock repairs or rewrites a
 * foreign ledger it takes the lock the ledger's own writer takes (HardKAS's append lock,
 * claude-flow's `.lock`, remnic's `<ledger>.lock`), in that tool's format, with an exclusive
 * create. A stale one is reaped first (recorded as STALE_LOCK_RECOVERY); a live holder is
 * waited for briefly (a writer holds it for one append) and then refused, never broken.
 */
import { randomUUID } from 'node:crypto';
import * as os from 'node:os';
import * as path from 'node:path';
import { ErrorCode, LedgerlockError, errnoCode } from '../errors';
import { fsl } from '../fs';
import { backoffDelay, sleep } from '../options';
import type { TelemetryTarget } from '../telemetry';
import { holderWitness, processWords, type LockInfo } from './classify';
import { restore, trashPathFor } from './file';
import { describeHolder } from './holder';
import { inspectLock } from './inspect';
import type { GuardLock } from './profiles';
import { reapLock } from './reap';
import { formatAge, type LockTiming } from './timing';

export interface ToolLockOptions extends LockTiming {
  /** How long to wait for a live holder before refusing. */
  timeoutMs: number;
  telemetry: TelemetryTarget;
  /** Where a stale lock in the way is kept when reaped (ReapOptions.quarantineDir). */
  quarantineDir?: string;
}

/** Runs `task` holding `guard` (and with every `alsoCheck` lock free or reaped). */
export async function withToolLock<T>(guard: GuardLock, opts: ToolLockOptions, task: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  for (const other of guard.alsoCheck ?? []) await waitUntilFree(other, guard, opts, deadline);
  const held = await take(guard, opts, deadline);
  const heartbeat = setInterval(() => void held.touch(), 1_000);
  heartbeat.unref();
  try {
    return await task();
  } finally {
    clearInterval(heartbeat);
    held.release();
  }
}

interface HeldToolLock {
  touch(): Promise<void>;
  release(): void;
}

async function take(guard: GuardLock, opts: ToolLockOptions, deadline: number): Promise<HeldToolLock> {
  const bytes = guard.content({ pid: process.pid, host: os.hostname() }, randomUUID());
  for (let attempt = 0; ; attempt++) {
    try {
      fsl().createFileSync(guard.path, bytes, 0o644);
      return heldLock(guard.path, bytes);
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOENT' && attempt === 0) {
        await fsl().mkdir(path.dirname(guard.path));
        continue;
      }
      if (code !== 'EEXIST') {
        throw new LedgerlockError(
          ErrorCode.Io,
          `cannot create ${guard.tool}'s lock ${guard.path}: ${(err as Error).message}`,
          { path: guard.path, errno: code },
          { cause: err },
        );
      }
    }
    await clearOrWait(guard.path, guard, opts, deadline, attempt);
  }
}

/** One look at a lock in the way: reap it when stale, else wait a little, refusing at the deadline. */
async function clearOrWait(lockPath: string, guard: GuardLock, opts: ToolLockOptions, deadline: number, attempt: number): Promise<'gone' | 'waited'> {
  let info: LockInfo;
  try {
    info = await inspectLock(lockPath, opts);
  } catch (err) {
    if (err instanceof LedgerlockError && err.code === ErrorCode.NotFound) return 'gone';
    throw err;
  }
  if (info.reapable) {
    try {
      await reapLock(lockPath, { ...opts, telemetry: opts.telemetry });
      return 'gone';
    } catch (err) {
      // Someone took it meanwhile, or another reaper is at it: look again.
      if (!(err instanceof LedgerlockError)) throw err;
    }
  }
  if (Date.now() >= deadline) throw refusal(lockPath, guard, info);
  await sleep(Math.min(backoffDelay(attempt, 10, 200), Math.max(1, deadline - Date.now())));
  return 'waited';
}

async function waitUntilFree(lockPath: string, guard: GuardLock, opts: ToolLockOptions, deadline: number): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await fsl().lstat(lockPath);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return;
      throw err;
    }
    if ((await clearOrWait(lockPath, guard, opts, deadline, attempt)) === 'gone') return;
  }
}

function refusal(lockPath: string, guard: GuardLock, info: LockInfo): LedgerlockError {
  const witness = holderWitness(info);
  const who = witness !== undefined ? processWords(witness) : describeHolder(info.holder);
  const details = { path: lockPath, tool: guard.tool, state: info.state, holder: info.holder, evidence: info.evidence, reason: info.reason };
  if (info.alive === true) {
    return new LedgerlockError(
      ErrorCode.LockHeldByLiveProcess,
      `${guard.tool}'s lock ${lockPath} is held by ${who}, which is running (${info.reason}); try again when it is done`,
      details,
    );
  }
  return new LedgerlockError(
    ErrorCode.LockTimeout,
    `${guard.tool}'s lock ${lockPath} is ${info.state}, held for ${formatAge(info.ageMs)}: ${info.reason}`,
    details,
  );
}

function heldLock(lockPath: string, bytes: Buffer): HeldToolLock {
  const ours = (): boolean => {
    try {
      return fsl().readFileSync(lockPath).equals(bytes);
    } catch {
      return false;
    }
  };
  return {
    // Tools that judge by mtime (remnic) see a live holder while the repair runs.
    async touch() {
      if (!ours()) return;
      const now = new Date();
      await fsl()
        .utimes(lockPath, now, now)
        .catch(() => undefined);
    },
    // Remove only the file we wrote: move it aside, check the bytes, put a replacement back.
    release() {
      if (!ours()) return;
      const trash = trashPathFor(lockPath);
      try {
        fsl().renameSync(lockPath, trash);
      } catch {
        return;
      }
      let moved: Buffer | undefined;
      try {
        moved = fsl().readFileSync(trash);
      } catch {
        moved = undefined;
      }
      if (moved !== undefined && moved.equals(bytes)) {
        try {
          fsl().unlinkSync(trash);
        } catch {
          // already gone
        }
        return;
      }
      void restore(trash, lockPath);
    },
  };
}
