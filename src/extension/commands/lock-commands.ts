/**
 * Lock commands: reap a stale lock, remove an unknown one after a person has read why, and show
 * who holds a lock and why Ledgerlock thinks so.
 */
import * as vscode from 'vscode';
import { type ActionResult, describedByDocument, type LockItem, offersReap, ReapLockRequest } from '../../protocol';
import { lockDocumentUri } from '../lock-documents';
import { withProgress } from '../feedback';
import {
  baseName,
  formatAge,
  holderWords,
  localTimes,
  lockAgeNow,
  lockName,
  lockSentence,
  plural,
  profileName,
  reasonNow,
  relativePath,
  whenWords,
} from '../format';
import { pathOf, pickLock, whereKept } from '../targets';
import { unknownBlindSpots } from '../views/locks-view';
import { type Command, type CommandContext, type CommandOptions, confirm, report, request } from './command';

const EVIDENCE_ICONS: Record<string, string> = {
  pid: 'pulse',
  flock: 'lock',
  posix: 'lock',
  ofd: 'lock',
  open: 'file-binary',
  waiter: 'watch',
  heartbeat: 'history',
  content: 'file-code',
  probe: 'search',
  vantage: 'eye-closed',
};

async function reapLock(ctx: CommandContext, arg?: unknown, options?: CommandOptions): Promise<ActionResult | undefined> {
  const { state } = ctx;
  const lock = await pickLock(state, arg, offersReap, 'Which stale lock should be reaped?');
  if (!lock) return undefined;
  const known = state.findLock(lock);
  // Offered while stale, clicked after it cleared (or it is unknown): no question to ask; the server's answer says so quietly.
  const cleared = state.complete && (!known || !offersReap(known));
  const ok =
    cleared ||
    (await confirm(
      options,
      `Reap ${known ? lockName(known) : baseName(lock)}?`,
      `${known ? `${lockSentence(known)}. Holder: ${holderWords(known)}.\n\n` : ''}The lock file is removed so others can take the lock; its bytes are kept in ${whereKept(lock)} and the reap is listed under Recoveries. A live holder is never broken: if it turns out to be alive, nothing changes.`,
      'Reap',
    ));
  if (!ok) return undefined;
  return report(ctx, await withProgress(`Reaping ${known ? lockName(known) : baseName(lock)}…`, () => request(ctx, ReapLockRequest.type, { lock })));
}

/**
 * Removes a lock nothing the server can see decides (state `unknown`), after a modal that
 * says what is unknown and what removing it risks. Never offered for any other state; the
 * server still refuses a holder it can see.
 */
async function removeUnknownLock(ctx: CommandContext, arg?: unknown, options?: CommandOptions): Promise<ActionResult | undefined> {
  const { state } = ctx;
  const lock = pathOf(arg) ?? ctx.locks.selectedUnknown()?.path;
  if (!lock) {
    void vscode.window.showInformationMessage('Ledgerlock: choose an unknown lock in the Locks view to remove it.');
    return undefined;
  }
  const known = state.findLock(lock);
  if (!known || known.state !== 'unknown') {
    // Decided meanwhile (released, reaped, or now seen held or stale): nothing unknown to confirm.
    const now = known ? `it is ${known.state} now: ${reasonNow(known)}` : 'it is gone (released or reaped meanwhile)';
    return report(ctx, { ok: true, cleared: true, message: `${known ? lockName(known) : baseName(lock)} is no longer unknown; ${now}.` });
  }
  const ok = await confirm(
    options,
    `Remove ${lockName(known)} anyway?`,
    unknownRemovalDetail(known, state.vantage?.blindSpots ?? [], state.inContainer),
    'Remove Lock',
  );
  if (!ok) return undefined;
  return report(ctx, await withProgress(`Removing ${lockName(known)}…`, () => request(ctx, ReapLockRequest.type, { lock, confirmUnknown: true })));
}

