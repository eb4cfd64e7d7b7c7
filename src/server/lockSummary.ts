/**
 * What the Locks view shows for one lock file. The server only observes: inspecting a lock
 * never acquires or touches it (the VS Code Git `index.lock` lesson).
 */
import { inspectLock, type LockInfo } from '../engine';
import type { LockItem } from '../protocol';
import type { FolderSettings } from './settings';

export async function summarizeLock(lockPath: string, folder: string, settings: FolderSettings): Promise<LockItem | undefined> {
  let info: LockInfo;
  try {
    info = await inspectLock(lockPath, { staleMs: settings.staleMs, contentionMs: settings.contentionMs });
  } catch (err) {
    const e = err as { code?: string; message?: string };
    if (e.code === 'E_NOT_FOUND' || e.code === 'ENOENT') return undefined;
    return { path: lockPath, folder, kind: 'unknown', state: 'unknown', reason: e.message ?? String(err), ageMs: null, holder: null, reapable: false, overThreshold: false };
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
