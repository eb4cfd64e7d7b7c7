/**
 * Moving the blob store to another directory. The intent is recorded in `blobs.json` first;
 * then every source blob not yet verified on the target is copied (temp, fsync, read back,
 * rename), every source blob is re-hashed on the target, and only then does the config flip to
 * the target. Removing the source copies is optional and happens after the flip, one verified
 * blob at a time. Each phase is idempotent, so a crashed relocation is simply run again: at
 * start-up the one process that wins the store lock resumes it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ErrorCode, LedgerlockError } from '../errors';
import { emitTelemetry } from '../telemetry';
import { BlobStore } from './blobs';
import { readAllSnapshots } from './catalog';
import {
  assertBlobRootOwned,
  BLOB_OWNER_FILE,
  blobRootOwnership,
  claimBlobRoot,
  readBlobsConfig,
  snapshotPaths,
  writeBlobRootOwner,
  writeBlobsConfig,
  type BlobsConfig,
  type Relocation,
  type SnapshotPaths,
} from './layout';
import { withStoreLock, type StoreOpOptions } from './open';
import { bootstrapStore } from './bootstrap';

export interface RelocateOptions extends StoreOpOptions {
  /** Delete the source copies once every blob is verified on the target (default false). */
  removeSource?: boolean;
}

export interface RelocateResult {
  from: string;
  to: string;
  copied: number;
  verified: number;
  removedSource: number;
  /** A relocation a crashed process left behind was continued. */
  resumed: boolean;
  /** Nothing to do: the blobs already live there. */
  alreadyThere: boolean;
  /** Relocating back to the source of an unfinished relocation cancels it. */
  cancelled: boolean;
}

export async function relocateBlobs(workspaceRoot: string, target: string, options: RelocateOptions = {}): Promise<RelocateResult> {
  const paths = snapshotPaths(workspaceRoot);
  const to = path.resolve(paths.store.root, target);
  await bootstrapStore(workspaceRoot, options); // an unfinished relocation is handled below
  return withStoreLock(
    paths,
    async () => {
      const config = await readBlobsConfig(paths);
      const pending = config.relocation;
      if (pending !== undefined) {
        if (pending.phase === 'copying' && samePath(to, pending.from)) {
          await assertBlobRootOwned(paths, pending.from);
          await writeBlobsConfig(paths, { format: 'ledgerlock-blobs', version: 1, root: pending.from });
          return { from: pending.from, to: pending.to, copied: 0, verified: 0, removedSource: 0, resumed: false, alreadyThere: false, cancelled: true };
        }
        if (!samePath(to, pending.to)) {
          throw new LedgerlockError(
            ErrorCode.RelocationConflict,
            `a relocation of the blob store to ${pending.to} is unfinished; finish it, or relocate to ${pending.from} to cancel it`,
            { pending },
          );
        }
        return runRelocation(paths, pending, true, options);
      }
      if (samePath(config.root, to)) {
        return { from: config.root, to, copied: 0, verified: 0, removedSource: 0, resumed: false, alreadyThere: true, cancelled: false };
      }
      if (isWithin(to, config.root) || isWithin(config.root, to)) {
        throw new LedgerlockError(ErrorCode.BadInput, `cannot relocate the blob store between nested directories ${config.root} and ${to}`, {
          from: config.root,
          to,
        });
      }
      await assertBlobRootOwned(paths, config.root);
      await claimBlobRoot(paths, to);
      const relocation: Relocation = {
        from: config.root,
        to,
        phase: 'copying',
        removeSource: options.removeSource ?? false,
        startedAt: new Date().toISOString(),
      };
      const recorded: BlobsConfig = { ...config, relocation };
      await writeBlobsConfig(paths, recorded);
      return runRelocation(paths, relocation, false, options);
    },
    options,
  );
}

/**
 * Finishes a relocation left unfinished by a crash. Any number of processes may call this at
 * start-up: the store lock elects one, and the rest find the config already flipped.
 */
export async function resumeRelocation(workspaceRoot: string, options: StoreOpOptions = {}): Promise<RelocateResult | undefined> {
  const paths = snapshotPaths(workspaceRoot);
  if ((await readBlobsConfig(paths)).relocation === undefined) return undefined;
  return withStoreLock(
    paths,
    async () => {
      const config = await readBlobsConfig(paths);
      if (config.relocation === undefined) return undefined;
      return runRelocation(paths, config.relocation, true, options);
    },
    options,
  );
}

