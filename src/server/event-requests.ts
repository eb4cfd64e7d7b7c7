/**
 * The Ledgers view's Follow and Copy Event JSON requests (docs/ARCHITECTURE.md, "Protocol
 * contract"): read-only, only on ledgers the server knows, and each inside the workspace folder
 * (or agent-session root) the ledger is in, like every other read of the server.
 */
import { ErrorCodes, ResponseError, type Connection } from 'vscode-languageserver/node';
import { ErrorCode, isLedgerlockError, LedgerlockError } from '../engine';
import { EventRawRequest, EventsSinceRequest } from '../protocol';
import { eventRaw, eventsSince } from './events';

/** New events read per Follow request; a bigger burst starts the view's pages over. */
const SINCE_MAX = 1_000;

export function registerEventRequests(
  connection: Connection,
  inFolder: <T>(p: string, work: () => Promise<T>) => Promise<T>,
  isKnown: (p: string) => boolean,
): void {
  connection.onRequest(EventsSinceRequest.type, async ({ ledger, afterId, limit, filter }) => {
    try {
      if (!isKnown(ledger)) throw new LedgerlockError(ErrorCode.NotALedger, `${ledger} is not a ledger of this workspace`, { path: ledger });
      return await inFolder(ledger, () => eventsSince(ledger, afterId, Math.max(1, Math.min(limit, SINCE_MAX)), filter));
    } catch (err) {
      // The error's stable code travels in the reply's data, so the editor (and tests) match on it.
      if (isLedgerlockError(err)) throw new ResponseError(ErrorCodes.InvalidParams, err.message, { code: err.code });
      throw err;
    }
  });
  connection.onRequest(EventRawRequest.type, ({ ledger, offset, length }) =>
    isKnown(ledger) ? inFolder(ledger, () => eventRaw(ledger, offset, length)) : { text: null, error: `${ledger} is not a ledger of this workspace` },
  );
}
