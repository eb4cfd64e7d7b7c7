/** The known producers' profiles, in the order they are tried; the first that recognises a lock wins. */
import * as path from 'node:path';
import { STORE_DIR_NAME } from '../../store';
import { authmuxProfile } from './authmux';
import { claudeFlowLedgerGuard, claudeFlowProfile } from './claude-flow';
import { gitProfile } from './git';
import { hardkasLedgerGuard, hardkasProfile } from './hardkas';
import { ledgerlockProfile } from './ledgerlock';
import { properLockfileProfile } from './proper-lockfile';
import { besideLedgerGuard, remnicProfile } from './remnic';
import type { GuardLock, LockProfile, LockSubject, ProfileId } from './types';

export type { GuardLock, LockProfile, LockSubject, ProfileId, RuleFacts } from './types';
export { gitDirOf } from './git';

/** Content first (a file that says who wrote it), then layout. */
const PROFILES: readonly LockProfile[] = [
  ledgerlockProfile,
  hardkasProfile,
  claudeFlowProfile,
  authmuxProfile,
  remnicProfile,
  gitProfile,
  properLockfileProfile,
];

export const PROFILE_IDS: readonly ProfileId[] = ['ledgerlock', 'hardkas', 'authmux', 'claude-flow', 'remnic', 'proper-lockfile', 'git', 'flock', 'generic'];

/** The profile a verdict named. */
export function profileById(id: ProfileId): LockProfile | undefined {
  return PROFILES.find((p) => p.id === id);
}

/** The profile that recognises `subject`; undefined for an unknown producer (the generic rules). */
export function profileFor(subject: LockSubject): LockProfile | undefined {
  for (const profile of PROFILES) {
    try {
      if (profile.recognise(subject)) return profile;
    } catch {
      // a profile that cannot read this lock does not recognise it
    }
  }
  return undefined;
}

/**
 * The lock a foreign ledger's own writer takes, so repairing it excludes that writer exactly as
 * the writer excludes itself. Ledgers inside a Ledgerlock store use the store's locks instead.
 */
export function ledgerGuardFor(ledgerPath: string): GuardLock {
  const file = path.resolve(ledgerPath);
  if (file.split(path.sep).includes(STORE_DIR_NAME)) throw new Error(`${file} is in a Ledgerlock store; its lock is the store's`);
  return hardkasLedgerGuard(file) ?? claudeFlowLedgerGuard(file) ?? besideLedgerGuard(file);
}