/** The modal's words: what is unknown, what cannot be seen, and what removing it risks. */
function unknownRemovalDetail(lock: LockItem, serverBlindSpots: readonly string[], inContainer: boolean): string {
  const unseen = unknownBlindSpots(lock, serverBlindSpots);
  const sentence = (s: string) => (/[.!?]$/.test(s) ? s : `${s}.`);
  const who = inContainer ? 'a process outside this container' : 'a process Ledgerlock cannot see';
  return [
    `Ledgerlock cannot tell whether this lock is held. ${sentence(reasonNow(lock))}`,
    // Said once: an empty file's reason already ends with what cannot be seen.
    unseen.some((b) => !lock.reason.includes(b)) ? `What it cannot see from here: ${sentence(unseen.join('; '))}` : '',
    `Holder: ${holderWords(lock)}.`,
    `If ${who} still holds it, two holders will run at once. Remove it only if you know its holder is gone. A holder Ledgerlock can see is never broken: then nothing changes.`,
  ]
    .filter(Boolean)
    .join('\n\n');
}

/** Reveals the lock in its view and lists what its verdict rests on, one fact a row, with what can be done from here. */
async function showHolder(ctx: CommandContext, arg?: unknown): Promise<void> {
  const lockPath = pathOf(arg);
  const node = lockPath ? ctx.locks.nodeOf(lockPath) : undefined;
  if (!node) {
    if (lockPath) vscode.window.setStatusBarMessage(`$(info) Ledgerlock: ${baseName(lockPath)} is no longer there (released or reaped meanwhile).`, 10_000);
    return;
  }
  await vscode.commands.executeCommand('workbench.view.extension.ledgerlock');
  await ctx.locks.view.reveal(node, { select: true, focus: true, expand: true });
  const lock = node.lock;
  const holder = lock.holder;
  const line = `${lockName(lock)} ${lock.state}, held ${formatAge(lockAgeNow(lock))} by ${holderWords(lock)}${holder?.owner ? `, owner ${holder.owner}` : ''}${holder?.acquiredAt ? `, since ${whenWords(holder.acquiredAt)}` : ''} — ${reasonNow(lock)}`;
  ctx.log.info(
    `holder: ${line}${(lock.evidence ?? [])
      .filter((e) => e.kind !== 'heartbeat')
      .map((e) => ` — evidence: ${localTimes(e.detail)}`)
      .join('')}`,
  );
  type Row = vscode.QuickPickItem & { run?: () => unknown };
  const facts: Row[] = [
    {
      label: `$(person) ${holderWords(lock)}`,
      ...(holder?.acquiredAt ? { description: `since ${whenWords(holder.acquiredAt)}` } : {}),
      detail: reasonNow(lock),
    },
    ...(lock.evidence ?? []).map((e) => ({ label: `$(${EVIDENCE_ICONS[e.kind] ?? 'info'}) ${localTimes(e.detail)}`, description: e.kind })),
    ...(lock.guards
      ? [
          {
            label: `$(file) Open the file it guards`,
            description: vscode.workspace.asRelativePath(lock.guards),
            run: () => vscode.window.showTextDocument(vscode.Uri.file(lock.guards!)),
          },
        ]
      : []),
    {
      label: describedByDocument(lock) ? '$(go-to-file) Open what is known of the lock' : '$(go-to-file) Open the lock file',
      run: () => openLock(ctx, lock.path),
    },
    // Through the commands, so the restricted-mode refusal applies as from anywhere else.
    ...(offersReap(lock) ? [{ label: `$(unlock) Reap ${lockName(lock)}`, run: () => vscode.commands.executeCommand('ledgerlock.reapLock', lock.path) }] : []),
    ...(lock.state === 'unknown' && vscode.workspace.isTrusted
      ? [
          {
            label: `$(trash) Remove ${lockName(lock)} anyway…`,
            description: 'Ledgerlock cannot see whether its holder is alive',
            run: () => vscode.commands.executeCommand('ledgerlock.removeUnknownLock', lock.path),
          },
        ]
      : []),
  ];
  const picked = await vscode.window.showQuickPick(facts, {
    title: `${lockName(lock)} — ${lock.state}${lock.profile && profileName(lock.profile) ? ` (judged by ${profileName(lock.profile)}'s rules)` : ''}`,
    placeHolder: 'Who holds this lock, and why Ledgerlock thinks so',
  });
  await picked?.run?.();
}

/**
 * Reaps every lock offered for reaping, after one modal that lists them; each is judged again
 * by the server before it goes, so one taken meanwhile is left alone and said so.
 */
async function reapAllStaleLocks(ctx: CommandContext, _arg?: unknown, options?: CommandOptions): Promise<ActionResult | undefined> {
  const stale = ctx.state.locks().filter(offersReap);
  if (stale.length === 0) {
    void vscode.window.showInformationMessage('Ledgerlock: no stale locks to reap.');
    return undefined;
  }
  const listed = stale.map((l) => `• ${lockName(l).includes('/') ? lockName(l) : relativePath(l.path)} (${l.state}): ${reasonNow(l)}`).join('\n');
  const places = [...new Set(stale.map((l) => whereKept(l.path)))].join('; ');
  const ok = await confirm(
    options,
    `Reap ${plural(stale.length, 'stale lock')}?`,
    `${listed}\n\nEach is judged again just before it is removed; a live holder is never broken. Their bytes are kept in ${places}, and each reap is listed under Recoveries.`,
    'Reap All',
  );
  if (!ok) return undefined;
  const results = await withProgress(`Reaping ${plural(stale.length, 'stale lock')}…`, async () => {
    const done: [LockItem, ActionResult][] = [];
    for (const l of stale) done.push([l, await request(ctx, ReapLockRequest.type, { lock: l.path })]);
    return done;
  });
  const reaped = results.filter(([, r]) => r.ok && !r.cleared).map(([l]) => lockName(l));
  const left = results.filter(([, r]) => !r.ok || r.cleared).map(([l, r]) => `${lockName(l)} (${r.message})`);
  const keptAt = results.find(([, r]) => r.keptAt !== undefined)?.[1].keptAt;
  const message = `Reaped ${reaped.length} of ${plural(stale.length, 'stale lock')}${reaped.length > 0 ? `: ${reaped.join(', ')}` : ''}.${left.length > 0 ? ` Left alone: ${left.join('; ')}` : ''}`;
  return report(ctx, { ok: results.every(([, r]) => r.ok), message, ...(keptAt !== undefined ? { keptAt } : {}) });
}

/** Reveal in Explorer, Copy Path and Open for a lock row (a lock folder or binary lock opens its description). */
async function revealLock(_ctx: CommandContext, arg?: unknown): Promise<void> {
  const lock = pathOf(arg);
  if (lock) await vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(lock));
}

