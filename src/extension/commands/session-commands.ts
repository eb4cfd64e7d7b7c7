/**
 * Agent sessions (README.md, "Agent sessions"): turning a known tool's root on or off in the
 * user settings (never a workspace's), repairing one session under its root, and paging and
 * filtering its records.
 */
import * as vscode from 'vscode';
import { RepairSessionRequest } from '../../sessions-protocol';
import { isDamaged, problemWords, toolName, userToolRoots } from '../agent-sessions';
import { withProgress } from '../feedback';
import { baseName } from '../format';
import { pathOf } from '../targets';
import { type Command, type CommandContext, type CommandOptions, confirm, report, request } from './command';

/** The tools Ledgerlock knows, at their default places (the engine's DEFAULT_TOOL_ROOTS). */
const KNOWN_ROOTS = [
  { spec: 'claude-code=~/.claude', detail: 'Claude Code: transcripts under ~/.claude/projects/<this folder>/, live-session markers under ~/.claude/sessions/' },
  { spec: 'codex=~/.codex', detail: 'Codex: rollouts under ~/.codex/sessions/YYYY/MM/DD/ that name this folder' },
  { spec: 'authmux=~/.codex/accounts', detail: 'authmux: its registry.json.lock, judged like any lock' },
];

/** Offers each known tool root; what the person picks is written to the user settings, then the view is shown. */
async function showAgentSessions(ctx: CommandContext): Promise<string[] | undefined> {
  const current = userToolRoots();
  const enabled = Array.isArray(current) ? current.filter((r): r is string => typeof r === 'string') : [];
  const items = [
    ...KNOWN_ROOTS.map((k) => ({ label: k.spec, detail: k.detail, picked: enabled.includes(k.spec) })),
    ...enabled.filter((e) => !KNOWN_ROOTS.some((k) => k.spec === e)).map((e) => ({ label: e, detail: 'set in your user settings', picked: true })),
  ];
  const picked = await vscode.window.showQuickPick(items, {
    title: 'Agent sessions of this workspace: which tool roots may Ledgerlock read?',
    placeHolder: 'Turned on in your user settings (ledgerlock.toolRoots), for every workspace; a workspace cannot turn one on',
    canPickMany: true,
  });
  if (picked === undefined) return undefined;
  const roots = picked.map((p) => p.label);
  const inspected = vscode.workspace.getConfiguration('ledgerlock').inspect('toolRoots');
  if (inspected?.workspaceValue !== undefined || inspected?.workspaceFolderValue !== undefined)
    ctx.log.warn('ledgerlock.toolRoots is set in workspace settings: ignored; only user settings turn a tool root on');
  await vscode.workspace.getConfiguration('ledgerlock').update('toolRoots', roots, vscode.ConfigurationTarget.Global);
  await vscode.commands.executeCommand('ledgerlock.sessions.focus');
  return roots;
}

/** Repairs a session under its tool root; refused while its tool writes it (the server says who). */
async function repairSession(ctx: CommandContext, arg?: unknown, options?: CommandOptions) {
  let target = pathOf(arg);
  if (!target) {
    const damaged = ctx.sessions.sessions().filter(isDamaged);
    if (damaged.length === 0) {
      void vscode.window.showInformationMessage('Ledgerlock: no damaged agent sessions in this workspace.');
      return undefined;
    }
    const pick =
      damaged.length === 1
        ? { path: damaged[0]!.path }
        : await vscode.window.showQuickPick(
            damaged.map((s) => ({ label: baseName(s.path), description: `${toolName(s.tool)}: ${problemWords(s)}`, path: s.path })),
            { placeHolder: 'Repair which agent session?' },
          );
    target = pick?.path;
  }
  if (!target) return undefined;
  const session = ctx.sessions.sessions().find((s) => s.path === target);
  const what = session ? problemWords(session) : 'damage';
  const go = await confirm(
    options,
    `Repair ${baseName(target)}?`,
    `${what}. Every complete record is kept (a record glued onto a torn one stays in place); only the damaged bytes move to quarantine, with their offsets.`,
    'Repair',
  );
  if (!go) return undefined;
  const file = target;
  const result = await withProgress(`Repairing ${baseName(file)}`, () => request(ctx, RepairSessionRequest.type, { session: file }));
  return report(ctx, result);
}

async function filterSessionRecords(ctx: CommandContext): Promise<void> {
  const view = ctx.sessionsView;
  const known = view.knownTypes();
  let types: string[] | undefined;
  if (known.length > 0) {
    const picked = await vscode.window.showQuickPick(
      known.map((t) => ({ label: t, picked: view.filter?.types?.includes(t) ?? false })),
      { title: 'Filter Session Records: types (none picked = every type)', canPickMany: true },
    );
    if (picked === undefined) return;
    types = picked.map((p) => p.label);
  }
  const text = await vscode.window.showInputBox({ title: 'Filter Session Records: text', value: view.filter?.text ?? '' });
  if (text === undefined) return;
  view.setFilter({ ...(types && types.length > 0 ? { types } : {}), ...(text.trim() ? { text: text.trim() } : {}) });
}

export const SESSION_COMMANDS: readonly Command[] = [
  { id: 'ledgerlock.showAgentSessions', run: showAgentSessions },
  { id: 'ledgerlock.repairSession', changesFiles: 'Repair Session', run: repairSession },
  { id: 'ledgerlock.loadMoreSessionRecords', run: (ctx, session: string) => ctx.sessionsView.loadMore(session) },
  { id: 'ledgerlock.filterSessionRecords', run: filterSessionRecords },
  { id: 'ledgerlock.clearSessionFilter', run: (ctx) => ctx.sessionsView.setFilter(undefined) },
];
