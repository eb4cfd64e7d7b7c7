/**
 * Starts the language server that hosts the engine and wires its notifications into the
 * client's state. The file watcher feeds the server's incremental updates.
 */
import * as vscode from 'vscode';
import { LanguageClient, TransportKind, type LanguageClientOptions, type ServerOptions } from 'vscode-languageclient/node';
import { type InitializationOptions, LOCK_DOCUMENT_SCHEME, RecoveriesChangedNotification, SnapshotsNotification, StateNotification } from '../protocol';
import { levelledChannel } from './server-log';
import type { ServerState } from './server-state';

export async function startClient(context: vscode.ExtensionContext, log: vscode.LogOutputChannel, state: ServerState): Promise<LanguageClient> {
  const module = context.asAbsolutePath('dist/server.js');
  const serverOptions: ServerOptions = {
    run: { module, transport: TransportKind.ipc },
    debug: { module, transport: TransportKind.ipc, options: { execArgv: ['--nolazy', '--inspect=6019'] } },
  };
  const watcher = vscode.workspace.createFileSystemWatcher('**/*');
  context.subscriptions.push(watcher);
  const initializationOptions: InitializationOptions = { trusted: vscode.workspace.isTrusted };
  const clientOptions: LanguageClientOptions = {
    // Ledgers, and lock files for their quick fixes (the default lock globs).
    documentSelector: [
      { scheme: 'file', pattern: '**/*.{jsonl,ndjson,lock,lck}' },
      { scheme: 'file', pattern: '**/LOCK' },
      // A lock folder's or binary lock's description, where its problem and quick fixes are.
      { scheme: LOCK_DOCUMENT_SCHEME },
    ],
    synchronize: { fileEvents: watcher },
    diagnosticCollectionName: 'ledgerlock',
    outputChannel: levelledChannel(log),
    initializationOptions,
  };
  const client = new LanguageClient('ledgerlock', 'Ledgerlock', serverOptions, clientOptions);
  context.subscriptions.push(
    client.onNotification(StateNotification.type, (s) => state.update(s)),
    client.onNotification(RecoveriesChangedNotification.type, () => state.fireRecoveryLogChanged()),
    client.onNotification(SnapshotsNotification.type, (s) => state.updateSnapshots(s)),
  );
  await client.start();
  return client;
}
