/**
 * Turns whatever a command was invoked with — a tree node, a URI from a quick fix, a path,
 * or nothing (command palette) — into the ledger or lock it should act on.
 */
import * as vscode from 'vscode';
import type { LedgerItem, LockItem } from '../protocol';
import { baseName, formatCount, formatBytes, lockSentence, quarantinePlace } from './format';
import type { ServerState } from './server-state';
import { LedgerNode } from './views/ledgers-view';
import { LockNode } from './views/locks-view';

export function pathOf(arg: unknown): string | undefined {
  if (arg instanceof LedgerNode) return arg.ledger.path;
  if (arg instanceof LockNode) return arg.lock.path;
  if (arg instanceof vscode.Uri) return arg.fsPath;
  if (typeof arg === 'string') return arg.startsWith('file:') ? vscode.Uri.parse(arg).fsPath : arg;
  if (arg && typeof arg === 'object' && 'path' in arg && typeof (arg as { path: unknown }).path === 'string') return (arg as { path: string }).path;
  return undefined;
}

export async function pickLedger(state: ServerState, arg: unknown, prefer: (l: LedgerItem) => boolean, placeHolder: string): Promise<string | undefined> {
  const given = pathOf(arg) ?? activeLedger(state);
  if (given) return given;
  const ledgers = state.ledgers();
  const candidates = ledgers.filter(prefer);
  const list = candidates.length > 0 ? candidates : ledgers;
  if (list.length === 0) {
    void vscode.window.showInformationMessage('Ledgerlock: no ledgers found in this workspace.');
    return undefined;
  }
  if (list.length === 1 && candidates.length === 1) return list[0]!.path;
  const picked = await vscode.window.showQuickPick(
    list.map((l) => ({
      label: baseName(l.path),
      description: `${l.health} · ${formatCount(l.events)} events · ${formatBytes(l.bytes)}`,
      detail: vscode.workspace.asRelativePath(l.path),
      path: l.path,
    })),
    { placeHolder },
  );
  return picked?.path;
}

export async function pickLock(state: ServerState, arg: unknown, prefer: (l: LockItem) => boolean, placeHolder: string): Promise<string | undefined> {
  const given = pathOf(arg);
  if (given) return given;
  const candidates = state.locks().filter(prefer);
  if (candidates.length === 0) {
    void vscode.window.showInformationMessage('Ledgerlock: no stale locks to reap.');
    return undefined;
  }
  if (candidates.length === 1) return candidates[0]!.path;
  const picked = await vscode.window.showQuickPick(
    candidates.map((l) => ({ label: baseName(l.path), description: lockSentence(l), detail: vscode.workspace.asRelativePath(l.path), path: l.path })),
    { placeHolder },
  );
  return picked?.path;
}

function activeLedger(state: ServerState): string | undefined {
  const uri = vscode.window.activeTextEditor?.document.uri;
  return uri?.scheme === 'file' && state.findLedger(uri.fsPath) ? uri.fsPath : undefined;
}

/** The quarantine place of `p` in words, for a dialog that must say where removed bytes go. */
export function whereKept(p: string): string {
  const folder = vscode.workspace.getWorkspaceFolder(vscode.Uri.file(p));
  return quarantinePlace(p, folder ? { name: folder.name, root: folder.uri.fsPath } : undefined);
}
