/**
 * The snapshot commands: create (with an optional label), restore (a modal naming what will
 * be overwritten), verify (with progress) and diff (VS Code's diff editor between the
 * snapshot's copy and the file on disk).
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  type ActionResult,
  CreateSnapshotRequest,
  RestoreSnapshotRequest,
  SnapshotDiffRequest,
  type SnapshotItem,
  SnapshotPlanRequest,
  VerifySnapshotRequest,
} from '../../protocol';
import { withProgress } from '../feedback';
import { formatTime, plural } from '../format';
import type { ServerState } from '../server-state';
import { snapshotFileUri } from '../snapshot-documents';
import { SnapshotFileNode, SnapshotFolderNode, SnapshotNode } from '../views/snapshots-view';
import { type Command, type CommandContext, type CommandOptions, confirm, report, server } from './command';

interface SnapshotRef {
  folder: string;
  id: string;
}

/**
 * Takes a snapshot of a folder after saying what it would hold (the server's plan): a folder
 * without a store is asked first, since the snapshot creates `.ledgerlock/` there; one that
 * would hold nothing is refused, with what a snapshot keeps.
 */
async function createSnapshot(
  ctx: CommandContext,
  arg?: unknown,
  labelArg?: string,
  options?: CommandOptions,
): Promise<(ActionResult & { id?: string }) | undefined> {
  const folder = await pickFolder(arg);
  if (!folder) return undefined;
  const name = vscode.workspace.workspaceFolders?.find((f) => f.uri.toString() === folder)?.name ?? folder;
  const plan = await server(ctx).sendRequest(SnapshotPlanRequest.type, { folder });
  if (plan.error) return report(ctx, { ok: false, message: plan.error });
  const holds = planWords(plan);
  if (plan.files.length === 0 && plan.ledgers.length === 0) {
    const message = `A snapshot of ${name} would hold nothing`;
    const detail = `A snapshot keeps the state documents in .ledgerlock/state/*.json and where each ledger in .ledgerlock/ledgers/ stands. ${name} has neither, so nothing was created${plan.storeExists ? '' : ' (no .ledgerlock/ folder either)'}.`;
    ctx.log.info(`create snapshot of ${name} refused: it would hold nothing`);
    if (!options?.confirmed) void vscode.window.showInformationMessage(message, { modal: true, detail });
    return { ok: false, code: 'E_NOT_FOUND', message: `${message}. ${detail}` };
  }
  if (!plan.storeExists) {
    const ok = await confirm(
      options,
      `Create a Ledgerlock store in ${name} for this snapshot?`,
      `${name} has no .ledgerlock/store.json yet. Taking a snapshot creates it (with .ledgerlock/snapshots/ and a blob store beside it).\n\nThe snapshot would hold ${holds}.`,
      'Create Store and Snapshot',
    );
    if (!ok) return undefined;
  }
  let label = labelArg;
  if (label === undefined) {
    label = await vscode.window.showInputBox({
      title: 'Create Snapshot',
      prompt: `A label for the snapshot (optional). It will hold ${holds}.`,
      placeHolder: 'e.g. before the migration',
      validateInput: (v) => (v.length > 200 ? 'At most 200 characters' : undefined),
    });
    if (label === undefined) return undefined;
  }
  const result = await withProgress('Taking a snapshot…', () => server(ctx).sendRequest(CreateSnapshotRequest.type, { folder, ...(label ? { label } : {}) }));
  return report(ctx, result);
}

/** "2 files (.ledgerlock/state/a.json, …) and the positions of 1 ledger (.ledgerlock/ledgers/events.jsonl)". */
function planWords(plan: { files: string[]; ledgers: string[] }): string {
  const some = (items: string[]) => `${items.slice(0, 5).join(', ')}${items.length > 5 ? `, and ${items.length - 5} more` : ''}`;
  const files = plan.files.length > 0 ? `${plural(plan.files.length, 'file')} (${some(plan.files)})` : 'no files';
  const ledgers =
    plan.ledgers.length > 0 ? ` and where ${plural(plan.ledgers.length, 'ledger')} stand${plan.ledgers.length === 1 ? 's' : ''} (${some(plan.ledgers)})` : '';
  return `${files}${ledgers}`;
}

async function restoreSnapshot(ctx: CommandContext, arg?: unknown, options?: CommandOptions): Promise<ActionResult | undefined> {
  const ref = snapshotRefOf(arg) ?? (await pickSnapshot(ctx.state, 'Which snapshot should be restored?'));
  if (!ref) return undefined;
  const name = nameOf(ctx.state, ref);
  if (!options?.confirmed) {
    const diff = await server(ctx).sendRequest(SnapshotDiffRequest.type, ref);
    if (diff.error) return report(ctx, { ok: false, message: diff.error });
    const of = (change: string) => diff.files.filter((f) => f.change === change).map((f) => f.path);
    const [overwritten, recreated, removed] = [of('modified'), of('removed'), of('added')];
    const lines = [
      overwritten.length > 0 ? `Overwritten with the snapshot's copy: ${list(overwritten)}.` : 'No file on disk differs from the snapshot.',
      ...(recreated.length > 0 ? [`Written back (missing on disk): ${list(recreated)}.`] : []),
      ...(removed.length > 0 ? [`Removed (not in the snapshot): ${list(removed)}.`] : []),
      'The current state is saved as a backup snapshot first, so this can be undone.',
    ];
    const choice = await vscode.window.showWarningMessage(`Restore snapshot ${name}?`, { modal: true, detail: lines.join('\n\n') }, 'Restore');
    if (choice !== 'Restore') return undefined;
  }
  return report(ctx, await withProgress(`Restoring snapshot ${name}…`, () => server(ctx).sendRequest(RestoreSnapshotRequest.type, ref)));
}

