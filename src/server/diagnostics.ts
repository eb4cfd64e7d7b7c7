/**
 * Verify problems as diagnostics on the ledger file. Each carries what its quick fix needs:
 * a torn tail is repaired by truncating (bytes kept in quarantine); a damaged record in the
 * middle is quarantined on request, never truncated automatically.
 */
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type Diagnostic, DiagnosticSeverity } from 'vscode-languageserver/node';
import type { VerifyReport } from '../engine';
import { describedByDocument, LOCK_DOCUMENT_SCHEME, offersReap, type LockItem } from '../protocol';
import { shortLockName } from '../shared/lock-name';

export const DIAGNOSTIC_SOURCE = 'ledgerlock';

type ProblemFix = 'repairTail' | 'quarantineRecord';

export interface ProblemData {
  ledger: string;
  offset: number;
  fix: ProblemFix;
}

export interface LockProblemData {
  lock: string;
  fix: 'reapLock' | 'showHolder';
}

export function toDiagnostics(report: VerifyReport): Diagnostic[] {
  return report.problems.map((p) => {
    const fix: ProblemFix = isTornTail(p) ? 'repairTail' : 'quarantineRecord';
    const line = Math.max(0, (p.line ?? 1) - 1);
    const data: ProblemData = { ledger: report.path, offset: p.offset, fix };
    return {
      range: { start: { line, character: 0 }, end: { line, character: 10_000 } },
      severity: DiagnosticSeverity.Error,
      source: DIAGNOSTIC_SOURCE,
      code: p.code,
      message: fix === 'repairTail' ? `Torn tail: ${p.message}` : p.message,
      data,
    };
  });
}

function isTornTail(p: { kind: string; code: string }): boolean {
  return /torn/i.test(p.kind) || p.code === 'E_LEDGER_TORN';
}

export function fileUri(p: string): string {
  return pathToFileURL(p).href;
}

/**
 * Where a lock's problem is raised: the lock file, or for a lock VS Code cannot open as text
 * (a folder, binary content) its description document, which the extension provides.
 */
export function lockProblemUri(lockPath: string, lock: LockItem | undefined): string {
  return lock && describedByDocument(lock) ? `${LOCK_DOCUMENT_SCHEME}:${pathToFileURL(lockPath).pathname}` : fileUri(lockPath);
}

export function filePath(uri: string): string {
  return fileURLToPath(uri);
}

/**
 * A lock that needs attention, as a problem on the lock file itself: stale or orphaned (fix:
 * Reap), or contended (fix: Show Holder). Healthy and merely long-held locks have none.
 */
export function lockDiagnostics(lock: LockItem | undefined): Diagnostic[] {
  // An unknown lock is shown in the Locks view, not raised as a problem: nothing says it is one.
  if (!lock || !(offersReap(lock) || lock.state === 'contended')) return [];
  const reap = offersReap(lock);
  const data: LockProblemData = { lock: lock.path, fix: reap ? 'reapLock' : 'showHolder' };
  // A file named only `.lock` is named by its folder and tool, as the Locks view names it.
  const name = shortLockName(lock.path, lock.profile && lock.profile !== 'generic' ? lock.profile : undefined);
  return [
    {
      range: { start: { line: 0, character: 0 }, end: { line: 0, character: 10_000 } },
      severity: reap ? DiagnosticSeverity.Warning : DiagnosticSeverity.Information,
      source: DIAGNOSTIC_SOURCE,
      code: reap ? `E_LOCK_${lock.state.toUpperCase()}` : 'LOCK_CONTENDED',
      message: `${name} ${lock.state}: ${lock.reason}`,
      data,
    },
  ];
}