/** The caller holds the store lock. */
async function runRelocation(paths: SnapshotPaths, relocation: Relocation, resumed: boolean, options: StoreOpOptions): Promise<RelocateResult> {
  // A recorded relocation is workspace content too: both ends must belong to this workspace.
  await assertBlobRootOwned(paths, relocation.from);
  await assertBlobRootOwned(paths, relocation.to);
  const telemetry = options.telemetry ?? paths.store.dir;
  // The cap guards new content; blobs already stored move whatever their size.
  const source = new BlobStore(relocation.from, { maxBlobBytes: Number.MAX_SAFE_INTEGER, telemetry });
  const dest = new BlobStore(relocation.to, { maxBlobBytes: Number.MAX_SAFE_INTEGER, telemetry });
  let copied = 0;
  let verified = 0;
  if (relocation.phase === 'copying') {
    const work = await source.list();
    // Copying and verifying each visit every blob: progress counts both passes.
    for (const [n, blob] of work.entries()) {
      options.onProgress?.(n, work.length * 2);
      if ((await dest.check(blob.hash)) === 'ok') continue;
      await dest.put(await source.read(blob.hash)); // read verifies the source; put reads back what it wrote
      copied++;
    }
    for (const [n, blob] of work.entries()) {
      options.onProgress?.(work.length + n, work.length * 2);
      const health = await dest.check(blob.hash);
      if (health !== 'ok') {
        throw new LedgerlockError(
          health === 'missing' ? ErrorCode.BlobMissing : ErrorCode.BlobCorrupt,
          `blob ${blob.hash} is ${health} on the relocation target: ${dest.pathOf(blob.hash)}`,
          { hash: blob.hash, path: dest.pathOf(blob.hash) },
        );
      }
      verified++;
    }
    relocation = { ...relocation, phase: 'removing-source' };
    // The flip: from here on the target is the blob store.
    await writeBlobsConfig(paths, { format: 'ledgerlock-blobs', version: 1, root: relocation.to, ...(relocation.removeSource ? { relocation } : {}) });
  }
  let removedSource = 0;
  if (relocation.removeSource) {
    for (const blob of await source.list()) {
      if ((await dest.check(blob.hash)) !== 'ok') continue; // never remove the only good copy
      await source.remove(blob.hash);
      removedSource++;
    }
    await writeBlobsConfig(paths, { format: 'ledgerlock-blobs', version: 1, root: relocation.to });
  }
  await emitTelemetry(telemetry, paths.store.dir, {
    type: 'BLOBS_RELOCATED',
    data: { from: relocation.from, to: relocation.to, copied, verified, removedSource: relocation.removeSource, resumed },
  });
  return { from: relocation.from, to: relocation.to, copied, verified, removedSource, resumed, alreadyThere: false, cancelled: false };
}

function samePath(a: string, b: string): boolean {
  return path.resolve(a) === path.resolve(b);
}

function isWithin(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

export interface ClaimResult {
  root: string;
  /** The workspace the owner file named before (null: there was none). */
  previousOwner: string | null;
  /** Blobs this workspace's snapshots reference, each found intact there. */
  verified: number;
  /** Nothing to do: the store lies inside the workspace or already names it. */
  alreadyOurs: boolean;
}

/**
 * Makes the outside blob store that blobs.json names this workspace's again, for a workspace
 * that was moved (its owner file names a path that no longer exists) or a store relocated
 * before owner files existed. Never takes a store from a workspace that still exists, nor
 * another workspace's own `.ledgerlock` store; and only after every blob this workspace's
 * snapshots reference was found intact there (read only). A command a person runs: the
 * editor offers no button for it.
 */
export async function claimBlobStore(workspaceRoot: string, options: StoreOpOptions = {}): Promise<ClaimResult> {
  const paths = snapshotPaths(workspaceRoot);
  return withStoreLock(
    paths,
    async () => {
      const config = await readBlobsConfig(paths);
      if (config.relocation !== undefined) {
        throw new LedgerlockError(
          ErrorCode.RelocationConflict,
          `a relocation of the blob store to ${config.relocation.to} is unfinished; finish or cancel it first`,
          { pending: config.relocation },
        );
      }
      const place = await blobRootOwnership(paths, config.root);
      const owner = place.owner;
      if (place.ours) return { root: config.root, previousOwner: owner ?? null, verified: 0, alreadyOurs: true };
      const refuse = (why: string) =>
        new LedgerlockError(ErrorCode.RelocationConflict, `cannot claim the blob store ${config.root}: ${why}`, {
          blobRoot: config.root,
          owner: owner ?? null,
        });
      if (owner === null) throw refuse(`its ${BLOB_OWNER_FILE} cannot be read`);
      if (owner !== undefined && fs.existsSync(owner)) throw refuse(`it belongs to ${owner}, which still exists`);
      if (owner === undefined && place.real.split(path.sep).includes('.ledgerlock'))
        throw refuse("it is the blob store inside another workspace's .ledgerlock");
      const { manifests, unreadable } = await readAllSnapshots(paths);
      if (unreadable.length > 0) throw refuse(`${unreadable.length} snapshot manifest(s) cannot be read, so the blobs they need cannot be checked`);
      const store = new BlobStore(place.real, { maxBlobBytes: Number.MAX_SAFE_INTEGER, telemetry: false });
      const needed = [...new Set(manifests.flatMap((m) => m.files.map((f) => f.sha256)))];
      for (const [n, hash] of needed.entries()) {
        options.onProgress?.(n, needed.length);
        const health = await store.check(hash);
        if (health !== 'ok') throw refuse(`blob ${hash}, which this workspace's snapshots need, is ${health} there`);
      }
      await writeBlobRootOwner(paths, place.real);
      return { root: config.root, previousOwner: owner ?? null, verified: needed.length, alreadyOurs: false };
    },
    options,
  );
}
