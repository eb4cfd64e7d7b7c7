/**
 * proper-lockfile (and tools built on it, npm's among them): `<file>.lock/`, a directory made
 * with mkdir whose mtime its holder refreshes every `stale / 2`. Its own rule: stale once the
 * mtime is older than `stale` (10 s by default). The directory names no holder, so this rule is
 * all there is; a lock directory that holds files is not one proper-lockfile made.
 */
import { formatAge } from '../timing';
import type { LockProfile } from './types';

export const PROPER_LOCKFILE_STALE_MS = 10_000;

export const properLockfileProfile: LockProfile = {
  id: 'proper-lockfile',
  tool: 'proper-lockfile',
  recognise: (s) => s.type === 'directory' && s.path.endsWith('.lock'),
  holder: () => null,
  rule(_s, facts) {
    return facts.heartbeatAgeMs > PROPER_LOCKFILE_STALE_MS
      ? { state: 'stale', reason: `proper-lockfile lock not refreshed for ${formatAge(facts.heartbeatAgeMs)}; its holder refreshes it every ${formatAge(PROPER_LOCKFILE_STALE_MS / 2)} and calls it stale after ${formatAge(PROPER_LOCKFILE_STALE_MS)}` }
      : { state: 'held', reason: `proper-lockfile lock refreshed ${formatAge(facts.heartbeatAgeMs)} ago` };
  },
  guards: (s) => s.path.slice(0, -'.lock'.length),
};
