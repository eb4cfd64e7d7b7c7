/**
 * The native store: `<workspace>/.ledgerlock/` with its fixed layout and a versioned
 * `store.json`. A store newer than this code is refused, never rewritten.
 */
import * as path from 'node:path';
import { z } from 'zod';
import { atomicWriteFile, mkdirDurable } from './atomic';
import { ErrorCode, LedgerlockError, errnoCode } from './errors';
import { fsl, readDocument } from './fs';
import { decodeUtf8, parseJson, parseWithSchema } from './text';

export const STORE_DIR_NAME = '.ledgerlock';
const STORE_FORMAT = 'ledgerlock';
/** Version 2 added the blob store and snapshots (see migrate.ts for the steps). */
export const STORE_VERSION = 2;
/** The oldest format the migrations in migrate.ts can bring up to STORE_VERSION. */
export const MIN_STORE_VERSION = 1;

const StoreManifestSchema = z
  .object({
    format: z.literal(STORE_FORMAT),
    version: z.number().int().positive(),
    createdAt: z.string(),
  })
  .passthrough();
export type StoreManifest = z.infer<typeof StoreManifestSchema>;

export interface StorePaths {
  root: string;
  dir: string;
  manifest: string;
  locks: string;
  ledgers: string;
  state: string;
  quarantine: string;
  tmp: string;
  telemetry: string;
}

export function storePaths(workspaceRoot: string): StorePaths {
  const dir = path.join(workspaceRoot, STORE_DIR_NAME);
  return {
    root: workspaceRoot,
    dir,
    manifest: path.join(dir, 'store.json'),
    locks: path.join(dir, 'locks'),
    ledgers: path.join(dir, 'ledgers'),
    state: path.join(dir, 'state'),
    quarantine: path.join(dir, 'quarantine'),
    tmp: path.join(dir, 'tmp'),
    telemetry: path.join(dir, 'telemetry.jsonl'),
  };
}

/** The `.ledgerlock` directory that holds `p` or sits in one of its ancestors, if any. */
export async function findStoreDir(p: string): Promise<string | undefined> {
  let dir = path.resolve(p);
  const segments = dir.split(path.sep);
  const inside = segments.lastIndexOf(STORE_DIR_NAME);
  if (inside > 0) return segments.slice(0, inside + 1).join(path.sep) || path.sep;
  for (;;) {
    const candidate = path.join(dir, STORE_DIR_NAME);
    try {
      if ((await fsl().stat(candidate)).isDirectory()) return candidate;
    } catch {
      // not here; keep walking up
    }
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** Reads store.json; undefined when the store has none yet. Refuses a newer format. */
export async function readStoreManifest(paths: StorePaths): Promise<StoreManifest | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readDocument(paths.manifest);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw err;
  }
  const where = { path: paths.manifest };
  let manifest: StoreManifest;
  try {
    manifest = parseWithSchema(StoreManifestSchema, parseJson(decodeUtf8(bytes, where), where), where);
  } catch (err) {
    throw new LedgerlockError(ErrorCode.StoreInvalid, `${paths.manifest} is not a Ledgerlock store manifest: ${(err as Error).message}`, where, { cause: err });
  }
  if (manifest.version > STORE_VERSION) {
    throw new LedgerlockError(
      ErrorCode.StoreTooNew,
      `${paths.manifest} is store format version ${manifest.version}; this Ledgerlock supports up to ${STORE_VERSION}. Upgrade Ledgerlock to open it.`,
      { path: paths.manifest, version: manifest.version, supported: STORE_VERSION },
    );
  }
  return manifest;
}

/** Opens the store of `workspaceRoot`, creating its layout and manifest when missing. */
export async function ensureStore(workspaceRoot: string): Promise<StorePaths> {
  const paths = storePaths(workspaceRoot);
  const existing = await readStoreManifest(paths);
  // Durable mkdir: a store whose creation returned must not vanish with its directory entry.
  for (const dir of [paths.dir, paths.locks, paths.ledgers, paths.state, paths.quarantine, paths.tmp]) {
    await mkdirDurable(dir, false);
  }
  if (existing === undefined) {
    const manifest: StoreManifest = { format: STORE_FORMAT, version: STORE_VERSION, createdAt: new Date().toISOString() };
    await atomicWriteFile(paths.manifest, JSON.stringify(manifest, null, 2) + '\n', { telemetry: false });
  }
  return paths;
}

/**
 * For a ledger or lock path inside a native store, the store's paths; undefined for a path
 * outside any `.ledgerlock` directory (a foreign store).
 */
export function storePathsOf(p: string): StorePaths | undefined {
  const segments = path.resolve(p).split(path.sep);
  const at = segments.lastIndexOf(STORE_DIR_NAME);
  if (at <= 0) return undefined;
  return storePaths(segments.slice(0, at).join(path.sep) || path.sep);
}
