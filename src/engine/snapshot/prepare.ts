/**
 * Before a mutating operation touches a store: create it if missing, bring an older format up
 * to date, and finish a relocation a crashed process left half done.
 */
import { ensureStore, readStoreManifest, STORE_VERSION } from '../store';
import { migrateStore } from '../migrate';
import { snapshotPaths, type SnapshotPaths } from './layout';
import type { StoreOpOptions } from './open';
import { resumeRelocation } from './relocate';

export async function prepareStore(workspaceRoot: string, options: StoreOpOptions = {}, { resumeRelocation: resume = true } = {}): Promise<SnapshotPaths> {
  const paths = snapshotPaths(workspaceRoot);
  await ensureStore(paths.store.root);
  const manifest = await readStoreManifest(paths.store);
  if (manifest !== undefined && manifest.version < STORE_VERSION) {
    await migrateStore(paths.store.root, { ...(options.lockTimeoutMs !== undefined ? { lockTimeoutMs: options.lockTimeoutMs } : {}) });
  }
  // An unfinished relocation that cannot complete fails the operation loudly: `relocate` to the source cancels it.
  if (resume) await resumeRelocation(paths.store.root, options);
  return paths;
}
