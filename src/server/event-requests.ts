/**
 * The Ledgers view's Follow and Copy Event JSON requests (docs/ARCHITECTURE.md, "Protocol
 * contract"): read-only, and each inside the workspace folder (or agent-session root) the
 * ledger is in, like every other read of the server.
 */
import type { Connection } from 'vscode-languageserver/node';
import { EventRawRequest, EventsSinceRequest } from '../protocol';
import { eventRaw, eventsSince } from './events';

/** New events read per Follow request; a bigger burst starts the view's pages over. */
const SINCE_MAX = 1_000;

export function registerEventRequests(
  connection: Connection,
  inFolder: <T>(p: string, work: () => Promise<T>) => Promise<T>,
  isKnown: (p: string) => boolean,
): void {
  connection.onRequest(EventsSinceRequest.type, ({ ledger, afterId, limit, filter }) =>
    inFolder(ledger, () => eventsSince(ledger, afterId, Math.max(1, Math.min(limit, SINCE_MAX)), filter)),
  );
  connection.onRequest(EventRawRequest.type, ({ ledger, offset, length }) =>
    isKnown(ledger) ? inFolder(ledger, () => eventRaw(ledger, offset, length)) : { text: null, error: `${ledger} is not a ledger of this workspace` },
  );
}
