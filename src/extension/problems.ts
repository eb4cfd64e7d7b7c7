/**
 * What needs the person's attention, as one list: the status bar, the summary notification
 * and "Show Fixes" all read it, so each condition has one name, one word and one fix.
 */
import { offersReap, type LedgerItem, type LockItem } from '../protocol';
import { baseName, localTimes, lockName, lockSentence, plural } from './format';
import type { ServerState } from './server-state';
import { snapshotTrouble } from './snapshot-trouble';

/** Each kind has its own notification setting and its own "Don't Show Again". */
export type ProblemKind = 'tornTail' | 'corruptLedger' | 'staleLock' | 'contention' | 'snapshot';

export interface Problem {
  kind: ProblemKind;
  /** Identifies the condition: the same key means the same condition, already announced. */
  key: string;
  /** Workspace folder URI (settings are read per folder). */
  folder: string;
  severity: 'error' | 'warning';
  /** The file the problem is about (a ledger, a lock), when there is one. */
  path?: string;
  /** "events.jsonl torn", "build.lock stale" — short, for the status bar. */
  short: string;
  /** One sentence, for tooltips, notifications and the quick pick. */
  sentence: string;
  /** For a lock: the facts its verdict rests on, for the status-bar tooltip. */
  evidence?: string | undefined;
  /** What it is, in the word the views use: ['stale lock', 'stale locks'], ['orphaned lock', …]. */
  noun: [string, string];
  /** `button`: the notification's short action word. */
  fix: { label: string; button: string; icon: string; command: string; args: unknown[] };
}

/** The notification setting (`ledgerlock.notifications.*`) that governs each kind. */
export const NOTIFICATION_SETTING: Record<ProblemKind, string | undefined> = {
  tornTail: 'tornTail',
  corruptLedger: 'tornTail',
  staleLock: 'staleLock',
  contention: 'contention',
  snapshot: undefined,
};

export function isLedgerProblem(ledger: LedgerItem): boolean {
  return ledger.health === 'torn' || ledger.health === 'corrupt';
}

/**
 * A lock needs attention when it can be reaped, or when someone is waiting for it. An unknown
 * lock is neither: it is shown in the Locks view, never announced (README "In VS Code").
 */
export function isLockProblem(lock: LockItem): boolean {
  return offersReap(lock) || lock.state === 'contended';
}

