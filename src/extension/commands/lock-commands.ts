/**
 * The Ledgerlock commands. Destructive ones (repair, quarantine, reap, remove an unknown lock,
 * compact) are refused in restricted mode, confirm with a modal, and show progress while the
 * server works.
 * Each returns the server's result so callers (and tests) can see what happened.
 */
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { reportResult, withCancellableProgress, withProgress } from './feedback';
import {
  type ActionResult,
  CompactLedgerRequest,
  type LockItem,
  offersReap,
  QuarantineRecordRequest,
  ReapLockRequest,
  ProgressNotification,
  RefreshRequest,
  RepairTailRequest,
  SnapshotsRequest,
  VerifyLedgerRequest,
} from '../protocol';
import { eventUri } from './event-documents';
import { baseName, formatAge, holderWords, lockSentence, profileName } from './format';
import { problemsOf } from './problems';
import type { ServerState } from './server-state';
import { pathOf, pickLedger, pickLock } from './targets';
import { refuseIfUntrusted } from './trust';
import { EventNode, type LedgersView } from './views/ledgers-view';
import { unknownBlindSpots, type LocksView } from './views/locks-view';
import { RecoveryNode } from './views/recoveries-view';

/** Programmatic callers that already asked the person (or tests) may skip the modal. */
export interface CommandOptions {
  confirmed?: boolean;
}

const EVIDENCE_ICONS: Record<string, string> = { pid: 'pulse', flock: 'lock', posix: 'lock', ofd: 'lock', open: 'file-binary', waiter: 'watch', heartbeat: 'history', content: 'file-code', probe: 'search', vantage: 'eye-closed' };

export interface CommandContext {
  client: () => LanguageClient | undefined;
  state: ServerState;
  log: vscode.LogOutputChannel;
  locks: LocksView;
  ledgers: LedgersView;
}

