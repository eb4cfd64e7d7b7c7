/**
 * Ledger commands: repair a torn tail, quarantine a damaged record, compact, verify (with
 * progress and Cancel), open a corrupt ledger at its damage, and show its Timeline.
 */
import * as vscode from 'vscode';
import { type ActionResult, CompactLedgerRequest, ProgressNotification, QuarantineRecordRequest, RepairTailRequest, VerifyLedgerRequest } from '../../protocol';
import { withCancellableProgress, withProgress } from '../feedback';
import { baseName } from '../format';
import { pathOf, pickLedger, whereKept } from '../targets';
import { type Command, type CommandContext, type CommandOptions, confirm, report, request, server } from './command';

async function repairTail(ctx: CommandContext, arg?: unknown, options?: CommandOptions): Promise<ActionResult | undefined> {
  const ledger = await pickLedger(ctx.state, arg, (l) => l.health === 'torn', 'Which ledger should be repaired?');
  if (!ledger) return undefined;
  const known = ctx.state.findLedger(ledger);
  const cleared = known !== undefined && known.health !== 'torn';
  const ok =
    cleared ||
    (await confirm(
      options,
      `Repair the torn tail of ${baseName(ledger)}?`,
      `The incomplete last record is cut off at the last valid record boundary. The cut bytes are kept in ${whereKept(ledger)}, never deleted, and the repair is listed under Recoveries.`,
      'Repair',
    ));
  if (!ok) return undefined;
  return report(ctx, await withProgress(`Repairing ${baseName(ledger)}…`, () => request(ctx, RepairTailRequest.type, { ledger })));
}

async function quarantineRecord(ctx: CommandContext, arg?: unknown, offset?: number, options?: CommandOptions): Promise<ActionResult | undefined> {
  const ledger = pathOf(arg);
  if (!ledger || typeof offset !== 'number') return undefined;
  const ok = await confirm(
    options,
    `Quarantine the damaged record at byte ${offset} of ${baseName(ledger)}?`,
    `The ledger is rewritten atomically without that record; the original bytes are kept in ${whereKept(ledger)}, and the change is listed under Recoveries.`,
    'Quarantine',
  );
  if (!ok) return undefined;
  return report(ctx, await withProgress(`Quarantining a record of ${baseName(ledger)}…`, () => request(ctx, QuarantineRecordRequest.type, { ledger, offset })));
}

async function compactLedger(ctx: CommandContext, arg?: unknown, keepArg?: number, options?: CommandOptions): Promise<ActionResult | undefined> {
  const ledger = await pickLedger(ctx.state, arg, () => false, 'Which ledger should be compacted?');
  if (!ledger) return undefined;
  const known = ctx.state.findLedger(ledger);
  if (known && known.format !== 'ledgerlock') {
    // Another tool's log is never compacted (README.md, "In VS Code"): its events are its tool's.
    return report(ctx, {
      ok: false,
      code: 'E_FOREIGN_LEDGER',
      message: `${baseName(ledger)} is another tool's log; Ledgerlock compacts only its own ledgers.`,
    });
  }
  const keep = keepArg ?? (await askKeep(ledger));
  if (keep === undefined) return undefined;
  const ok = await confirm(
    options,
    `Compact ${baseName(ledger)} to its newest ${keep} events?`,
    'Older events are dropped; the ledger is rewritten atomically under its lock and the compaction is recorded in the recovery log.',
    'Compact',
  );
  if (!ok) return undefined;
  return report(ctx, await withProgress(`Compacting ${baseName(ledger)}…`, () => request(ctx, CompactLedgerRequest.type, { ledger, keep })));
}

async function askKeep(ledger: string): Promise<number | undefined> {
  const input = await vscode.window.showInputBox({
    title: `Compact ${baseName(ledger)}`,
    prompt: 'Keep how many of the newest events? Ids stay unchanged.',
    value: '1000',
    validateInput: (v) => (/^\d+$/.test(v.trim()) && Number(v) > 0 ? undefined : 'A positive whole number'),
  });
  return input === undefined ? undefined : Number(input.trim());
}

async function verifyLedger(ctx: CommandContext, arg?: unknown): Promise<ActionResult | undefined> {
  const ledger = await pickLedger(ctx.state, arg, () => false, 'Which ledger should be verified?');
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
      return await server(ctx).sendRequest(VerifyLedgerRequest.type, { ledger, progressToken: token }, cancel);
    } catch (err) {
      if (cancel.isCancellationRequested)
        return { ok: false, code: 'E_ABORTED', message: `verify of ${baseName(ledger)} cancelled`, health: 'unknown' as const, events: 0 };
      throw err;
    } finally {
      sub?.dispose();
    }
  });
  if (result.code === 'E_ABORTED') result.message = `verify of ${baseName(ledger)} cancelled`;
  return report(ctx, result);
}

/** A corrupt ledger's fix starts where the damage is: the file, at its first diagnostic. */
async function openLedgerProblem(_ctx: CommandContext, arg?: unknown): Promise<void> {
  const ledger = pathOf(arg);
  if (!ledger) return;
  const uri = vscode.Uri.file(ledger);
  const first = vscode.languages.getDiagnostics(uri).find((d) => d.source === 'ledgerlock');
  await vscode.window.showTextDocument(uri, first ? { selection: first.range } : {});
}

async function showTimeline(ctx: CommandContext, arg?: unknown): Promise<unknown> {
  const ledger = await pickLedger(ctx.state, arg, () => false, 'Show the timeline of which ledger?');
  return ledger ? ctx.timelines.show(ledger) : undefined;
}

export const LEDGER_COMMANDS: readonly Command[] = [
  { id: 'ledgerlock.repairTail', changesFiles: 'Repair Tail', run: repairTail },
  { id: 'ledgerlock.quarantineRecord', changesFiles: 'Quarantine Record', run: quarantineRecord },
  { id: 'ledgerlock.compactLedger', changesFiles: 'Compact Ledger', run: compactLedger },
  { id: 'ledgerlock.verifyLedger', run: verifyLedger },
  { id: 'ledgerlock.openLedgerProblem', run: openLedgerProblem },
  { id: 'ledgerlock.showTimeline', run: showTimeline },
];
