/**
 * What every mutating snapshot operation shares: the store lock and the blob store the
 * config currently points at.
 */
import { withLock } from '../lock/acquire';
import type { TelemetryTarget } from '../telemetry';
import { BlobStore } from './blobs';
import { assertBlobRootOwned, readBlobsConfig, type SnapshotPaths } from './layout';

export interface StoreOpOptions {
  /** How long to wait for the store lock (default 10 s); then E_LOCK_TIMEOUT. */
  lockTimeoutMs?: number;
  /** Largest blob accepted (default 64 MiB). */
  maxBlobBytes?: number;
  telemetry?: TelemetryTarget;
  /** Named in the lock file so a person can see who holds the store. */
  tool?: string;
  /** Items (files or blobs) handled so far of the total, while the operation runs. */
  onProgress?: (done: number, total: number) => void;
}

export async function withStoreLock<T>(paths: SnapshotPaths, fn: () => Promise<T>, options: StoreOpOptions = {}): Promise<T> {
  return withLock(paths.storeLock, fn, {
    timeoutMs: options.lockTimeoutMs ?? 10_000,
    tool: options.tool ?? 'ledgerlock snapshot',
    ...(options.telemetry !== undefined ? { telemetry: options.telemetry } : {}),
  });
}

export async function openBlobStore(paths: SnapshotPaths, options: StoreOpOptions = {}): Promise<BlobStore> {
  const config = await readBlobsConfig(paths);
  await assertBlobRootOwned(paths, config.root);
  return new BlobStore(config.root, {
    ...(options.maxBlobBytes !== undefined ? { maxBlobBytes: options.maxBlobBytes } : {}),
    telemetry: options.telemetry ?? paths.store.dir,
  });
}
