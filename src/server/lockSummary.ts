/**
 * What the Locks view shows for one lock file. The server only observes: inspecting a lock
 * never acquires or touches it (the VS Code Git `index.lock` lesson).
 */
import * as fs from 'node:fs/promises';
import { inspectLock, isLockDirectory, type LockInfo } from '../engine';
import { refuseLinkOutsideSync } from '../engine/confine';
import type { LockItem } from '../protocol';
import type { FolderSettings } from './settings';

export async function summarizeLock(lockPath: string, folder: string, settings: FolderSettings): Promise<LockItem | undefined> {
  let info: LockInfo;
  try {
    // Shown, never followed: a link leaving the workspace says so; an ordinary folder a glob matched is not a lock.
    const st = await fs.lstat(lockPath);
    if (st.isSymbolicLink()) refuseLinkOutsideSync(lockPath);
    if (st.isDirectory() && !(await isLockDirectory(lockPath))) return undefined;
    info = await inspectLock(lockPath, { staleMs: settings.staleMs, contentionMs: settings.contentionMs });
  } catch (err) {
    const e = err as { code?: string; message?: string };
    if (e.code === 'E_NOT_FOUND' || e.code === 'ENOENT') return undefined;
    const reason = e.message ?? String(err);
    return { path: lockPath, folder, kind: 'unknown', state: 'unknown', reason, ageMs: null, holder: null, reapable: false, overThreshold: false };
  }
  const ageMs = Number.isFinite(info.ageMs) ? info.ageMs : null;
  return {
    path: lockPath,
    folder,
    kind: info.kind,
    state: info.state,
    reason: info.reason,
    ageMs,
    holder: info.holder ? { ...info.holder } : null,
    reapable: info.reapable,
    overThreshold: info.state === 'contended' || (info.state === 'held' && info.alive !== false && ageMs !== null && ageMs > settings.contentionMs),
  };
}
