/**
 * The first step of every operation on a store: create it if missing and bring an older format
 * up to date. Relocation builds on this alone; everything else on `prepareStore`, which also
 * finishes a relocation a crashed process left half done.
 */
import { ensureStore, readStoreManifest, STORE_VERSION } from '../store';
import { migrateStore } from '../migrate';
import { snapshotPaths, type SnapshotPaths } from './layout';
import type { StoreOpOptions } from './open';

export async function bootstrapStore(workspaceRoot: string, options: StoreOpOptions = {}): Promise<SnapshotPaths> {
  const paths = snapshotPaths(workspaceRoot);
  await ensureStore(paths.store.root);
  const manifest = await readStoreManifest(paths.store);
  if (manifest !== undefined && manifest.version < STORE_VERSION) {
    await migrateStore(paths.store.root, { ...(options.lockTimeoutMs !== undefined ? { lockTimeoutMs: options.lockTimeoutMs } : {}) });
  }
  return paths;
}
