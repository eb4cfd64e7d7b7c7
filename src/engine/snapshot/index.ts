/** Snapshots of workspace state over a content-addressed blob store: the public surface. */
export { BlobStore, sha256, DEFAULT_MAX_BLOB_BYTES, type BlobStoreOptions, type StoredBlob, type BlobFile, type BlobHealth } from './blobs';
export { listSnapshots, readSnapshot, readCurrent, resolveSnapshotId, type SnapshotSummary, type UnreadableManifest } from './catalog';
export { createSnapshot, type CreateSnapshotOptions, type CreateSnapshotResult } from './create';
export { deleteSnapshot } from './delete';
export { diffSnapshot, readSnapshotFile, type SnapshotDiff, type FileChange, type LedgerChange } from './diff';
export { collectGarbage, DEFAULT_GC_GRACE_MS, type GcOptions, type GcResult } from './gc';
export { snapshotPaths, readBlobsConfig, BlobsConfigSchema, BLOB_OWNER_FILE, type SnapshotPaths, type BlobsConfig, type Relocation } from './layout';
export {
  parseManifest,
  serializeManifest,
  SnapshotManifestSchema,
  SNAPSHOT_FORMAT,
  type SnapshotManifest,
  type SnapshotFile,
  type LedgerPosition,
} from './manifest';
export { openBlobStore, type StoreOpOptions } from './open';
export { planSnapshot, type SnapshotPlan } from './plan';
export { claimBlobStore, relocateBlobs, resumeRelocation, type ClaimResult, type RelocateOptions, type RelocateResult } from './relocate';
export { restoreSnapshot, type RestoreOptions, type RestoreResult } from './restore';
export { verifySnapshots, type VerifyResult, type BlobProblem } from './verify';
