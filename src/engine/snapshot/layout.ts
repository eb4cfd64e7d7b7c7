/**
 * Where snapshots and blobs live inside a store, and the blob-store config
 * (`.ledgerlock/blobs.json`) that says which directory holds the blobs and whether a
 * relocation is under way. Without a config the blobs live in `.ledgerlock/blobs`.
 */
import * as path from 'node:path';
import { z } from 'zod';
import { atomicWriteFile } from '../atomic';
import { ErrorCode, LedgerlockError, errnoCode } from '../errors';
import { readDocument } from '../fs';
import { storePaths, type StorePaths } from '../store';
import { decodeUtf8, parseJson, parseWithSchema } from '../text';

export interface SnapshotPaths {
  store: StorePaths;
  /** `.ledgerlock/snapshots`: one `<id>.json` manifest per snapshot. */
  snapshots: string;
  /** `.ledgerlock/snapshots/current`: the id of the snapshot the workspace last matched. */
  current: string;
  /** `.ledgerlock/blobs.json`: where the blobs live. */
  blobsConfig: string;
  defaultBlobRoot: string;
  /** The store-wide lock that create, restore, GC, migration and relocation take. */
  storeLock: string;
}

export function snapshotPaths(workspaceRoot: string): SnapshotPaths {
  const store = storePaths(path.resolve(workspaceRoot));
  return {
    store,
    snapshots: path.join(store.dir, 'snapshots'),
    current: path.join(store.dir, 'snapshots', 'current'),
    blobsConfig: path.join(store.dir, 'blobs.json'),
    defaultBlobRoot: path.join(store.dir, 'blobs'),
    storeLock: path.join(store.locks, 'store.lock'),
  };
}

const RelocationSchema = z.object({
  from: z.string().min(1),
  to: z.string().min(1),
  /** copying: `from` is still the truth; removing-source: `to` is, and `from` is being emptied. */
  phase: z.enum(['copying', 'removing-source']),
  removeSource: z.boolean(),
  startedAt: z.string(),
});
export type Relocation = z.infer<typeof RelocationSchema>;

export const BlobsConfigSchema = z.object({
  format: z.literal('ledgerlock-blobs'),
  version: z.literal(1),
  /** Absolute directory holding `sha256/` and `tmp/`. */
  root: z.string().min(1).refine((p) => path.isAbsolute(p), 'must be an absolute path'),
  relocation: RelocationSchema.optional(),
});
export type BlobsConfig = z.infer<typeof BlobsConfigSchema>;

export async function readBlobsConfig(paths: SnapshotPaths): Promise<BlobsConfig> {
  let bytes: Buffer;
  try {
    bytes = await readDocument(paths.blobsConfig);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return { format: 'ledgerlock-blobs', version: 1, root: paths.defaultBlobRoot };
    throw err;
  }
  const where = { path: paths.blobsConfig };
  try {
    return parseWithSchema(BlobsConfigSchema, parseJson(decodeUtf8(bytes, where), where), where);
  } catch (err) {
    throw new LedgerlockError(ErrorCode.StoreInvalid, `${paths.blobsConfig} is not a valid blob-store config: ${(err as Error).message}`, where, { cause: err });
  }
}

export async function writeBlobsConfig(paths: SnapshotPaths, config: BlobsConfig): Promise<void> {
  const checked = BlobsConfigSchema.parse(config);
  await atomicWriteFile(paths.blobsConfig, JSON.stringify(checked, null, 2) + '\n');
}
