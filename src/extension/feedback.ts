/**
 * How a finished action is told to the person: always in the log; a success, or an action
 * whose condition had already cleared, as a status-bar message that fades; only a real
 * failure as a notification.
 */
import * as vscode from 'vscode';
import type { ActionResult } from '../protocol';

const STATUS_MESSAGE_MS = 10_000;

export function reportResult<T extends ActionResult>(log: vscode.LogOutputChannel, result: T): T {
  if (result.ok && !result.cleared) {
    log.info(result.message);
    vscode.window.setStatusBarMessage(`$(check) Ledgerlock: ${result.message}`, STATUS_MESSAGE_MS);
  } else if (result.cleared || result.code === 'E_ABORTED') {
    log.info(`${result.code ? `${result.code}: ` : ''}${result.message}`);
    vscode.window.setStatusBarMessage(`$(info) Ledgerlock: ${result.message}`, STATUS_MESSAGE_MS);
  } else {
    log.warn(`${result.code ?? 'refused'}: ${result.message}`);
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
