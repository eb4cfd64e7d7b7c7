/**
 * proper-lockfile (and tools built on it, npm's among them): `<file>.lock/`, a directory made
 * with mkdir whose mtime its holder refreshes every `stale / 2`. Its own rule: stale once the
 * mtime is older than `stale` (10 s by default). The directory names no holder, so this rule is
 * all there is; a lock directory that holds files is not one proper-lockfile made.
 */
import { readBoundedSync } from '../../bounded-read';
import { fsl } from '../../fs';
import { parseLockContent, MAX_LOCK_BYTES, type LockHolderInfo, type NativeLock } from '../holder';
import { formatAge } from '../timing';
import type { LockProfile, LockSubject } from './types';

/**
 * Ledgerlock's drop-in adapter (`ledgerlock/compat/proper-lockfile`) writes its holder beside
 * the directory as `<dir>.holder` (a Ledgerlock lock record plus the directory's identity),
 * where the original never looks. A record for this very directory names the holder, so a
 * dead one is stale at once and a live one is never broken; the original's locks have none.
 */
export function adapterHolderPath(lockDir: string): string {
  return `${lockDir}.holder`;
}

/** The adapter's record beside a lock directory, with the identity of the directory it was written for. */
export interface AdapterRecord extends NativeLock {
  lockDir: { dev: number; ino: number; birthtimeMs: number };
}

/** The one reader of `<dir>.holder` (the profile and the adapter both use it); bounded, never through a link. */
export function readAdapterRecord(lockDir: string): AdapterRecord | undefined {
  try {
    const native = parseLockContent(readBoundedSync(adapterHolderPath(lockDir), MAX_LOCK_BYTES)).native as
      (NativeLock & { lockDir?: Partial<AdapterRecord['lockDir']> }) | undefined;
    const dir = native?.lockDir;
    if (native === undefined || dir === undefined || typeof dir !== 'object' || typeof dir.dev !== 'number' || typeof dir.ino !== 'number') return undefined;
    return { ...native, lockDir: { dev: dir.dev, ino: dir.ino, birthtimeMs: typeof dir.birthtimeMs === 'number' ? dir.birthtimeMs : 0 } };
  } catch {
    return undefined;
  }
}

/** The adapter record, only when it names this very directory (not an earlier one at the path). */
function recordFor(s: LockSubject): AdapterRecord | undefined {
  const record = readAdapterRecord(s.path);
  if (record === undefined) return undefined;
  try {
    const dir = fsl().lstatSync(s.path);
    return record.lockDir.dev === dir.dev && record.lockDir.ino === dir.ino ? record : undefined;
  } catch {
    return undefined;
  }
}

function adapterHolder(s: LockSubject): LockHolderInfo | null {
  const native = recordFor(s);
  return native ? { pid: native.pid, host: native.host, owner: native.owner, tool: native.tool, acquiredAt: native.acquiredAt } : null;
}

const PROPER_LOCKFILE_STALE_MS = 10_000;

export const properLockfileProfile: LockProfile = {
  id: 'proper-lockfile',
  tool: 'proper-lockfile',
  heartbeatMs: PROPER_LOCKFILE_STALE_MS / 2,
  windowsMs: [PROPER_LOCKFILE_STALE_MS],
  recognise: (s) => s.type === 'directory' && s.path.endsWith('.lock'),
  holder: adapterHolder,
  nativeRecord: recordFor,
  // The adapter's record names the directory it was written for (checked by `holder`).
  leftovers: (lockPath, holder) => (holder?.owner !== undefined ? [{ path: adapterHolderPath(lockPath), owner: holder.owner }] : []),
  // The original refreshes every stale/2 and calls a lock stale after `stale`: a stopped
  // heartbeat is its own rule, and evidence from any vantage. An adapter holder record's pid was
  // judged first; this rule decides when that pid could not be placed from here.
  rule(_s, facts) {
    return facts.heartbeatAgeMs > PROPER_LOCKFILE_STALE_MS
      ? {
          state: 'stale',
          reason: `proper-lockfile lock not refreshed for ${formatAge(facts.heartbeatAgeMs)}; its holder refreshes it every ${formatAge(PROPER_LOCKFILE_STALE_MS / 2)} and calls it stale after ${formatAge(PROPER_LOCKFILE_STALE_MS)}`,
        }
      : { state: 'held', reason: `proper-lockfile lock refreshed ${formatAge(facts.heartbeatAgeMs)} ago` };
  },
  guards: (s) => s.path.slice(0, -'.lock'.length),
};
