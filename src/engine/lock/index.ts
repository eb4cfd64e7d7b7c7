/** Cross-process locks: inspect and list (read-only), acquire/withLock, and reap (stale only). */
export { acquireLock, acquireLockSync, withLock, withLockSync, type AcquireOptions } from './acquire';
export { describeLockHolder, judgeLock, type JudgeContext, type LockEvidence, type LockInfo, type LockObservation, type LockState } from './classify';
export { DEPENDENCY_LOCKFILES, isDependencyLockfile } from './dependency-lockfiles';
export type { LockHandle } from './handle';
export {
  describeHolder,
  LOCK_FORMAT,
  MAX_LOCK_BYTES,
  NativeLockSchema,
  parseLockContent,
  parseNativeLock,
  type LockHolderInfo,
  type LockKind,
  type NativeLock,
  type ParsedLock,
} from './holder';
export { inspectLock, inspectLocks, type KernelLockMemory } from './inspect';
export { collectOsEvidence, parseProcLocks, type KernelLock, type OsEvidence } from './os-evidence';
export { ledgerGuardFor, profileFor, PROFILE_IDS, type GuardLock, type ProfileId } from './profiles';
export { listLocks, type ListLocksOptions } from './list';
export { isProcessAlive, judgeNamedProcess, processStart, systemProcessView, type NamedProcess, type ProcessStart, type ProcessVerdict } from './process';
export { currentVantage, vantageSummary, type Vantage } from './vantage';
export { reapLock, type ReapOptions, type ReapResult } from './reap';
export { verdictChangesIn } from './recheck';
export { DEFAULT_CONTENTION_MS, DEFAULT_STALE_MS, EMPTY_LOCK_GRACE_MS, formatAge, type LockTiming } from './timing';
