/**
 * How a finished action is told to the person: the server writes the action's line in the log,
 * so what the person was told is logged only at debug level (each Output line once); a fix that removed bytes as a
 * notification with Reveal Kept Bytes and Show Recovery Log, so its outcome is read whole and
 * can be followed; another success, or an action whose condition had already cleared, as a
 * status-bar message that fades; a real failure as an error notification.
 */
import * as vscode from 'vscode';
import type { ActionResult } from '../protocol';

const STATUS_MESSAGE_MS = 10_000;
const REVEAL = 'Reveal Kept Bytes';
const SHOW_LOG = 'Show Recovery Log';

export function reportResult<T extends ActionResult>(log: vscode.LogOutputChannel, result: T): T {
  if (result.ok && !result.cleared && result.keptAt !== undefined) {
    const keptAt = result.keptAt;
    log.debug(`told: ${result.message}`);
    void vscode.window.showInformationMessage(`Ledgerlock: ${result.message}`, REVEAL, SHOW_LOG).then((choice) => {
      if (choice === REVEAL) return vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(keptAt));
      if (choice === SHOW_LOG) return vscode.commands.executeCommand('ledgerlock.recoveries.focus');
      return undefined;
    });
  } else if (result.ok && !result.cleared) {
    log.debug(`told: ${result.message}`);
    vscode.window.setStatusBarMessage(`$(check) Ledgerlock: ${result.message}`, STATUS_MESSAGE_MS);
  } else if (result.cleared || result.code === 'E_ABORTED') {
    log.debug(`told: ${result.code ? `${result.code}: ` : ''}${result.message}`);
    vscode.window.setStatusBarMessage(`$(info) Ledgerlock: ${result.message}`, STATUS_MESSAGE_MS);
  } else {
    log.debug(`told: ${result.code ?? 'refused'}: ${result.message}`);
    void vscode.window.showErrorMessage(`Ledgerlock: ${result.message}`);
  }
  return result;
}

/** Quick work (repair, reap): a spinner in the status bar while it runs, gone when done. */
export function withProgress<T>(title: string, work: (progress?: vscode.Progress<{ message?: string; increment?: number }>) => Promise<T>): Thenable<T> {
  return vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title }, (progress) => work(progress));
}

/** Long work (verify, compaction): a notification with a percentage and Cancel. */
export function withCancellableProgress<T>(
  title: string,
  work: (progress: vscode.Progress<{ message?: string; increment?: number }>, token: vscode.CancellationToken) => Promise<T>,
): Thenable<T> {
  return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, work);
}
