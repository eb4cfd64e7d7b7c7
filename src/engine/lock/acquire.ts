/**
 * Taking a lock: exclusive create, else wait (contention.ts: full-jitter backoff, breaking stale
 * locks met on the way by the same rules as reapLock, reporting contention once it lasts, giving
 * up at a bound with an error that names the holder, or, if asked, running without the lock).
 */
import * as path from 'node:path';
import { ErrorCode, LedgerlockError } from '../errors';
import { resolveAcquire, type AcquireOptions } from './acquire-options';
import { Contention, throwIfAborted, waitEnded } from './contention';
import { createLockFile, createLockFileSync, nativeLockBytes, newOwnerId } from './file';
import { HeldLock, UnheldLock, type LockHandle } from './handle';
import { selfIdentitySync } from './process';
import { SyncWaiter } from './sync-wait';

export type { AcquireOptions } from './acquire-options';

export async function acquireLock(lockPath: string, opts: AcquireOptions = {}): Promise<LockHandle> {
  const o = resolveAcquire(opts);
  const target = path.resolve(lockPath);
  const self = selfIdentitySync();
  // Made at the first failed create: an uncontended acquire needs none of the waiting machinery.
  let contention: Contention | undefined;
  try {
    for (let attempt = 0; ; attempt++) {
      throwIfAborted(o.signal, target);
      const owner = newOwnerId();
      const created = await createLockFile(target, nativeLockBytes(self, owner, o.tool, o.heartbeatMs), {
        createParents: o.createParents,
        durable: o.durable,
        telemetry: o.telemetry,
        keepOpen: true,
      });
      if (created !== false) {
        if (contention?.reported) await waitEnded(o, target, contention.started, 'acquired');
        const held = new HeldLock(target, owner, o.heartbeatMs, o.telemetry, created.identity, created.file);
        held.waitedForIt = contention !== undefined;
        return held;
      }
      contention ??= new Contention(target, o);
      const gaveUp = await contention.next(attempt);
      if (gaveUp) return gaveUp;
    }
  } catch (err) {
    if (contention?.reported && err instanceof LedgerlockError && err.code === ErrorCode.Aborted) await waitEnded(o, target, contention.started, 'aborted');
    throw err;
  } finally {
    contention?.close();
  }
}

/**
 * acquireLock, synchronously, with the same rules: an uncontended lock is a few syscalls on
 * this thread; a held one is waited for (judged, reaped if stale, timed out naming its
 * holder) by a worker thread while this one blocks. `signal` is not supported here.
 */
export function acquireLockSync(lockPath: string, opts: Omit<AcquireOptions, 'signal'> = {}): LockHandle {
  const o = resolveAcquire(opts);
  const target = path.resolve(lockPath);
  const self = selfIdentitySync();
  let waiter: SyncWaiter | undefined;
  try {
    for (;;) {
      const owner = newOwnerId();
      const created = createLockFileSync(target, nativeLockBytes(self, owner, o.tool, o.heartbeatMs), {
        createParents: o.createParents,
        durable: o.durable,
        telemetry: o.telemetry,
        keepOpen: true,
      });
      if (created !== false) {
        if (waiter?.reported) void waitEnded(o, target, waiter.started, 'acquired').catch(() => undefined);
        const held = new HeldLock(target, owner, o.heartbeatMs, o.telemetry, created.identity, created.file);
        held.waitedForIt = waiter !== undefined;
        return held;
      }
      waiter ??= new SyncWaiter(target, opts);
      if (waiter.next() === 'run-without-lock') return new UnheldLock(target);
    }
  } finally {
    waiter?.close();
  }
}

/**
 * Runs `fn` holding the lock and releases it after. If the lock was taken from us while `fn`
 * ran, `fn`'s work happened without mutual exclusion: that is reported as E_LOCK_COMPROMISED.
 */
export async function withLock<T>(lockPath: string, fn: (lock: LockHandle) => Promise<T>, opts: AcquireOptions = {}): Promise<T> {
  const lock = await acquireLock(lockPath, opts);
  let result: T;
  try {
    result = await fn(lock);
  } catch (err) {
    await lock.release().catch(() => undefined);
    throw err;
  }
  await lock.release();
  throwIfCompromised(lock);
  return result;
}

/** withLock, synchronously: `fn` runs holding the lock, and the lock is released before this returns. */
export function withLockSync<T>(lockPath: string, fn: (lock: LockHandle) => T, opts: Omit<AcquireOptions, 'signal'> = {}): T {
  const lock = acquireLockSync(lockPath, opts);
  let result: T;
  try {
    result = fn(lock);
  } catch (err) {
    try {
      lock.releaseSync();
    } catch {
      // the task's error is the one to report
    }
    throw err;
  }
  if (result instanceof Promise) {
    result.catch(() => undefined);
    lock.releaseSync();
    throw new LedgerlockError(
      ErrorCode.BadInput,
      `withLockSync(${lock.path}) was given an async function; its work would run after the lock is released (use withLock)`,
      { path: lock.path },
    );
  }
  lock.releaseSync();
  throwIfCompromised(lock);
  return result;
}

function throwIfCompromised(lock: LockHandle): void {
  if (lock instanceof HeldLock && lock.compromised) {
    throw new LedgerlockError(ErrorCode.LockCompromised, `lost ${lock.path} while the task ran: ${lock.compromiseReason}`, {
      path: lock.path,
      reason: lock.compromiseReason,
    });
  }
}
