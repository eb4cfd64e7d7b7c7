/**
 * Verifying snapshots: every blob a manifest references is read back and re-hashed; missing
 * and corrupt blobs are reported by path with the snapshots and files that need them, and
 * unreadable manifests are reported too. Each blob is checked once however many snapshots
 * share it. Read-only: takes no lock.
 */
import { readAllSnapshots, readSnapshot, resolveSnapshotId, type UnreadableManifest } from './catalog';
import { snapshotPaths } from './layout';
import type { SnapshotManifest } from './manifest';
import { openBlobStore, type StoreOpOptions } from './open';

export interface BlobProblem {
  hash: string;
  path: string;
  problem: 'missing' | 'corrupt';
  /** Which snapshot files need this blob. */
  usedBy: { snapshot: string; path: string }[];
}

export interface VerifyResult {
  ok: boolean;
  snapshots: string[];
  blobsChecked: number;
  problems: BlobProblem[];
  unreadable: UnreadableManifest[];
}

export async function verifySnapshots(workspaceRoot: string, options: StoreOpOptions & { snapshot?: string } = {}): Promise<VerifyResult> {
  const paths = snapshotPaths(workspaceRoot);
  let manifests: SnapshotManifest[];
  let unreadable: UnreadableManifest[] = [];
  if (options.snapshot !== undefined) {
    manifests = [await readSnapshot(paths, await resolveSnapshotId(paths, options.snapshot))];
  } else {
    ({ manifests, unreadable } = await readAllSnapshots(paths));
  }
  const users = new Map<string, { snapshot: string; path: string }[]>();
  for (const m of manifests) {
    for (const f of m.files) {
      const list = users.get(f.sha256) ?? [];
      list.push({ snapshot: m.id, path: f.path });
      users.set(f.sha256, list);
    }
  }
  const blobs = await openBlobStore(paths, options);
  const problems: BlobProblem[] = [];
  let checked = 0;
  for (const [hash, usedBy] of users) {
    options.onProgress?.(checked++, users.size);
    const health = await blobs.check(hash);
    if (health !== 'ok') problems.push({ hash, path: blobs.pathOf(hash), problem: health, usedBy });
  }
  return { ok: problems.length === 0 && unreadable.length === 0, snapshots: manifests.map((m) => m.id), blobsChecked: users.size, problems, unreadable };
}
