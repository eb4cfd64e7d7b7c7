/** The Ledgerlock engine as a library: everything here is usable without VS Code. */
import { storeRecoveryLog } from './recovery-log';
import { useRecoverySink } from './telemetry';

// Recoveries are recorded in the enclosing store's telemetry.jsonl unless a caller says otherwise.
useRecoverySink(storeRecoveryLog);

export * from './errors';
export { atomicWriteFile, atomicWriteFileSync, syncParentDir, mkdirDurable, type AtomicWriteOptions, type AtomicWriteResult } from './atomic';
export { useFileSystem, nodeFileSystem, type FileSystem, type OpenFile, type FileOwner } from './fs';
export {
  onTelemetry,
  useRecoverySink,
  TelemetryEventSchema,
  TELEMETRY_TYPES,
  type RecoverySink,
  type TelemetryEvent,
  type TelemetryType,
  type TelemetryTarget,
} from './telemetry';
export { storeRecoveryLog } from './recovery-log';
export {
  ensureStore,
  findStoreDir,
  readStoreManifest,
  storePaths,
  storePathsOf,
  STORE_DIR_NAME,
  STORE_VERSION,
  type StorePaths,
  type StoreManifest,
} from './store';
export * from './snapshot';
export { migrateStore, MIGRATIONS, type MigrateOptions, type MigrateResult, type MigrationStep } from './migrate';
export { MIN_STORE_VERSION } from './store';
export {
  openLedger,
  type Ledger,
  type LedgerOptions,
  type LedgerEvent,
  type AppendOptions,
  type LedgerHealth,
  type LedgerProblem,
  type LedgerProblemKind,
  type VerifyReport,
  type RepairResult,
  type CompactResult,
  type CompactOptions,
  type LedgerStats,
  type Page,
  type RangeQuery,
  type Durability,
  type LedgerFormat,
} from './ledger';
export * from './lock';
export { probeKernelLocks, probeProgram, type KernelProbe, type KernelProbeAnswer, type ProbeOptions } from './lock/probe';
export { MutationSerializer } from './serializer';
export { readJsonFile, updateJsonFile, updateJsonFileSync, jsonLockPathFor, type UpdateJsonOptions } from './json-file';
export { resolveLedgerPath, resolveLockPath, checkStoreName } from './names';
export { discoverLedgers, storeRole, DEFAULT_LEDGER_GLOBS, type DiscoverOptions } from './discover';
export { isLockDirectory, refuseUnsafeReap } from './reap-guard';
export { withinRoot } from './confine-paths';
export { MAX_DOCUMENT_BYTES } from './bounded-read';
export { walk, SKIPPED_DIRS, VCS_DIRS, type WalkOptions, type WalkEntry } from './walk';
export {
  findAgentSessions,
  parseToolRoot,
  expandToolRoot,
  toolRootOf,
  profileForToolRoot,
  DEFAULT_TOOL_ROOTS,
  TOOL_IDS,
  type AgentSession,
  type AgentSessionsReport,
  type FindSessionsOptions,
  type ToolId,
  type ToolRoot,
} from './sessions';
export { writerLockPaths } from './ledger/ledger-lock';
export { liveWritersOf, type LiveWriter } from './ledger/live-writer';
export { claudeProjectKey } from './ledger/profiles/claude-code';
export { JSONL_PROFILE_IDS, type JsonlProfileId } from './ledger/profiles';
export type { ByteRange, LineSalvage, SalvagedLine } from './ledger/types';