async function verifySnapshot(ctx: CommandContext, arg?: unknown): Promise<ActionResult | undefined> {
  const ref = snapshotRefOf(arg);
  const folder = ref?.folder ?? (await pickFolder(arg));
  if (!folder) return undefined;
  const title = ref ? `Verifying snapshot ${nameOf(ctx.state, ref)}…` : 'Verifying all snapshots…';
  return report(ctx, await withProgress(title, () => server(ctx).sendRequest(VerifySnapshotRequest.type, { folder, ...(ref ? { id: ref.id } : {}) })));
}

async function diffSnapshot(ctx: CommandContext, arg?: unknown): Promise<vscode.Uri | undefined> {
  const target = await diffTarget(ctx, arg);
  if (!target) return undefined;
  const left = snapshotFileUri(target.folder, target.id, target.path);
  const right = vscode.Uri.joinPath(vscode.Uri.parse(target.folder), ...target.path.split('/'));
  await vscode.commands.executeCommand('vscode.diff', left, right, `${path.posix.basename(target.path)} (snapshot ${nameOf(ctx.state, target)}) ↔ on disk`, {
    preview: true,
  });
  return left;
}

/** The one file to compare: the node or argument given, else a snapshot and one of its changed files picked. */
async function diffTarget(ctx: CommandContext, arg: unknown): Promise<(SnapshotRef & { path: string }) | undefined> {
  if (arg instanceof SnapshotFileNode) return { folder: arg.folder, id: arg.snapshot.id, path: arg.file.path };
  if (isRecord(arg) && typeof arg.folder === 'string' && typeof arg.id === 'string' && typeof arg.path === 'string')
    return { folder: arg.folder, id: arg.id, path: arg.path };
  const ref = snapshotRefOf(arg) ?? (await pickSnapshot(ctx.state, 'Compare which snapshot with the workspace?'));
  if (!ref) return undefined;
  const diff = await server(ctx).sendRequest(SnapshotDiffRequest.type, ref);
  if (diff.error) {
    void vscode.window.showErrorMessage(`Ledgerlock: ${diff.error}`);
    return undefined;
  }
  const changed = diff.files.filter((f) => f.change !== 'added');
  if (changed.length === 0) {
    void vscode.window.showInformationMessage(`Ledgerlock: the files of snapshot ${nameOf(ctx.state, ref)} all match the workspace.`);
    return undefined;
  }
  const picked =
    changed.length === 1
      ? changed[0]
      : await vscode.window.showQuickPick(
          changed.map((f) => ({ label: f.path, description: f.change, path: f.path })),
          { placeHolder: 'Compare which file?' },
        );
  return picked ? { ...ref, path: picked.path } : undefined;
}

function snapshotRefOf(arg: unknown): SnapshotRef | undefined {
  if (arg instanceof SnapshotNode) return { folder: arg.folder, id: arg.snapshot.id };
  if (arg instanceof SnapshotFileNode) return { folder: arg.folder, id: arg.snapshot.id };
  if (isRecord(arg) && typeof arg.folder === 'string' && typeof arg.id === 'string') return { folder: arg.folder, id: arg.id };
  return undefined;
}

async function pickFolder(arg: unknown): Promise<string | undefined> {
  if (arg instanceof SnapshotFolderNode) return arg.folder.uri;
  if (typeof arg === 'string') return arg;
  if (arg instanceof vscode.Uri) return vscode.workspace.getWorkspaceFolder(arg)?.uri.toString();
  const folders = (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file');
  if (folders.length <= 1) return folders[0]?.uri.toString();
  const picked = await vscode.window.showWorkspaceFolderPick({ placeHolder: 'Which workspace folder?' });
  return picked?.uri.toString();
}

async function pickSnapshot(state: ServerState, placeHolder: string): Promise<SnapshotRef | undefined> {
  const items = state.snapshots.folders.flatMap((f) =>
    [...f.snapshots].reverse().map((s) => ({ folder: f.uri, id: s.id, label: s.label ?? s.id, description: describe(s), detail: f.name })),
  );
  if (items.length === 0) {
    void vscode.window.showInformationMessage('Ledgerlock: no snapshots in this workspace yet.');
    return undefined;
  }
  return vscode.window.showQuickPick(items, { placeHolder });
}

function nameOf(state: ServerState, ref: SnapshotRef): string {
  const s = state.snapshots.folders.find((f) => f.uri === ref.folder)?.snapshots.find((x) => x.id === ref.id);
  return s?.label ? `"${s.label}"` : ref.id;
}

export const SNAPSHOT_COMMANDS: readonly Command[] = [
  { id: 'ledgerlock.createSnapshot', changesFiles: 'Create Snapshot', run: createSnapshot },
  { id: 'ledgerlock.restoreSnapshot', changesFiles: 'Restore Snapshot', run: restoreSnapshot },
  { id: 'ledgerlock.verifySnapshot', run: verifySnapshot },
  { id: 'ledgerlock.diffSnapshot', run: diffSnapshot },
];

function describe(s: SnapshotItem): string {
  return `${formatTime(s.createdAt)} · ${s.files.length} file(s)${s.current ? ' · current' : ''}`;
}

function list(paths: string[]): string {
  return paths.length > 8 ? `${paths.slice(0, 8).join(', ')} and ${paths.length - 8} more` : paths.join(', ');
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}
