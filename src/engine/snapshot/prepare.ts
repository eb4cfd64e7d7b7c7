/**
 * Before a mutating operation touches a store: create or migrate it (bootstrap.ts), then finish
 * a relocation a crashed process left half done.
 */
import { bootstrapStore } from './bootstrap';
import type { SnapshotPaths } from './layout';
import type { StoreOpOptions } from './open';
import { resumeRelocation } from './relocate';

export async function prepareStore(workspaceRoot: string, options: StoreOpOptions = {}): Promise<SnapshotPaths> {
  const paths = await bootstrapStore(workspaceRoot, options);
  // An unfinished relocation that cannot complete fails the operation loudly: `relocate` to the source cancels it.
  await resumeRelocation(paths.store.root, options);
  return paths;
}
