/**
 * Where snapshots and blobs live inside a store, and the blob-store config
 * (`.ledgerlock/blobs.json`) that says which directory holds the blobs and whether a
 * relocation is under way. Without a config the blobs live in `.ledgerlock/blobs`.
 *
 * The config is part of the workspace, so it is untrusted: a cloned repository's config may
 * name another project's blob store. A blob root outside the workspace is used only when it
 * carries an owner file naming this workspace, which `relocate` (a person's act) writes there;
 * otherwise nothing is read, written or removed there (E_PATH_OUTSIDE_ROOT).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { atomicWriteFile } from '../atomic';
import { lexicallyInside, realpathOfDeepestSync } from '../confine-paths';
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
  root: z
    .string()
    .min(1)
    .refine((p) => path.isAbsolute(p), 'must be an absolute path'),
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
    throw new LedgerlockError(ErrorCode.StoreInvalid, `${paths.blobsConfig} is not a valid blob-store config: ${(err as Error).message}`, where, {
      cause: err,
    });
  }
}

export async function writeBlobsConfig(paths: SnapshotPaths, config: BlobsConfig): Promise<void> {
  const checked = BlobsConfigSchema.parse(config);
  await atomicWriteFile(paths.blobsConfig, JSON.stringify(checked, null, 2) + '\n');
}

/** In a blob root outside the workspace: which workspace the blobs there belong to. */
export const BLOB_OWNER_FILE = 'ledgerlock-owner.json';

const BlobOwnerSchema = z.object({
  format: z.literal('ledgerlock-blob-owner'),
  version: z.literal(1),
  /** The real path of the workspace whose snapshots these blobs serve. */
  workspace: z.string().min(1),
});

function realWorkspace(paths: SnapshotPaths): string {
  return realpathOfDeepestSync(paths.store.root);
}

/** undefined: no owner file; otherwise the workspace it names (or null when unreadable). */
async function blobRootOwner(blobRoot: string): Promise<string | null | undefined> {
  const file = path.join(blobRoot, BLOB_OWNER_FILE);
  let bytes: Buffer;
  try {
    bytes = await readDocument(file, 64 * 1024);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT' || (err instanceof LedgerlockError && err.code === ErrorCode.NotFound)) return undefined;
    return null;
  }
  try {
    const where = { path: file };
    return parseWithSchema(BlobOwnerSchema, parseJson(decodeUtf8(bytes, where), where), where).workspace;
  } catch {
    return null;
  }
}

/** Where a blob root really is, and whose it is. */
export interface BlobRootOwnership {
  /** The root through every symlink. */
  real: string;
  /** This workspace's real path. */
  workspace: string;
  inside: boolean;
  /** Outside only: the workspace its owner file names; null when unreadable, undefined when there is none. */
  owner: string | null | undefined;
  /** Inside this workspace, or its owner file names this workspace. */
  ours: boolean;
}

export async function blobRootOwnership(paths: SnapshotPaths, blobRoot: string): Promise<BlobRootOwnership> {
  const workspace = realWorkspace(paths);
  const real = realpathOfDeepestSync(path.resolve(paths.store.root, blobRoot));
  const inside = lexicallyInside(workspace, real);
  const owner = inside ? undefined : await blobRootOwner(real);
  return { real, workspace, inside, owner, ours: inside || owner === workspace };
}

/**
 * Throws E_PATH_OUTSIDE_ROOT unless `blobRoot` lies inside this workspace (through every
 * symlink) or its owner file names this workspace. Called before anything reads, writes or
 * removes blobs there.
 */
export async function assertBlobRootOwned(paths: SnapshotPaths, blobRoot: string): Promise<void> {
  const { owner, ours } = await blobRootOwnership(paths, blobRoot);
  if (ours) return;
  const why =
    owner === undefined
      ? `it has no ${BLOB_OWNER_FILE} naming this workspace`
      : owner === null
        ? `its ${BLOB_OWNER_FILE} cannot be read`
        : `its ${BLOB_OWNER_FILE} says it belongs to ${owner}`;
  throw new LedgerlockError(
    ErrorCode.PathOutsideRoot,
    `${paths.blobsConfig} names the blob store ${blobRoot}, outside the workspace ${paths.store.root}, and ${why}; Ledgerlock never reads, writes or removes blobs there. ` +
      `If this workspace was moved or copied, remove ${paths.blobsConfig} to start a new blob store inside it, or run relocate from the workspace that owns it`,
    { path: paths.blobsConfig, blobRoot, root: paths.store.root, owner: owner ?? null },
  );
}

/**
 * Ties a blob root outside the workspace to it, before a relocation copies anything there.
 * Refused when the directory already serves another workspace or holds blobs nobody claimed.
 */
export async function claimBlobRoot(paths: SnapshotPaths, blobRoot: string): Promise<void> {
  const { real, owner, ours } = await blobRootOwnership(paths, blobRoot);
  if (ours) return;
  if (owner !== undefined || fs.existsSync(path.join(real, 'sha256'))) {
    throw new LedgerlockError(
      ErrorCode.RelocationConflict,
      `${blobRoot} already holds a blob store${typeof owner === 'string' ? ` that belongs to ${owner}` : ' that no workspace claims'}; relocate to an empty directory`,
      { blobRoot, owner: owner ?? null },
    );
  }
  await fs.promises.mkdir(real, { recursive: true });
  await writeBlobRootOwner(paths, real);
}

/** Writes the owner file naming this workspace into the (outside) blob root `real`. */
export async function writeBlobRootOwner(paths: SnapshotPaths, real: string): Promise<void> {
  const record = BlobOwnerSchema.parse({ format: 'ledgerlock-blob-owner', version: 1, workspace: realWorkspace(paths) });
  await atomicWriteFile(path.join(real, BLOB_OWNER_FILE), JSON.stringify(record, null, 2) + '\n');
}
