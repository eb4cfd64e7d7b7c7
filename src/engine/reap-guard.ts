/**
 * What reaping may never touch: a lock reached through a link that leaves the workspace, and
 * an ordinary folder. Which directories are locks: A `mkdir`-style lock directory is empty (proper-lockfile,
 * `mkdir x.lock` in shell scripts) or holds nothing but a few small holder notes (`pid`,
 * `owner`, …). Any other folder is not a lock, whatever its name or a glob says: judging it by
 * its mtime and "reaping" it would move a source folder away.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { confineParentSync, refuseLinkOutsideSync } from './confine-paths';
import { ErrorCode, LedgerlockError } from './errors';
import { fsl } from './fs';

/** Names a lock directory may hold besides nothing at all. */
const HOLDER_NOTES: ReadonlySet<string> = new Set(['pid', 'owner', 'host', 'holder', 'info', 'lockinfo']);
/** At most this many notes, each a regular file of at most MAX_NOTE_BYTES. */
const MAX_NOTES = 3;
const MAX_NOTE_BYTES = 4096;

/** Whether the directory at `dir` holds only what a lock directory holds. Reads at most MAX_NOTES + 1 names. */
export async function isLockDirectory(dir: string): Promise<boolean> {
  let handle;
  try {
    handle = await fsp.opendir(dir, { bufferSize: MAX_NOTES + 1 });
  } catch {
    return false;
  }
  try {
    let seen = 0;
    for (let entry = await handle.read(); entry !== null; entry = await handle.read()) {
      if (++seen > MAX_NOTES || !entry.isFile() || !HOLDER_NOTES.has(entry.name)) return false;
      const st = await fsl().lstat(path.join(dir, entry.name));
      if (!st.isFile() || st.size > MAX_NOTE_BYTES) return false;
    }
    return true;
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/**
 * Before a reap judges anything: E_PATH_OUTSIDE_ROOT when the lock lies (or links) outside the
 * workspace, E_NOT_A_LOCK when it is a directory holding more than a lock directory does.
 */
export async function refuseUnsafeReap(p: string): Promise<void> {
  confineParentSync(p);
  refuseLinkOutsideSync(p);
  await refuseOrdinaryFolder(p);
}

/** E_NOT_A_LOCK when `p` is a directory that holds more than a lock directory does. */
async function refuseOrdinaryFolder(p: string): Promise<void> {
  let isDir = false;
  try {
    isDir = (await fsl().lstat(p)).isDirectory();
  } catch {
    return; // nothing there: the caller reports that
  }
  if (isDir && !(await isLockDirectory(p))) {
    throw new LedgerlockError(
      ErrorCode.NotALock,
      `${p} is an ordinary folder, not a lock directory (a lock directory is empty or holds only ${[...HOLDER_NOTES].join(', ')} notes); it is never reaped`,
      { path: p },
    );
  }
}
