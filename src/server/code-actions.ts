/**
 * Quick fixes for ledger diagnostics. They run the extension's own commands, so a fix from
 * the lightbulb goes through the same trust check and confirmation as one from a view.
 */
import { type CodeAction, CodeActionKind, type CodeActionParams } from 'vscode-languageserver/node';
import { DIAGNOSTIC_SOURCE, fileUri, type LockProblemData, type ProblemData } from './diagnostics';

export function quickFixes(params: CodeActionParams): CodeAction[] {
  const actions: CodeAction[] = [];
  for (const diagnostic of params.context.diagnostics) {
    if (diagnostic.source !== DIAGNOSTIC_SOURCE) continue;
    const lockData = diagnostic.data as LockProblemData | undefined;
    if (lockData && 'lock' in lockData) {
      const lockUri = fileUri(lockData.lock);
      actions.push(
        lockData.fix === 'reapLock'
          ? {
              title: `Reap this ${diagnostic.code === 'E_LOCK_ORPHANED' ? 'orphaned' : 'stale'} lock (a live holder is never broken)`,
              kind: CodeActionKind.QuickFix,
              diagnostics: [diagnostic],
              isPreferred: true,
              command: { title: 'Reap Lock', command: 'ledgerlock.reapLock', arguments: [lockUri] },
            }
          : {
              title: 'Show who holds this lock',
              kind: CodeActionKind.QuickFix,
              diagnostics: [diagnostic],
              command: { title: 'Show Holder', command: 'ledgerlock.showHolder', arguments: [lockUri] },
            },
      );
      if (lockData.fix === 'reapLock')
        actions.push({
          title: 'Show who held this lock',
          kind: CodeActionKind.QuickFix,
          diagnostics: [diagnostic],
          command: { title: 'Show Holder', command: 'ledgerlock.showHolder', arguments: [lockUri] },
        });
      continue;
    }
    const data = diagnostic.data as ProblemData | undefined;
    if (!data) continue;
    const ledgerUri = fileUri(data.ledger);
    if (data.fix === 'repairTail') {
      actions.push({
        title: 'Repair torn tail (cut bytes are kept in quarantine)',
        kind: CodeActionKind.QuickFix,
        diagnostics: [diagnostic],
        isPreferred: true,
        command: { title: 'Repair Tail', command: 'ledgerlock.repairTail', arguments: [ledgerUri] },
      });
    } else {
      actions.push({
        title: 'Quarantine this record (the ledger is rewritten; original bytes are kept)',
        kind: CodeActionKind.QuickFix,
        diagnostics: [diagnostic],
        command: { title: 'Quarantine Record', command: 'ledgerlock.quarantineRecord', arguments: [ledgerUri, data.offset] },
      });
    }
  }
  return actions;
}