export function registerCommands(ctx: CommandContext): vscode.Disposable[] {
  const { state, log } = ctx;
  const request = async <P, R>(type: import('vscode-languageclient').RequestType<P, R, void>, params: P): Promise<R> => {
    const client = ctx.client();
    if (!client) throw new Error('the Ledgerlock server is not running');
    return client.sendRequest(type, params);
  };

  const confirm = async (options: CommandOptions | undefined, message: string, detail: string, action: string): Promise<boolean> => {
    if (options?.confirmed) return true;
    const choice = await vscode.window.showWarningMessage(message, { modal: true, detail }, action);
    return choice === action;
  };

  const report = <T extends ActionResult>(result: T): T => reportResult(log, result);

  async function repairTail(arg?: unknown, options?: CommandOptions): Promise<ActionResult | undefined> {
    if (refuseIfUntrusted('Repair Tail')) return { ok: false, code: 'E_UNTRUSTED', message: 'refused in restricted mode' };
    const ledger = await pickLedger(state, arg, (l) => l.health === 'torn', 'Which ledger should be repaired?');
    if (!ledger) return undefined;
    const known = state.findLedger(ledger);
    const cleared = known !== undefined && known.health !== 'torn';
    const ok = cleared || await confirm(options, `Repair the torn tail of ${baseName(ledger)}?`,
      'The incomplete last record is cut off at the last valid record boundary. The cut bytes are kept in the store\'s quarantine folder, never deleted.', 'Repair');
    if (!ok) return undefined;
    return report(await withProgress(`Repairing ${baseName(ledger)}…`, () => request(RepairTailRequest.type, { ledger })));
  }

  async function quarantineRecord(arg?: unknown, offset?: number, options?: CommandOptions): Promise<ActionResult | undefined> {
    if (refuseIfUntrusted('Quarantine Record')) return { ok: false, code: 'E_UNTRUSTED', message: 'refused in restricted mode' };
    const ledger = pathOf(arg);
    if (!ledger || typeof offset !== 'number') return undefined;
    const ok = await confirm(options, `Quarantine the damaged record at byte ${offset} of ${baseName(ledger)}?`,
      'The ledger is rewritten atomically without that record; the original bytes are kept in quarantine.', 'Quarantine');
    if (!ok) return undefined;
    return report(await withProgress(`Quarantining a record of ${baseName(ledger)}…`, () => request(QuarantineRecordRequest.type, { ledger, offset })));
  }

  async function reapLock(arg?: unknown, options?: CommandOptions): Promise<ActionResult | undefined> {
    if (refuseIfUntrusted('Reap Lock')) return { ok: false, code: 'E_UNTRUSTED', message: 'refused in restricted mode' };
    const lock = await pickLock(state, arg, offersReap, 'Which stale lock should be reaped?');
    if (!lock) return undefined;
    const known = state.findLock(lock);
    // Offered while stale, clicked after it cleared (or it is unknown): no question to ask; the server's answer says so quietly.
    const cleared = state.complete && (!known || !offersReap(known));
    const ok = cleared || await confirm(options, `Reap ${baseName(lock)}?`,
      `${known ? `${lockSentence(known)}. Holder: ${holderWords(known)}.\n\n` : ''}The lock file is removed so others can take the lock. A live holder is never broken: if it turns out to be alive, nothing changes.`, 'Reap');
    if (!ok) return undefined;
    return report(await withProgress(`Reaping ${baseName(lock)}…`, () => request(ReapLockRequest.type, { lock })));
  }

  /**
   * Removes a lock nothing the server can see decides (state `unknown`), after a modal that
   * says what is unknown and what removing it risks. Never offered for any other state; the
   * server still refuses a holder it can see.
   */
  async function removeUnknownLock(arg?: unknown, options?: CommandOptions): Promise<ActionResult | undefined> {
    if (refuseIfUntrusted('Remove Lock Anyway')) return { ok: false, code: 'E_UNTRUSTED', message: 'refused in restricted mode' };
    const lock = pathOf(arg) ?? ctx.locks.selectedUnknown()?.path;
    if (!lock) {
      void vscode.window.showInformationMessage('Ledgerlock: choose an unknown lock in the Locks view to remove it.');
      return undefined;
    }
    const known = state.findLock(lock);
    if (!known || known.state !== 'unknown') {
      // Decided meanwhile (released, reaped, or now seen held or stale): nothing unknown to confirm.
      const now = known ? `it is ${known.state} now: ${known.reason}` : 'it is gone (released or reaped meanwhile)';
      return report({ ok: true, cleared: true, message: `${baseName(lock)} is no longer unknown; ${now}.` });
    }
    const ok = await confirm(options, `Remove ${baseName(lock)} anyway?`, unknownRemovalDetail(known, state.vantage?.blindSpots ?? [], state.inContainer), 'Remove Lock');
    if (!ok) return undefined;
    return report(await withProgress(`Removing ${baseName(lock)}…`, () => request(ReapLockRequest.type, { lock, confirmUnknown: true })));
  }

  async function compactLedger(arg?: unknown, keepArg?: number, options?: CommandOptions): Promise<ActionResult | undefined> {
    if (refuseIfUntrusted('Compact Ledger')) return { ok: false, code: 'E_UNTRUSTED', message: 'refused in restricted mode' };
    const ledger = await pickLedger(state, arg, () => false, 'Which ledger should be compacted?');
    if (!ledger) return undefined;
    let keep = keepArg;
    if (keep === undefined) {
      const input = await vscode.window.showInputBox({
        title: `Compact ${baseName(ledger)}`,
        prompt: 'Keep how many of the newest events? Ids stay unchanged.',
        value: '1000',
        validateInput: (v) => (/^\d+$/.test(v.trim()) && Number(v) > 0 ? undefined : 'A positive whole number'),
      });
      if (input === undefined) return undefined;
      keep = Number(input.trim());
    }
    const ok = await confirm(options, `Compact ${baseName(ledger)} to its newest ${keep} events?`,
      'Older events are dropped; the ledger is rewritten atomically under its lock and the compaction is recorded in Recoveries.', 'Compact');
    if (!ok) return undefined;
    return report(await withProgress(`Compacting ${baseName(ledger)}…`, () => request(CompactLedgerRequest.type, { ledger, keep: keep! })));
  }

  async function verifyLedger(arg?: unknown): Promise<ActionResult | undefined> {
    const ledger = await pickLedger(state, arg, () => false, 'Which ledger should be verified?');
    if (!ledger) return undefined;
    const token = `verify-${Date.now()}-${Math.random().toString(36).slice(2)}`;
    const result = await withCancellableProgress(`Verifying ${baseName(ledger)}…`, async (progress, cancel) => {
      let last = 0;
      const sub = ctx.client()?.onNotification(ProgressNotification.type, (p) => {
        if (p.token !== token || p.percent === undefined) return;
        progress.report({ increment: Math.max(0, p.percent - last) });
        last = p.percent;
      });
      try {
        const client = ctx.client();
        if (!client) throw new Error('the Ledgerlock server is not running');
        return await client.sendRequest(VerifyLedgerRequest.type, { ledger, progressToken: token }, cancel);
      } catch (err) {
        if (cancel.isCancellationRequested) return { ok: false, code: 'E_ABORTED', message: `verify of ${baseName(ledger)} cancelled`, health: 'unknown' as const, events: 0 };
        throw err;
      } finally {
        sub?.dispose();
      }
    });
    if (result.code === 'E_ABORTED') result.message = `verify of ${baseName(ledger)} cancelled`;
    return report(result);
  }

  async function openEvent(arg?: unknown): Promise<vscode.TextDocument | undefined> {
    let ledger: string | undefined;
    let id: string | undefined;
    if (arg instanceof EventNode) [ledger, id] = [arg.ledger, String(arg.event.id)];
    else if (arg instanceof RecoveryNode) [ledger, id] = [arg.recovery.source, String(arg.recovery.id)];
    else if (arg && typeof arg === 'object' && 'ledger' in arg && 'id' in arg) {
      const a = arg as { ledger: unknown; id: unknown };
      [ledger, id] = [pathOf(a.ledger), String(a.id)];
    }
    if (!ledger || id === undefined) {
      void vscode.window.showInformationMessage('Ledgerlock: choose an event in the Ledgers or Recoveries view to open it.');
      return undefined;
    }
    const doc = await vscode.workspace.openTextDocument(eventUri(ledger, id));
    await vscode.languages.setTextDocumentLanguage(doc, 'json');
    await vscode.window.showTextDocument(doc, { preview: true });
    return doc;
  }

  async function refresh(): Promise<void> {
    await vscode.window.withProgress({ location: { viewId: 'ledgerlock.locks' } }, async () => {
      const client = ctx.client();
      if (!client) return;
      state.update(await client.sendRequest(RefreshRequest.type));
      state.updateSnapshots(await client.sendRequest(SnapshotsRequest.type));
      state.fireRecoveriesChanged();
    });
  }

  async function showHolder(arg?: unknown): Promise<void> {
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
    const line = `${baseName(lock.path)} ${lock.state}, held ${formatAge(lock.ageMs)} by ${holderWords(lock)}${holder?.owner ? `, owner ${holder.owner}` : ''}${holder?.acquiredAt ? `, since ${holder.acquiredAt}` : ''} — ${lock.reason}`;
    log.info(`holder: ${line}${(lock.evidence ?? []).filter((e) => e.kind !== 'heartbeat').map((e) => ` — evidence: ${e.detail}`).join('')}`);
    // What the verdict rests on, one fact a row, with what can be done from here.
    type Row = vscode.QuickPickItem & { run?: () => unknown };
    const facts: Row[] = [
      { label: `$(person) ${holderWords(lock)}`, description: holder?.acquiredAt ? `since ${holder.acquiredAt}` : undefined, detail: lock.reason },
      ...(lock.evidence ?? []).map((e) => ({ label: `$(${EVIDENCE_ICONS[e.kind] ?? 'info'}) ${e.detail}`, description: e.kind })),
      ...(lock.guards ? [{ label: `$(file) Open the file it guards`, description: vscode.workspace.asRelativePath(lock.guards), run: () => vscode.window.showTextDocument(vscode.Uri.file(lock.guards!)) }] : []),
      ...(lock.kind !== 'directory' ? [{ label: '$(go-to-file) Open the lock file', run: () => vscode.window.showTextDocument(vscode.Uri.file(lock.path)) }] : []),
      ...(offersReap(lock) ? [{ label: `$(unlock) Reap ${baseName(lock.path)}`, run: () => reapLock(lock.path) }] : []),
      ...(lock.state === 'unknown' && vscode.workspace.isTrusted ? [{ label: `$(trash) Remove ${baseName(lock.path)} anyway…`, description: 'Ledgerlock cannot see whether its holder is alive', run: () => removeUnknownLock(lock.path) }] : []),
    ];
    const picked = await vscode.window.showQuickPick(facts, { title: `${baseName(lock.path)} — ${lock.state}${lock.profile && profileName(lock.profile) ? ` (judged by ${profileName(lock.profile)}'s rules)` : ''}`, placeHolder: 'Who holds this lock, and why Ledgerlock thinks so' });
    await picked?.run?.();
  }

  async function showFixes(): Promise<void> {
    type Fix = vscode.QuickPickItem & { run: () => unknown };
    const fixes: Fix[] = problemsOf(state).map((p) => ({
      label: `$(${p.fix.icon}) ${p.fix.label}`,
      detail: p.sentence,
      run: () => vscode.commands.executeCommand(p.fix.command, ...p.fix.args),
    }));
    const healthy = fixes.length === 0;
    fixes.push({ label: '$(refresh) Refresh', run: () => refresh() }, { label: '$(output) Show Log', run: () => log.show() });
    const picked = await vscode.window.showQuickPick(fixes, { placeHolder: healthy ? 'Ledgerlock: all locks and ledgers are healthy' : 'Ledgerlock: choose a fix' });
    await picked?.run();
  }

  /** A corrupt ledger's fix starts where the damage is: the file, at its first diagnostic. */
  async function openLedgerProblem(arg?: unknown): Promise<void> {
    const ledger = pathOf(arg);
    if (!ledger) return;
    const uri = vscode.Uri.file(ledger);
    const first = vscode.languages.getDiagnostics(uri).find((d) => d.source === 'ledgerlock');
    await vscode.window.showTextDocument(uri, first ? { selection: first.range } : {});
  }

  return [
    vscode.commands.registerCommand('ledgerlock.repairTail', repairTail),
    vscode.commands.registerCommand('ledgerlock.quarantineRecord', quarantineRecord),
    vscode.commands.registerCommand('ledgerlock.reapLock', reapLock),
    vscode.commands.registerCommand('ledgerlock.removeUnknownLock', removeUnknownLock),
    vscode.commands.registerCommand('ledgerlock.compactLedger', compactLedger),
    vscode.commands.registerCommand('ledgerlock.verifyLedger', verifyLedger),
    vscode.commands.registerCommand('ledgerlock.openEvent', openEvent),
    vscode.commands.registerCommand('ledgerlock.refresh', refresh),
    vscode.commands.registerCommand('ledgerlock.showLog', () => log.show()),
    vscode.commands.registerCommand('ledgerlock.showHolder', showHolder),
    vscode.commands.registerCommand('ledgerlock.showFixes', showFixes),
    vscode.commands.registerCommand('ledgerlock.openLedgerProblem', openLedgerProblem),
    vscode.commands.registerCommand('ledgerlock.loadMore', (ledger: string) => ctx.ledgers.loadMore(ledger)),
  ];
}

/** The modal's words: what is unknown, what cannot be seen, and what removing it risks. */
export function unknownRemovalDetail(lock: LockItem, serverBlindSpots: readonly string[], inContainer: boolean): string {
  const unseen = unknownBlindSpots(lock, serverBlindSpots);
  const sentence = (s: string) => (/[.!?]$/.test(s) ? s : `${s}.`);
  const who = inContainer ? 'a process outside this container' : 'a process Ledgerlock cannot see';
  return [
    `Ledgerlock cannot tell whether this lock is held. ${sentence(lock.reason)}`,
    // Said once: an empty file's reason already ends with what cannot be seen.
    unseen.some((b) => !lock.reason.includes(b)) ? `What it cannot see from here: ${sentence(unseen.join('; '))}` : '',
    `Holder: ${holderWords(lock)}.`,
    `If ${who} still holds it, two holders will run at once. Remove it only if you know its holder is gone. A holder Ledgerlock can see is never broken: then nothing changes.`,
  ].filter(Boolean).join('\n\n');
}
