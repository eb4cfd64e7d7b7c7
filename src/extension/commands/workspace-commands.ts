/** Workspace-wide commands: refresh everything, show the log, list the fixes, reset notifications. */
import * as vscode from 'vscode';
import { RefreshRequest, SnapshotsRequest } from '../../protocol';
import { problemsOf } from '../problems';
import type { Command, CommandContext } from './command';

async function refresh(ctx: CommandContext): Promise<void> {
  await vscode.window.withProgress({ location: { viewId: 'ledgerlock.locks' } }, async () => {
    const client = ctx.client();
    if (!client) return;
    ctx.state.update(await client.sendRequest(RefreshRequest.type));
    ctx.state.updateSnapshots(await client.sendRequest(SnapshotsRequest.type));
    ctx.state.fireRecoveryLogChanged();
  });
}

/** Every problem with its fix, then Refresh and Show Log. */
async function showFixes(ctx: CommandContext): Promise<void> {
  type Fix = vscode.QuickPickItem & { run: () => unknown };
  const fixes: Fix[] = problemsOf(ctx.state).map((p) => ({
    label: `$(${p.fix.icon}) ${p.fix.label}`,
    detail: p.sentence,
    run: () => vscode.commands.executeCommand(p.fix.command, ...p.fix.args),
  }));
  const healthy = fixes.length === 0;
  fixes.push({ label: '$(refresh) Refresh', run: () => refresh(ctx) }, { label: '$(output) Show Log', run: () => ctx.log.show() });
  const picked = await vscode.window.showQuickPick(fixes, {
    placeHolder: healthy ? 'Ledgerlock: all locks and ledgers are healthy' : 'Ledgerlock: choose a fix',
  });
  await picked?.run();
}

export const WORKSPACE_COMMANDS: readonly Command[] = [
  { id: 'ledgerlock.refresh', run: refresh },
  { id: 'ledgerlock.showLog', run: (ctx) => ctx.log.show() },
  { id: 'ledgerlock.showFixes', run: showFixes },
  { id: 'ledgerlock.resetNotifications', run: (ctx) => ctx.alerts.reset() },
];
