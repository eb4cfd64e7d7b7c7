/**
 * The snapshot commands: create (with an optional label), restore (a modal naming what will
 * be overwritten; refused in restricted mode), verify (with progress) and diff (VS Code's
 * diff editor between the snapshot's copy and the file on disk). Each returns what happened
 * so callers and tests can check it.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { reportResult, withProgress } from './feedback';
import { type ActionResult, CreateSnapshotRequest, RestoreSnapshotRequest, SnapshotDiffRequest, type SnapshotItem, VerifySnapshotRequest } from '../protocol';
import { formatTime } from './format';
import type { ServerState } from './server-state';
import { snapshotFileUri } from './snapshot-documents';
import { refuseIfUntrusted } from './trust';
import { SnapshotFileNode, SnapshotFolderNode, SnapshotNode } from './views/snapshots-view';

export interface SnapshotCommandContext {
  client: () => LanguageClient | undefined;
  state: ServerState;
  log: vscode.LogOutputChannel;
}

interface SnapshotRef {
  folder: string;
  id: string;
}

const UNTRUSTED = { ok: false, code: 'E_UNTRUSTED', message: 'refused in restricted mode' } as const;

export function registerSnapshotCommands(ctx: SnapshotCommandContext): vscode.Disposable[] {
  const { state, log } = ctx;
  const client = (): LanguageClient => {
    const c = ctx.client();
    if (!c) throw new Error('the Ledgerlock server is not running');
    return c;
  };

  const report = <T extends ActionResult>(result: T): T => reportResult(log, result);

  async function createSnapshot(arg?: unknown, labelArg?: string): Promise<(ActionResult & { id?: string }) | undefined> {
    if (refuseIfUntrusted('Create Snapshot')) return UNTRUSTED;
    const folder = await pickFolder(arg);
    if (!folder) return undefined;
    let label = labelArg;
    if (label === undefined) {
      label = await vscode.window.showInputBox({
        title: 'Create Snapshot',
        prompt: 'A label for the snapshot (optional). It captures .ledgerlock/state/*.json and where each ledger stands.',
        placeHolder: 'e.g. before the migration',
        validateInput: (v) => (v.length > 200 ? 'At most 200 characters' : undefined),
      });
      if (label === undefined) return undefined;
    }
    const result = await withProgress('Taking a snapshot…', () => client().sendRequest(CreateSnapshotRequest.type, { folder, ...(label ? { label } : {}) }));
    return report(result);
  }

  async function restoreSnapshot(arg?: unknown, options?: { confirmed?: boolean }): Promise<ActionResult | undefined> {
    if (refuseIfUntrusted('Restore Snapshot')) return UNTRUSTED;
    const ref = snapshotRefOf(arg) ?? (await pickSnapshot('Which snapshot should be restored?'));
    if (!ref) return undefined;
    const name = nameOf(ref);
    if (!options?.confirmed) {
      const diff = await client().sendRequest(SnapshotDiffRequest.type, ref);
      if (diff.error) return report({ ok: false, message: diff.error });
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
    return report(await withProgress(`Restoring snapshot ${name}…`, () => client().sendRequest(RestoreSnapshotRequest.type, ref)));
  }

  async function verifySnapshot(arg?: unknown): Promise<ActionResult | undefined> {
    const ref = snapshotRefOf(arg);
    const folder = ref?.folder ?? (await pickFolder(arg));
    if (!folder) return undefined;
    const title = ref ? `Verifying snapshot ${nameOf(ref)}…` : 'Verifying all snapshots…';
    return report(await withProgress(title, () => client().sendRequest(VerifySnapshotRequest.type, { folder, ...(ref ? { id: ref.id } : {}) })));
  }

  async function diffSnapshot(arg?: unknown): Promise<vscode.Uri | undefined> {
    let target: (SnapshotRef & { path: string }) | undefined;
    if (arg instanceof SnapshotFileNode) target = { folder: arg.folder, id: arg.snapshot.id, path: arg.file.path };
    else if (isRecord(arg) && typeof arg.folder === 'string' && typeof arg.id === 'string' && typeof arg.path === 'string') target = { folder: arg.folder, id: arg.id, path: arg.path };
    else {
      const ref = snapshotRefOf(arg) ?? (await pickSnapshot('Compare which snapshot with the workspace?'));
      if (!ref) return undefined;
      const diff = await client().sendRequest(SnapshotDiffRequest.type, ref);
      if (diff.error) {
        void vscode.window.showErrorMessage(`Ledgerlock: ${diff.error}`);
        return undefined;
      }
      const changed = diff.files.filter((f) => f.change !== 'added');
      if (changed.length === 0) {
        void vscode.window.showInformationMessage(`Ledgerlock: the files of snapshot ${nameOf(ref)} all match the workspace.`);
        return undefined;
      }
      const picked = changed.length === 1 ? changed[0] : await vscode.window.showQuickPick(changed.map((f) => ({ label: f.path, description: f.change, path: f.path })), { placeHolder: 'Compare which file?' });
      if (!picked) return undefined;
      target = { ...ref, path: picked.path };
    }
    const left = snapshotFileUri(target.folder, target.id, target.path);
    const right = vscode.Uri.joinPath(vscode.Uri.parse(target.folder), ...target.path.split('/'));
    await vscode.commands.executeCommand('vscode.diff', left, right, `${path.posix.basename(target.path)} (snapshot ${nameOf(target)}) ↔ on disk`, { preview: true });
    return left;
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

  async function pickSnapshot(placeHolder: string): Promise<SnapshotRef | undefined> {
    const items = state.snapshots.folders.flatMap((f) => [...f.snapshots].reverse().map((s) => ({ folder: f.uri, id: s.id, label: s.label ?? s.id, description: describe(s), detail: f.name })));
    if (items.length === 0) {
      void vscode.window.showInformationMessage('Ledgerlock: no snapshots in this workspace yet.');
      return undefined;
    }
    return vscode.window.showQuickPick(items, { placeHolder });
  }

  function nameOf(ref: SnapshotRef): string {
    const s = state.snapshots.folders.find((f) => f.uri === ref.folder)?.snapshots.find((x) => x.id === ref.id);
    return s?.label ? `"${s.label}"` : ref.id;
  }

  return [
    vscode.commands.registerCommand('ledgerlock.createSnapshot', createSnapshot),
    vscode.commands.registerCommand('ledgerlock.restoreSnapshot', restoreSnapshot),
    vscode.commands.registerCommand('ledgerlock.verifySnapshot', verifySnapshot),
    vscode.commands.registerCommand('ledgerlock.diffSnapshot', diffSnapshot),
  ];
}

function describe(s: SnapshotItem): string {
  return `${formatTime(s.createdAt)} · ${s.files.length} file(s)${s.current ? ' · current' : ''}`;
}

function list(paths: string[]): string {
  return paths.length > 8 ? `${paths.slice(0, 8).join(', ')} and ${paths.length - 8} more` : paths.join(', ');
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}
