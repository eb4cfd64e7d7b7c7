/**
 * When a verdict can next change by time alone, with no file event and no process starting or
 * ending: the next age at which a window of the rules that judged it passes (docs/ARCHITECTURE.md,
 * "How a lock is judged"). Whoever watches locks (the language server) re-judges each lock then,
 * so the windows live once, in the profiles and timing.ts, and nowhere else.
 */
import type { LockInfo } from './classify';
import { profileById } from './profiles';
import { EMPTY_LOCK_GRACE_MS, resolveTiming, type LockTiming } from './timing';

/**
 * Milliseconds after `info` was judged at which judging it again may give another verdict
 * (Infinity: only a file event or a process's end can change it). `timing` must be the one the
 * verdict was made with.
 */
export function verdictChangesIn(info: LockInfo, timing: LockTiming = {}): number {
  const { staleMs, contentionMs } = resolveTiming(timing);
  // A holder proven gone stays gone: its file changing is a file event.
  if (info.alive === false) return Infinity;
  const heldish = info.state === 'held' || info.state === 'contended';
  const byAge = heldish && !info.longHeld ? [contentionMs] : [];
  // A live holder's lock can only become long-held; otherwise every window a rule might test.
  const windows: number[] = [];
  if (info.alive !== true) {
    const profile = profileById(info.profile);
    windows.push(staleMs, ...(profile?.windowsMs ?? []));
    if (info.bytes === 0) windows.push(EMPTY_LOCK_GRACE_MS);
    // The window the judge used: a record's own declared beat wins over its tool's default.
    if (info.heartbeatWindowMs !== undefined) windows.push(info.heartbeatWindowMs);
    else if (profile?.heartbeatMs !== undefined) windows.push(Math.max(staleMs, 3 * profile.heartbeatMs));
  }
  // Rules compare with `>`: a window of W ms is passed once the age is W + 1.
  const until = (age: number, limits: readonly number[]) => Math.min(...limits.filter((w) => w >= age).map((w) => w - age + 1));
  return Math.min(until(info.ageMs, [...byAge, ...windows]), until(info.heartbeatAgeMs, windows));
}
