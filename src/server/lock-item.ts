/**
 * What the Locks view shows for each lock file. The server only observes: inspecting a lock
 * never acquires or touches it (the VS Code Git `index.lock` lesson). Locks are judged in
 * batches, so one look at /proc serves many of them.
 */
import * as fs from 'node:fs/promises';
import { inspectLocks, isLockDirectory, verdictChangesIn, type KernelLockMemory, type LockInfo } from '../engine';
import { refuseLinkOutsideSync } from '../engine/confine-paths';
import { offersReap, type LockItem } from '../protocol';
import type { FolderSettings } from './settings';
import { reasonAges } from '../shared/reason-ages';

/** A lock's item, and when time alone may change its verdict (ms after it was judged; Infinity: never). */
export interface JudgedLock {
  item: LockItem;
  changesInMs: number;
}

/** Each path's item; undefined for a lock that is gone, or an ordinary folder a glob matched. */
export async function summarizeLocks(
  lockPaths: readonly string[],
  folder: string,
  settings: FolderSettings,
  memory?: KernelLockMemory,
): Promise<Map<string, JudgedLock | undefined>> {
  const out = new Map<string, JudgedLock | undefined>();
  const judged: string[] = [];
  for (const lockPath of lockPaths) {
    try {
      // Shown, never followed: a link leaving the workspace says so; an ordinary folder a glob matched is not a lock.
      const st = await fs.lstat(lockPath);
      if (st.isSymbolicLink()) refuseLinkOutsideSync(lockPath);
      if (st.isDirectory() && !(await isLockDirectory(lockPath))) {
        out.set(lockPath, undefined);
        continue;
      }
      judged.push(lockPath);
    } catch (err) {
      const e = err as { code?: string; message?: string };
      out.set(lockPath, e.code === 'E_NOT_FOUND' || e.code === 'ENOENT' ? undefined : unknownItem(lockPath, folder, e.message ?? String(err)));
    }
  }
  const timing = { staleMs: settings.staleMs, contentionMs: settings.contentionMs };
  const verdicts = await oneJudgeAtATime(() => inspectLocks(judged, timing, memory));
  for (const lockPath of judged) {
    const verdict = verdicts.get(lockPath);
    if (verdict === undefined || verdict instanceof Error) {
      const e = (verdict ?? {}) as { code?: string; message?: string };
      out.set(
        lockPath,
        e.code === 'E_NOT_FOUND' || e.code === 'ENOENT' ? undefined : unknownItem(lockPath, folder, e.message ?? 'the lock could not be examined'),
      );
      continue;
    }
    out.set(lockPath, { item: toItem(verdict, folder), changesInMs: verdictChangesIn(verdict, timing) });
  }
  return out;
}

let judging: Promise<unknown> = Promise.resolve();

/**
 * Runs `work` once no other lock judgement (or reap) of this server is running. Inside a
 * container a judgement probes kernel locks through a helper process that holds the lock files
 * open; a judgement overlapping it would read that helper as every lock's holder.
 */
export function oneJudgeAtATime<T>(work: () => Promise<T>): Promise<T> {
  const run = judging.then(work, work);
  judging = run.catch(() => undefined);
  return run;
}

/** A lock that could not be examined: only a change to its file (or the rotation) can tell more. */
function unknownItem(lockPath: string, folder: string, reason: string): JudgedLock {
  const item: LockItem = {
    path: lockPath,
    folder,
    kind: 'unknown',
    state: 'unknown',
    reason,
    ageMs: null,
    holder: null,
    reapable: false,
    overThreshold: false,
    profile: 'generic',
    evidence: [],
    guards: null,
    longHeld: false,
    waiters: 0,
  };
  return { item, changesInMs: Infinity };
}

function toItem(info: LockInfo, folder: string): LockItem {
  const ageMs = Number.isFinite(info.ageMs) ? info.ageMs : null;
  return {
    path: info.path,
    folder,
    kind: info.kind,
    state: info.state,
    reason: info.reason,
    ageMs,
    judgedAt: Date.now(),
    reasonAges: reasonAges(info.reason, ageMs),
    holder: info.holder ? { ...info.holder } : null,
    // Never true for an unknown lock, whatever else says so: only a confirmed removal takes it.
    reapable: offersReap(info),
    // Only contention (someone waits) is a warning; a long hold is shown, not alarmed.
    overThreshold: info.state === 'contended',
    profile: info.profile,
    evidence: info.evidence.map((e) => ({ ...e })),
    guards: info.guards,
    longHeld: info.longHeld,
    waiters: info.waiters,
    alive: info.alive,
  };
}
