/**
 * Events open as read-only JSON documents on the `ledgerlock-event:` scheme, titled like
 * `audit.jsonl #239`. A content provider's documents cannot be edited or saved, so a ledger is
 * never changed from here.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { EventRequest, type EventItem } from '../protocol';

export const EVENT_SCHEME = 'ledgerlock-event';

export function eventUri(ledger: string, id: string): vscode.Uri {
  return vscode.Uri.from({
    scheme: EVENT_SCHEME,
    // The last segment is the tab title; the folder tells two same-named ledgers apart.
    path: `/${path.basename(path.dirname(ledger))}/${path.basename(ledger)} #${id}`,
    query: new URLSearchParams({ ledger, id }).toString(),
  });
}

/** What Copy Event JSON copies and the event document shows: the event as the ledger holds it. */
function eventJson(event: EventItem): { id: number | string; ts: string | null; type: string; data: unknown } {
  return { id: event.id, ts: event.ts, type: event.type, data: event.data };
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
    const { offset, length, line } = event;
    return JSON.stringify({ ...eventJson(event), ledger, offset, length, ...(line !== undefined ? { line } : {}) }, null, 2) + '\n';
  }
}
