/**
 * Restoring a snapshot: under the store lock, every referenced blob is verified first (a
 * damaged snapshot changes nothing), the current state is saved as a backup snapshot, then
 * each differing file is replaced atomically and files the snapshot did not have are removed.
 * The restore is recorded in the events ledger as SNAPSHOT_RESTORED. Re-running after a crash
 * finishes the job: files that already match are skipped.
 */
import * as path from 'node:path';
import { atomicWriteFile, mkdirDurable, syncParentDir } from '../atomic';
import { ErrorCode, LedgerlockError, errnoCode } from '../errors';
import { fsl, readDocument } from '../fs';
import { openLedger } from '../ledger';
import { assertInside } from '../names';
import { emitTelemetry } from '../telemetry';
import { DEFAULT_MAX_BLOB_BYTES, sha256, type BlobStore } from './blobs';
import { readSnapshot, resolveSnapshotId, writeCurrent } from './catalog';
import { captureSnapshot } from './create';
import type { SnapshotPaths } from './layout';
import type { SnapshotManifest } from './manifest';
import { openBlobStore, withStoreLock, type StoreOpOptions } from './open';
import { prepareStore } from './prepare';
import { selectFiles } from './select';

export interface RestoreOptions extends StoreOpOptions {
  /** Save the current state as a snapshot first, so the restore can itself be undone (default true). */
  backup?: boolean;
}

export interface RestoreResult {
  snapshot: string;
  written: string[];
  removed: string[];
  unchanged: number;
  /** Id of the snapshot of the state before the restore, when one was taken. */
  backup: string | null;
  /** Id of the SNAPSHOT_RESTORED event in the events ledger. */
  eventId: number;
}

export async function restoreSnapshot(workspaceRoot: string, ref: string, options: RestoreOptions = {}): Promise<RestoreResult> {
  const paths = await prepareStore(workspaceRoot, options);
  return withStoreLock(
    paths,
    async () => {
      const id = await resolveSnapshotId(paths, ref);
      const manifest = await readSnapshot(paths, id);
      const blobs = await openBlobStore(paths, options);
      const total = manifest.files.length * 2;
      for (const [n, file] of manifest.files.entries()) {
        options.onProgress?.(n, total);
        await blobs.read(file.sha256); // throws E_BLOB_MISSING / E_BLOB_CORRUPT before anything changes
      }
      const plan = await planRestore(paths, manifest);
      let backup: string | null = null;
      if ((options.backup ?? true) && (plan.write.length > 0 || plan.remove.length > 0)) {
        backup = (await captureSnapshot(paths, blobs, manifest.include, `before restoring ${id}`)).manifest.id;
      }
      for (const [n, file] of plan.write.entries()) {
        options.onProgress?.(manifest.files.length + n, total);
        await writeFile(paths, blobs, file);
      }
      for (const target of plan.remove) await removeFile(target.abs);
      await writeCurrent(paths, id);
      const written = plan.write.map((f) => f.path);
      const removed = plan.remove.map((f) => f.rel);
      const ledger = await openLedger(path.join(paths.store.ledgers, 'events.jsonl'), { telemetry: false, tool: 'ledgerlock snapshot restore' });
      let eventId: number;
      try {
        eventId = (await ledger.append('SNAPSHOT_RESTORED', { snapshot: id, written, removed, backup, ledgers: manifest.ledgers })).id;
      } finally {
        await ledger.close();
      }
      await emitTelemetry(options.telemetry ?? paths.store.dir, paths.store.dir, {
        type: 'SNAPSHOT_RESTORED',
        data: { snapshot: id, written: written.length, removed: removed.length, backup },
      });
      return { snapshot: id, written, removed, unchanged: manifest.files.length - written.length, backup, eventId };
    },
    options,
  );
}

interface RestorePlan {
  write: SnapshotManifest['files'];
  remove: { rel: string; abs: string }[];
}

/** Files whose bytes differ from the snapshot, and files the snapshot's globs now match that it did not hold. */
async function planRestore(paths: SnapshotPaths, manifest: SnapshotManifest): Promise<RestorePlan> {
  const root = paths.store.root;
  const write = [];
  for (const file of manifest.files) {
    const now = await hashOf(await targetOf(root, file.path));
    if (now !== file.sha256) write.push(file);
  }
  const kept = new Set(manifest.files.map((f) => f.path));
  const remove = (await selectFiles(root, manifest.include)).filter((f) => !kept.has(f.rel));
  return { write, remove };
}

/**
 * Where a manifest path lands: inside the workspace, following a symlink only while it stays
 * inside (a link swapped in to point elsewhere is refused with E_PATH_OUTSIDE_ROOT).
 */
export async function targetOf(workspaceRoot: string, rel: string): Promise<string> {
  const root = path.resolve(workspaceRoot);
  const realRoot = await fsl().realpath(root);
  const abs = path.join(root, ...rel.split('/'));
  if (path.relative(root, abs).startsWith('..')) throw new LedgerlockError(ErrorCode.PathTraversal, `${rel} leaves the workspace`, { path: rel });
  try {
    const real = await fsl().realpath(abs);
    assertInside(root, real, realRoot);
    return real;
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
  }
  // Missing file: its nearest existing ancestor must resolve inside.
  let dir = path.dirname(abs);
  for (;;) {
    try {
      assertInside(root, await fsl().realpath(dir), realRoot);
      return abs;
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
      dir = path.dirname(dir);
    }
  }
}

async function hashOf(file: string): Promise<string | undefined> {
  try {
    return sha256(await readDocument(file, DEFAULT_MAX_BLOB_BYTES));
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw err;
  }
}

async function writeFile(paths: SnapshotPaths, blobs: BlobStore, file: SnapshotManifest['files'][number]): Promise<void> {
  const target = await targetOf(paths.store.root, file.path);
  await mkdirDurable(path.dirname(target));
  await atomicWriteFile(target, await blobs.read(file.sha256), { mode: file.mode });
}

async function removeFile(file: string): Promise<void> {
  try {
    await fsl().unlink(file);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return;
    throw err;
  }
  await syncParentDir(file);
}
