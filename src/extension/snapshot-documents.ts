/**
 * A snapshot's copy of a file opens as a read-only document on the `ledgerlock-snapshot:`
 * scheme, served by the server (which reads and re-hashes the blob). The path ends in the
 * file's own name, so the editor picks its language and the diff title reads naturally.
 */
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { SnapshotFileRequest } from '../protocol';

export const SNAPSHOT_SCHEME = 'ledgerlock-snapshot';

export function snapshotFileUri(folder: string, id: string, rel: string): vscode.Uri {
  return vscode.Uri.from({
    scheme: SNAPSHOT_SCHEME,
    path: `/${id}/${rel}`,
    query: new URLSearchParams({ folder, id, path: rel }).toString(),
  });
}

export class SnapshotDocuments implements vscode.TextDocumentContentProvider {
  constructor(private readonly client: () => LanguageClient | undefined) {}

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const query = new URLSearchParams(uri.query);
    const client = this.client();
    if (!client) throw new Error('the Ledgerlock server is not running');
    const reply = await client.sendRequest(SnapshotFileRequest.type, {
      folder: query.get('folder') ?? '',
      id: query.get('id') ?? '',
      path: query.get('path') ?? '',
    });
    if (reply.content === undefined) throw new Error(reply.error ?? 'the snapshot file could not be read');
    return reply.content;
  }
}
