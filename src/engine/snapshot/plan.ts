/**
 * What a snapshot of a workspace would hold, found without creating or changing anything: the
 * same selection `createSnapshot` makes (select.ts) and the ledgers whose positions it records.
 * The editor asks this before Create Snapshot, so a folder without a store is never given one
 * silently, and a snapshot that would hold nothing is refused (README.md, "Snapshots").
 */
import { errnoCode } from '../errors';
import { fsl } from '../fs';
import { snapshotPaths } from './layout';
import { storeLedgerFiles } from './positions';
import { checkGlob, selectFiles, STATE_GLOB, toRel } from './select';

export interface SnapshotPlan {
  /** `.ledgerlock/store.json` exists: taking the snapshot creates no store. */
  storeExists: boolean;
  /** The files it would capture, workspace-relative, `/`-separated. */
  files: string[];
  /** The store's ledgers whose positions it would record, workspace-relative. */
  ledgers: string[];
}

export async function planSnapshot(workspaceRoot: string, options: { include?: string[] } = {}): Promise<SnapshotPlan> {
  const paths = snapshotPaths(workspaceRoot);
  const include = [STATE_GLOB, ...(options.include ?? []).map(checkGlob)];
  const files = (await selectFiles(paths.store.root, include)).map((f) => f.rel);
  const ledgers = (await storeLedgerFiles(paths)).map((file) => toRel(paths.store.root, file));
  return { storeExists: await exists(paths.store.manifest), files, ledgers };
}

async function exists(file: string): Promise<boolean> {
  try {
    await fsl().lstat(file);
    return true;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return false;
    throw err;
  }
}
