/**
 * Destructive commands need a trusted workspace. The manifest disables them in restricted
 * mode; this refuses them in code too, since commands can be run from anywhere.
 */
import * as vscode from 'vscode';

export function refuseIfUntrusted(action: string): boolean {
  if (vscode.workspace.isTrusted) return false;
  void vscode.window
    .showWarningMessage(`Ledgerlock: ${action} is not available in restricted mode. Trust this workspace to change its files.`, 'Manage Workspace Trust')
    .then((choice) => {
      if (choice) void vscode.commands.executeCommand('workbench.trust.manage');
    });
  return true;
}
