/** One file's changes, as the editor's own watcher sees them (the Ledgers view's Follow and the Timeline panel). */
import * as path from 'node:path';
import * as vscode from 'vscode';

/** Calls `onChange` when the editor sees `file` written; undefined where no watcher can be made (the caller's timer or state still follow it). */
export function watchFile(file: string, onChange: () => void): vscode.Disposable | undefined {
  try {
    const watcher = vscode.workspace.createFileSystemWatcher(
      new vscode.RelativePattern(vscode.Uri.file(path.dirname(file)), path.basename(file)),
      true,
      false,
      true,
    );
    watcher.onDidChange(onChange);
    return watcher;
  } catch {
    return undefined;
  }
}
