/** How a finished action is told to the person: the log always, a toast matching the outcome. */
import * as vscode from 'vscode';
import type { ActionResult } from '../protocol';

export function reportResult<T extends ActionResult>(log: vscode.LogOutputChannel, result: T): T {
  if (result.ok) {
    log.info(result.message);
    void vscode.window.showInformationMessage(`Ledgerlock: ${result.message}`);
  } else {
    log.warn(`${result.code ?? 'refused'}: ${result.message}`);
    void vscode.window.showErrorMessage(`Ledgerlock: ${result.message}`);
  }
  return result;
}

/** Long work (verify, compaction) shows a progress notification while it runs. */
export function withProgress<T>(title: string, work: () => Promise<T>): Thenable<T> {
  return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title }, work);
}