async function copyLockPath(_ctx: CommandContext, arg?: unknown): Promise<void> {
  const lock = pathOf(arg);
  if (lock) await vscode.env.clipboard.writeText(lock);
}

async function openLock(ctx: CommandContext, arg?: unknown): Promise<void> {
  const lock = pathOf(arg);
  if (!lock) return;
  const known = ctx.state.findLock(lock);
  // A lock folder or binary content would open as "not displayed": its description says what it is and what can be done.
  const uri = !known || describedByDocument(known) ? lockDocumentUri(lock) : vscode.Uri.file(lock);
  await vscode.commands.executeCommand('vscode.open', uri, { preview: true });
}

export const LOCK_COMMANDS: readonly Command[] = [
  { id: 'ledgerlock.reapLock', changesFiles: 'Reap Lock', run: reapLock },
  { id: 'ledgerlock.reapAllStaleLocks', changesFiles: 'Reap All Stale Locks', run: reapAllStaleLocks },
  { id: 'ledgerlock.revealLockInExplorer', run: revealLock },
  { id: 'ledgerlock.copyLockPath', run: copyLockPath },
  { id: 'ledgerlock.openLock', run: openLock },
  { id: 'ledgerlock.removeUnknownLock', changesFiles: 'Remove Lock Anyway', run: removeUnknownLock },
  { id: 'ledgerlock.showHolder', run: showHolder },
];