export function problemsOf(state: ServerState): Problem[] {
  const out: Problem[] = [];
  // With several folders open, two folders' "events.jsonl is torn" must not read the same:
  // every sentence, short form and fix names its folder.
  const folders = state.snapshot.folders;
  const names = new Map(folders.map((f) => [f.uri, f.name]));
  const multi = folders.length > 1;
  const inFolder = (uri: string, text: string): string => (multi && names.has(uri) ? `${names.get(uri)}: ${text}` : text);
  const fixIn = (uri: string, label: string): string => (multi && names.has(uri) ? `${label} in ${names.get(uri)}` : label);
  for (const l of state.ledgers().filter(isLedgerProblem)) {
    const torn = l.health === 'torn';
    out.push({
      kind: torn ? 'tornTail' : 'corruptLedger',
      key: `${l.health}:${l.path}`,
      folder: l.folder,
      severity: 'error',
      path: l.path,
      short: inFolder(l.folder, `${baseName(l.path)} ${l.health}`),
      noun: [`${l.health} ledger`, `${l.health} ledgers`],
      sentence: inFolder(
        l.folder,
        torn
          ? `${baseName(l.path)} is torn: ${l.problems[0] ?? 'its last record is incomplete'}.`
          : `${baseName(l.path)} is corrupt: ${l.problems[0] ?? 'a damaged record'}${l.problems.length > 1 ? ` and ${plural(l.problems.length - 1, 'more problem')}` : ''}.`,
      ),
      fix: torn
        ? { label: fixIn(l.folder, `Repair tail of ${baseName(l.path)}`), button: 'Repair', icon: 'tools', command: 'ledgerlock.repairTail', args: [l.path] }
        : {
            label: fixIn(l.folder, `Open ${baseName(l.path)} at the damaged record`),
            button: 'Open',
            icon: 'go-to-file',
            command: 'ledgerlock.openLedgerProblem',
            args: [l.path],
          },
    });
  }
  for (const l of state.locks().filter(isLockProblem)) {
    const reap = offersReap(l);
    out.push({
      kind: reap ? 'staleLock' : 'contention',
      // A new holder (pid, start time) is a new condition, announced again.
      key: `${l.state}:${l.path}:${l.holder?.pid ?? ''}:${l.holder?.acquiredAt ?? ''}`,
      folder: l.folder,
      severity: 'warning',
      path: l.path,
      short: inFolder(l.folder, `${lockName(l)} ${l.state}`),
      noun: [`${l.state} lock`, `${l.state} locks`],
      sentence: inFolder(l.folder, `${lockSentence(l)}.`),
      evidence: newFacts(lockSentence(l), l.evidence ?? []),
      fix: reap
        ? { label: fixIn(l.folder, `Reap ${lockName(l)}`), button: 'Reap', icon: 'unlock', command: 'ledgerlock.reapLock', args: [l.path] }
        : {
            label: fixIn(l.folder, `Show holder of ${lockName(l)}`),
            button: 'Show Holder',
            icon: 'person',
            command: 'ledgerlock.showHolder',
            args: [l.path],
          },
    });
  }
  for (const folder of state.damagedSnapshotFolders()) {
    const lines = snapshotTrouble(state).filter(Boolean);
    out.push({
      kind: 'snapshot',
      key: `snapshot:${folder.uri}:${folder.problems.map((p) => p.hash).join(',')}:${folder.unreadable.length}`,
      folder: folder.uri,
      severity: 'error',
      short: lines[0] ?? `snapshots of ${folder.name} damaged`,
      noun: ['snapshot problem', 'snapshot problems'],
      sentence: `${lines.join('; ')}.`,
      fix: { label: `Verify the snapshots of ${folder.name}`, button: 'Verify', icon: 'check-all', command: 'ledgerlock.verifySnapshot', args: [folder.uri] },
    });
  }
  return out;
}

/**
 * The evidence a lock's sentence does not already say, for the status-bar tooltip: each reason
 * is stated once (the heartbeat's age and a dead pid are in the sentence already).
 */
function newFacts(sentence: string, evidence: NonNullable<LockItem['evidence']>): string | undefined {
  const plain = (t: string) =>
    t
      .toLowerCase()
      .replace(/[\d.,]+/g, '#')
      .replace(/\s+/g, ' ');
  const said = plain(sentence);
  const facts = evidence
    .filter((e) => e.kind !== 'heartbeat')
    .filter((e) => !(e.kind === 'pid' && e.pid !== undefined && sentence.includes(`pid ${e.pid}`)))
    .map((e) => localTimes(e.detail))
    // Said already when the sentence holds it whole, or opens the same way ("no process holds it" / "no process holds a kernel lock…").
    .filter((d) => !said.includes(plain(d).replace(/[.;]$/, '')) && !said.includes(plain(d).split(' ').slice(0, 3).join(' ')));
  return [...new Set(facts)].join('; ') || undefined;
}

/** "1 torn ledger, 2 stale locks" — what and how many, in the views' words, worst first. */
export function countByKind(problems: Problem[]): string {
  const order: ProblemKind[] = ['tornTail', 'corruptLedger', 'snapshot', 'staleLock', 'contention'];
  const counts = new Map<string, { noun: [string, string]; n: number; rank: number }>();
  for (const p of problems) {
    const key = p.noun[0];
    const c = counts.get(key) ?? { noun: p.noun, n: 0, rank: order.indexOf(p.kind) };
    c.n++;
    counts.set(key, c);
  }
  return [...counts.values()]
    .sort((a, b) => a.rank - b.rank)
    .map((c) => `${c.n.toLocaleString('en-US')} ${c.noun[c.n === 1 ? 0 : 1]}`)
    .join(', ');
}
