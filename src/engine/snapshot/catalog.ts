/**
 * The snapshots a store holds: listing and reading manifests, the `current` pointer, and
 * deleting a snapshot (its blobs go when GC next runs).
 */
import * as path from 'node:path';
import { atomicWriteFile } from '../atomic';
import { ErrorCode, LedgerlockError, errnoCode } from '../errors';
import { fsl, readDocument } from '../fs';
import { parseManifest, isSnapshotId, type SnapshotManifest } from './manifest';
import type { SnapshotPaths } from './layout';

export interface SnapshotSummary {
  id: string;
  createdAt: string;
  label?: string;
  files: number;
  bytes: number;
  current: boolean;
}

/** A manifest that could not be read: GC refuses to run while one exists, since its references are unknown. */
export interface UnreadableManifest {
  path: string;
  code: string;
  message: string;
}

export function manifestPath(paths: SnapshotPaths, id: string): string {
  if (!isSnapshotId(id)) {
    throw new LedgerlockError(ErrorCode.PathTraversal, `invalid snapshot id ${JSON.stringify(id)}: use letters, digits, "_" or "-"`, { id });
  }
  return path.join(paths.snapshots, `${id}.json`);
}

export async function readSnapshot(paths: SnapshotPaths, id: string): Promise<SnapshotManifest> {
  const file = manifestPath(paths, id);
  let bytes: Buffer;
  try {
    bytes = await readDocument(file);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') throw new LedgerlockError(ErrorCode.NotFound, `no snapshot ${id} in ${paths.snapshots}`, { id, path: file });
    throw err;
  }
  const manifest = parseManifest(bytes, { path: file });
  if (manifest.id !== id) {
    throw new LedgerlockError(ErrorCode.SchemaMismatch, `${file} holds snapshot ${manifest.id}, not ${id}`, { path: file, id: manifest.id });
  }
  return manifest;
}

/** Every durable manifest, oldest first, and the ones that could not be read. */
export async function readAllSnapshots(paths: SnapshotPaths): Promise<{ manifests: SnapshotManifest[]; unreadable: UnreadableManifest[] }> {
  const manifests: SnapshotManifest[] = [];
  const unreadable: UnreadableManifest[] = [];
  let entries;
  try {
    entries = await fsl().readdir(paths.snapshots);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return { manifests, unreadable };
    throw err;
  }
  // Temp files of an atomic write start with '.', so only published manifests are read.
  for (const entry of entries) {
    if (!entry.isFile() || entry.name.startsWith('.') || !entry.name.endsWith('.json')) continue;
    const id = entry.name.slice(0, -'.json'.length);
    const file = path.join(paths.snapshots, entry.name);
    try {
      manifests.push(await readSnapshot(paths, id));
    } catch (err) {
      if (errnoCode(err) === 'ENOENT' || (err instanceof LedgerlockError && err.code === ErrorCode.NotFound)) continue;
      if (err instanceof LedgerlockError) unreadable.push({ path: file, code: err.code, message: err.message });
      else throw err;
    }
  }
  manifests.sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : 1));
  return { manifests, unreadable };
}

export async function listSnapshots(paths: SnapshotPaths): Promise<{ snapshots: SnapshotSummary[]; unreadable: UnreadableManifest[] }> {
  const { manifests, unreadable } = await readAllSnapshots(paths);
  const current = await readCurrent(paths);
  const snapshots = manifests.map((m) => ({
    id: m.id,
    createdAt: m.createdAt,
    ...(m.label !== undefined ? { label: m.label } : {}),
    files: m.files.length,
    bytes: m.files.reduce((sum, f) => sum + f.size, 0),
    current: m.id === current,
  }));
  return { snapshots, unreadable };
}

/** The id in `snapshots/current`, or undefined when there is none (or it names a deleted snapshot). */
export async function readCurrent(paths: SnapshotPaths): Promise<string | undefined> {
  let text: string;
  try {
    text = (await readDocument(paths.current, 4096)).toString('utf8').trim();
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw err;
  }
  return isSnapshotId(text) ? text : undefined;
}

/** Swaps the pointer atomically: a reader sees the old id or the new one, never a mix. */
export async function writeCurrent(paths: SnapshotPaths, id: string): Promise<void> {
  manifestPath(paths, id);
  await atomicWriteFile(paths.current, id + '\n', { tmpDir: paths.snapshots });
}

/** Resolves `current` (or `latest`) to an id; anything else must be an id. */
export async function resolveSnapshotId(paths: SnapshotPaths, ref: string): Promise<string> {
  if (ref === 'current') {
    const id = await readCurrent(paths);
    if (id === undefined) throw new LedgerlockError(ErrorCode.NotFound, `no current snapshot in ${paths.snapshots}`, { path: paths.current });
    return id;
  }
  if (ref === 'latest') {
    const { manifests } = await readAllSnapshots(paths);
    const last = manifests[manifests.length - 1];
    if (last === undefined) throw new LedgerlockError(ErrorCode.NotFound, `no snapshots in ${paths.snapshots}`, { path: paths.snapshots });
    return last.id;
  }
  manifestPath(paths, ref);
  return ref;
}
