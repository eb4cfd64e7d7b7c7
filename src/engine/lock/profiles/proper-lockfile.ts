/**
 * proper-lockfile (and tools built on it, npm's among them): `<file>.lock/`, a directory made
 * with mkdir whose mtime its holder refreshes every `stale / 2`. Its own rule: stale once the
 * mtime is older than `stale` (10 s by default). The directory names no holder, so this rule is
 * all there is; a lock directory that holds files is not one proper-lockfile made.
 */
import * as fs from 'node:fs';
import { parseLockContent, MAX_LOCK_BYTES, type LockHolderInfo } from '../holder';
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

function adapterHolder(s: LockSubject): LockHolderInfo | null {
  try {
    const fd = fs.openSync(adapterHolderPath(s.path), fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
    let bytes: Buffer;
    try {
      const st = fs.fstatSync(fd);
      if (!st.isFile() || st.size > MAX_LOCK_BYTES) return null;
      bytes = Buffer.alloc(st.size);
      fs.readSync(fd, bytes, 0, bytes.length, 0);
    } finally {
      fs.closeSync(fd);
    }
    const native = parseLockContent(bytes).native as ({ lockDir?: { dev?: unknown; ino?: unknown } } & NonNullable<ReturnType<typeof parseLockContent>['native']>) | undefined;
    if (native === undefined) return null;
    const dir = fs.lstatSync(s.path);
    if (native.lockDir?.dev !== dir.dev || native.lockDir?.ino !== dir.ino) return null; // a record of an earlier directory
    return { pid: native.pid, host: native.host, owner: native.owner, tool: native.tool, acquiredAt: native.acquiredAt };
  } catch {
    return null;
  }
}

export const PROPER_LOCKFILE_STALE_MS = 10_000;

export const properLockfileProfile: LockProfile = {
  id: 'proper-lockfile',
  tool: 'proper-lockfile',
  recognise: (s) => s.type === 'directory' && s.path.endsWith('.lock'),
  holder: adapterHolder,
  // The adapter's record names the directory it was written for (checked by `holder`).
  leftovers: (lockPath, holder) => (holder?.owner !== undefined ? [{ path: adapterHolderPath(lockPath), owner: holder.owner }] : []),
  rule(_s, facts) {
    if (facts.holder?.pid !== undefined) return undefined; // the adapter's holder: the pid rules already ran
    return facts.heartbeatAgeMs > PROPER_LOCKFILE_STALE_MS
      ? { state: 'stale', reason: `proper-lockfile lock not refreshed for ${formatAge(facts.heartbeatAgeMs)}; its holder refreshes it every ${formatAge(PROPER_LOCKFILE_STALE_MS / 2)} and calls it stale after ${formatAge(PROPER_LOCKFILE_STALE_MS)}` }
      : { state: 'held', reason: `proper-lockfile lock refreshed ${formatAge(facts.heartbeatAgeMs)} ago` };
  },
  guards: (s) => s.path.slice(0, -'.lock'.length),
};
