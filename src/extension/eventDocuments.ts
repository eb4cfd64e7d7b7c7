/**
 * Events open as read-only JSON documents on the `ledgerlock-event:` scheme. A content
 * provider's documents cannot be edited or saved, so a ledger is never changed from here.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { EventRequest, type EventItem } from '../protocol';

export const EVENT_SCHEME = 'ledgerlock-event';

export function eventUri(ledger: string, id: string): vscode.Uri {
  return vscode.Uri.from({
    scheme: EVENT_SCHEME,
    path: `/${path.basename(ledger)}/${id}.json`,
    query: new URLSearchParams({ ledger, id }).toString(),
  });
}

export class EventDocuments implements vscode.TextDocumentContentProvider {
  constructor(
    private readonly client: () => LanguageClient | undefined,
    private readonly cached: (ledger: string, id: string) => EventItem | undefined,
  ) {}

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const query = new URLSearchParams(uri.query);
    const ledger = query.get('ledger') ?? '';
    const id = query.get('id') ?? '';
    let event = this.cached(ledger, id);
    if (!event) event = (await this.client()?.sendRequest(EventRequest.type, { ledger, id })) ?? undefined;
    if (!event) return JSON.stringify({ error: `event ${id} is no longer in ${ledger}` }, null, 2) + '\n';
    const { id: eventId, ts, type, data, offset, length, line } = event;
    return JSON.stringify({ id: eventId, ts, type, data, ledger, offset, length, ...(line !== undefined ? { line } : {}) }, null, 2) + '\n';
  }
}
