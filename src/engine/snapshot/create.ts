/**
 * Taking a snapshot: under the store lock, each selected file's bytes go to the blob store,
 * the ledgers' positions are read, and the manifest is written atomically before the
 * `current` pointer is swapped to it. A crash before the manifest is durable leaves only
 * unreferenced blobs, which GC sweeps once their grace period has passed.
 */
import * as path from 'node:path';
import { atomicWriteFile, mkdirDurable } from '../atomic';
import { ErrorCode, LedgerlockError, errnoCode } from '../errors';
import { fsl } from '../fs';
import type { BlobStore } from './blobs';
import { manifestPath, writeCurrent } from './catalog';
import type { SnapshotPaths } from './layout';
import { newSnapshotId, serializeManifest, SNAPSHOT_FORMAT, SNAPSHOT_MANIFEST_VERSION, type SnapshotFile, type SnapshotManifest } from './manifest';
import { openBlobStore, withStoreLock, type StoreOpOptions } from './open';
import { ledgerPositions } from './positions';
import { prepareStore } from './prepare';
import { checkGlob, selectFiles, STATE_GLOB } from './select';

export interface CreateSnapshotOptions extends StoreOpOptions {
  /** Extra globs, relative to the workspace, captured beside `.ledgerlock/state/*.json`. */
  include?: string[];
  label?: string;
}

export interface CreateSnapshotResult {
  manifest: SnapshotManifest;
  path: string;
  /** Blobs newly written (the rest were already stored). */
  blobsWritten: number;
  bytesWritten: number;
}

export async function createSnapshot(workspaceRoot: string, options: CreateSnapshotOptions = {}): Promise<CreateSnapshotResult> {
  const include = [STATE_GLOB, ...(options.include ?? []).map(checkGlob)];
  if (options.label !== undefined && options.label.length > 200) {
    throw new LedgerlockError(ErrorCode.BadInput, 'snapshot label is longer than 200 characters', { length: options.label.length });
  }
  const paths = await prepareStore(workspaceRoot, options);
  return withStoreLock(paths, async () => captureSnapshot(paths, await openBlobStore(paths, options), include, options.label, options.onProgress), options);
}

/** The snapshot itself; the caller holds the store lock. */
export async function captureSnapshot(
  paths: SnapshotPaths,
  blobs: BlobStore,
  include: string[],
  label?: string,
  onProgress?: (done: number, total: number) => void,
): Promise<CreateSnapshotResult> {
  const id = newSnapshotId();
  const files: SnapshotFile[] = [];
  let blobsWritten = 0;
  let bytesWritten = 0;
  const selection = await selectFiles(paths.store.root, include);
  for (const [n, selected] of selection.entries()) {
    onProgress?.(n, selection.length);
    let whole;
    try {
      whole = await readWhole(selected.abs, blobs.maxBlobBytes);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') continue; // deleted since it was selected: it is simply not in this snapshot
      throw err;
    }
    const { bytes, mode } = whole;
    const stored = await blobs.put(bytes);
    if (stored.written) {
      blobsWritten++;
      bytesWritten += stored.size;
    }
    files.push({ path: selected.rel, sha256: stored.hash, size: stored.size, mode });
  }
  const manifest: SnapshotManifest = {
    format: SNAPSHOT_FORMAT,
    version: SNAPSHOT_MANIFEST_VERSION,
    id,
    createdAt: new Date().toISOString(),
    ...(label !== undefined ? { label } : {}),
    include,
    files,
    ledgers: await ledgerPositions(paths),
  };
  await mkdirDurable(paths.snapshots);
  const file = manifestPath(paths, id);
  await atomicWriteFile(file, serializeManifest(manifest), { tmpDir: paths.snapshots });
  await writeCurrent(paths, id);
  return { manifest, path: path.resolve(file), blobsWritten, bytesWritten };
}

/** Bytes and mode from one open handle, so both describe the same file even if it is replaced meanwhile. */
async function readWhole(file: string, maxBytes: number): Promise<{ bytes: Buffer; mode: number }> {
  const handle = await fsl().open(file, 'r');
  try {
    const st = await handle.stat();
    if (st.size > maxBytes) {
      throw new LedgerlockError(ErrorCode.BlobTooLarge, `${file} is ${st.size} bytes, over the blob cap of ${maxBytes} bytes`, {
        path: file,
        size: st.size,
        maxBlobBytes: maxBytes,
      });
    }
    const chunks: Buffer[] = [];
    let position = 0;
    for (;;) {
      const chunk = Buffer.alloc(Math.max(64 * 1024, Math.min(st.size - position + 1, 8 * 1024 * 1024)));
      const n = await handle.read(chunk, 0, chunk.length, position);
      if (n === 0) break;
      chunks.push(chunk.subarray(0, n));
      position += n;
    }
    return { bytes: Buffer.concat(chunks), mode: st.mode & 0o7777 };
  } finally {
    await handle.close();
  }
}
