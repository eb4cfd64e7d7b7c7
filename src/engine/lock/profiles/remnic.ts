/**
 * remnic (`@remnic/core` withHeldFileLock): `<file>.lock` beside the file it guards (its
 * memory-lifecycle ledger among them), one line `<pid> <owner-uuid> <iso>`, mtime refreshed as a
 * heartbeat while held. Its own rule: stale when the mtime is older than the caller's window
 * (30 s for its ledgers). The pid rules run first, so a dead holder is stale at once.
 */
import * as path from 'node:path';
import type { LockHolderInfo } from '../holder';
import { formatAge } from '../timing';
import type { GuardLock, LockProfile, LockSubject } from './types';

const REMNIC_LINE = /^(\d{1,10}) ([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}) (\d{4}-\d{2}-\d{2}T[0-9:.]+Z)\s*$/i;

function parseRemnicLine(content: Buffer | null): { pid: number; owner: string; at: string } | undefined {
  if (content === null || content.length === 0 || content.length > 256) return undefined;
  const m = REMNIC_LINE.exec(content.toString('utf8'));
  if (!m) return undefined;
  const pid = Number(m[1]);
  const at = Date.parse(m[3]!);
  if (!Number.isSafeInteger(pid) || pid <= 0 || pid > 2 ** 31 - 1 || !Number.isFinite(at)) return undefined;
  return { pid, owner: m[2]!, at: new Date(at).toISOString() };
}

/**
 * remnic creates its lock with an exclusive open and writes the line after: a writer killed in
 * between leaves an empty `<file>.lock`. Under a `.remnic` folder, beside the file it guards,
 * that empty file is remnic's too.
 */
function emptyRemnicLock(s: LockSubject): boolean {
  if (s.type !== 'file' || s.bytes !== 0 || !s.path.endsWith('.lock')) return false;
  return s.path.split(path.sep).includes('.remnic');
}

export const remnicProfile: LockProfile = {
  id: 'remnic',
  tool: 'remnic',
  // It touches a held lock well inside the caller's window (30 s for its ledgers).
  heartbeatMs: 10_000,
  recognise: (s) => s.type === 'file' && (parseRemnicLine(s.content) !== undefined || emptyRemnicLock(s)),
  holder(s): LockHolderInfo | null {
    const line = parseRemnicLine(s.content);
    return line ? { pid: line.pid, owner: line.owner, acquiredAt: line.at, tool: 'remnic' } : null;
  },
  rule(s, facts) {
    // An empty lock names nobody: the generic rule for a writer that stopped between creating
    // and writing it decides (with the file's open handles as the witness).
    if (!facts.osSaysFree || facts.holder?.pid !== undefined || s.bytes === 0) return undefined;
    return facts.heartbeatAgeMs > facts.staleMs
      ? { state: 'orphaned', reason: `remnic lock whose heartbeat stopped ${formatAge(facts.heartbeatAgeMs)} ago (stale after ${formatAge(facts.staleMs)})` }
      : undefined;
  },
  guards: (s) => (s.path.endsWith('.lock') ? s.path.slice(0, -'.lock'.length) : undefined),
};

/**
 * A JSONL ledger outside any store is written under `<ledger>.lock`, remnic's convention and
 * Ledgerlock's for foreign ledgers. remnic never parses that file (it compares its own line
 * byte for byte and judges others by mtime), so Ledgerlock writes its own JSON record there:
 * a record torn by a power loss then fails to parse, where a torn `<pid> …` line could name
 * another, live, pid.
 */
export function besideLedgerGuard(ledgerPath: string): GuardLock {
  return {
    path: `${ledgerPath}.lock`,
    profile: 'remnic',
    tool: 'remnic',
    content: (self, token) =>
      Buffer.from(
        JSON.stringify({
          format: 'ledgerlock-lock',
          version: 1,
          pid: self.pid,
          host: self.host,
          owner: token,
          tool: 'ledgerlock repair',
          acquiredAt: new Date().toISOString(),
        }) + '\n',
      ),
  };
}
