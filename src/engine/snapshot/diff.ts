/**
 * What changed since a snapshot: files added, removed or modified (by content hash) among
 * those its globs select, and for each ledger whether events were appended, or whether the
 * record the snapshot saw last is gone or different (history rewritten or compacted away).
 * Read-only: takes no lock.
 */
import * as path from 'node:path';
import { ErrorCode, LedgerlockError, errnoCode } from '../errors';
import { readDocument } from '../fs';
import { openLedger } from '../ledger';
import { DEFAULT_MAX_BLOB_BYTES, sha256 } from './blobs';
import { readSnapshot, resolveSnapshotId } from './catalog';
import { snapshotPaths } from './layout';
import type { LedgerPosition } from './manifest';
import { openBlobStore } from './open';
import { ledgerPositions } from './positions';
import { targetOf } from './restore';
import { selectFiles } from './select';

export type FileChange = 'added' | 'removed' | 'modified';
export type LedgerChange = 'unchanged' | 'appended' | 'rewritten' | 'missing' | 'new';

export interface SnapshotDiff {
  snapshot: string;
  files: { path: string; change: FileChange; before: string | null; after: string | null }[];
  unchangedFiles: number;
  ledgers: { name: string; change: LedgerChange; lastIdThen: number | null; lastIdNow: number | null }[];
}

export async function diffSnapshot(workspaceRoot: string, ref: string): Promise<SnapshotDiff> {
  const paths = snapshotPaths(workspaceRoot);
  const id = await resolveSnapshotId(paths, ref);
  const manifest = await readSnapshot(paths, id);
  const root = paths.store.root;
  const files: SnapshotDiff['files'] = [];
  let unchangedFiles = 0;
  const then = new Set<string>();
  for (const file of manifest.files) {
    then.add(file.path);
    const now = await hashIfPresent(await targetOf(root, file.path));
    if (now === undefined) files.push({ path: file.path, change: 'removed', before: file.sha256, after: null });
    else if (now !== file.sha256) files.push({ path: file.path, change: 'modified', before: file.sha256, after: now });
    else unchangedFiles++;
  }
  for (const selected of await selectFiles(root, manifest.include)) {
    if (then.has(selected.rel)) continue;
    files.push({ path: selected.rel, change: 'added', before: null, after: (await hashIfPresent(selected.abs)) ?? null });
  }
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));

  const nowPositions = new Map((await ledgerPositions(paths)).map((p) => [p.name, p]));
  const ledgers: SnapshotDiff['ledgers'] = [];
  for (const before of manifest.ledgers) {
    const after = nowPositions.get(before.name);
    nowPositions.delete(before.name);
    ledgers.push({ name: before.name, change: await ledgerChange(root, before, after), lastIdThen: before.lastId, lastIdNow: after?.lastId ?? null });
  }
  for (const after of nowPositions.values()) ledgers.push({ name: after.name, change: 'new', lastIdThen: null, lastIdNow: after.lastId });
  return { snapshot: id, files, unchangedFiles, ledgers };
}

async function ledgerChange(root: string, before: LedgerPosition, after: LedgerPosition | undefined): Promise<LedgerChange> {
  if (after === undefined) return 'missing';
  if (before.lastId === after.lastId && before.crc === after.crc) return 'unchanged';
  if (before.lastId === null) return 'appended';
  // Appended only if the record the snapshot saw last is still there, unchanged.
  const ledger = await openLedger(path.join(root, ...before.path.split('/')), { create: false, telemetry: false });
  try {
    const [seen] = await ledger.range({ fromId: before.lastId, toId: before.lastId, limit: 1 });
    if (seen === undefined || (before.crc !== null && seen.crc !== before.crc)) return 'rewritten';
    return 'appended';
  } catch {
    return 'rewritten';
  } finally {
    await ledger.close();
  }
}

async function hashIfPresent(file: string): Promise<string | undefined> {
  try {
    return sha256(await readDocument(file, DEFAULT_MAX_BLOB_BYTES));
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw err;
  }
}

/** The bytes a snapshot holds for one file (for opening a diff in an editor). */
export async function readSnapshotFile(workspaceRoot: string, ref: string, file: string): Promise<Buffer> {
  const paths = snapshotPaths(workspaceRoot);
  const manifest = await readSnapshot(paths, await resolveSnapshotId(paths, ref));
  const entry = manifest.files.find((f) => f.path === file);
  if (entry === undefined)
    throw new LedgerlockError(ErrorCode.NotFound, `snapshot ${manifest.id} holds no file ${file}`, { snapshot: manifest.id, path: file });
  return (await openBlobStore(paths)).read(entry.sha256);
}
