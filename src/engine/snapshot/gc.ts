/**
 * Garbage collection of blobs. Under the store lock, mark every blob a durable manifest
 * references, then sweep unreferenced blobs (and writers' temp files) older than the grace
 * period. The grace period protects blobs a snapshot has written but not yet referenced from a
 * durable manifest (`put` refreshes the mtime of content it finds already stored). A manifest
 * that cannot be read stops GC: its references are unknown, so nothing may be swept.
 */
import * as path from 'node:path';
import { ErrorCode, LedgerlockError, errnoCode } from '../errors';
import { fsl } from '../fs';
import { checkDuration } from '../options';
import { emitTelemetry } from '../telemetry';
import { readAllSnapshots } from './catalog';
import { openBlobStore, withStoreLock, type StoreOpOptions } from './open';
import { prepareStore } from './prepare';

export const DEFAULT_GC_GRACE_MS = 60 * 60 * 1000;

export interface GcOptions extends StoreOpOptions {
  /** Unreferenced blobs younger than this are kept (default 1 hour). */
  graceMs?: number;
  /** Report what would be swept without removing anything. */
  dryRun?: boolean;
}

export interface GcResult {
  dryRun: boolean;
  referenced: number;
  swept: { hash: string; size: number }[];
  sweptBytes: number;
  /** Unreferenced but inside the grace period. */
  young: number;
  tempRemoved: number;
}

export async function collectGarbage(workspaceRoot: string, options: GcOptions = {}): Promise<GcResult> {
  const graceMs = checkDuration('graceMs', options.graceMs ?? DEFAULT_GC_GRACE_MS, { allowZero: true });
  const dryRun = options.dryRun ?? false;
  const paths = await prepareStore(workspaceRoot, options);
  return withStoreLock(
    paths,
    async () => {
      const { manifests, unreadable } = await readAllSnapshots(paths);
      if (unreadable.length > 0) {
        throw new LedgerlockError(
          ErrorCode.GcRefused,
          `GC refused: ${unreadable.length} snapshot manifest(s) cannot be read, so the blobs they reference are unknown (first: ${unreadable[0]!.path}: ${unreadable[0]!.message})`,
          { unreadable },
        );
      }
      const referenced = new Set(manifests.flatMap((m) => m.files.map((f) => f.sha256)));
      const blobs = await openBlobStore(paths, options);
      const cutoff = Date.now() - graceMs;
      const swept: GcResult['swept'] = [];
      let young = 0;
      for (const blob of await blobs.list()) {
        if (referenced.has(blob.hash)) continue;
        if (blob.mtimeMs > cutoff) {
          young++;
          continue;
        }
        // No directory fsync: a sweep undone by a power loss only brings back garbage.
        if (!dryRun) await blobs.remove(blob.hash);
        swept.push({ hash: blob.hash, size: blob.size });
      }
      let tempRemoved = 0;
      const temps = [...(await blobs.listTemp()), ...(await staleManifestTemps(paths.snapshots))];
      for (const temp of temps) {
        if (temp.mtimeMs > cutoff) continue;
        if (!dryRun) await unlinkIfPresent(temp.path);
        tempRemoved++;
      }
      const sweptBytes = swept.reduce((sum, b) => sum + b.size, 0);
      if (!dryRun && swept.length > 0) {
        await emitTelemetry(options.telemetry ?? paths.store.dir, paths.store.dir, {
          type: 'GC_SWEPT',
          data: { swept: swept.length, bytes: sweptBytes, kept: referenced.size, graceMs },
        });
      }
      return { dryRun, referenced: referenced.size, swept, sweptBytes, young, tempRemoved };
    },
    options,
  );
}

/** Temp files an atomic manifest write left behind when its process died. */
async function staleManifestTemps(dir: string): Promise<{ path: string; mtimeMs: number }[]> {
  const out = [];
  let entries;
  try {
    entries = await fsl().readdir(dir);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return [];
    throw err;
  }
  for (const entry of entries) {
    if (!entry.isFile() || !entry.name.startsWith('.') || !entry.name.endsWith('.tmp')) continue;
    const file = path.join(dir, entry.name);
    try {
      out.push({ path: file, mtimeMs: (await fsl().stat(file)).mtimeMs });
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
    }
  }
  return out;
}

async function unlinkIfPresent(file: string): Promise<void> {
  try {
    await fsl().unlink(file);
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
  }
}
