/**
 * The messages about agent sessions between the extension and the language server (README.md,
 * "Agent sessions"): the per-user tool roots the person turned on go to the server, the sessions
 * it finds for each open folder come back. Only plain JSON crosses this boundary, as in
 * protocol.ts.
 */
import { NotificationType, RequestType, RequestType0 } from 'vscode-languageserver-protocol';
import type { ActionResult } from './protocol';

/** One damaged line of a session, as the view and the summary name it. */
interface SessionProblem {
  kind: string;
  line: number;
  offset: number;
  message: string;
}

export interface SessionItem {
  /** The workspace folder (URI) whose session it is. */
  folder: string;
  tool: string;
  /** The tool root it was found under (the confinement root of every read and the repair). */
  root: string;
  path: string;
  sessionId: string | null;
  bytes: number;
  /** Last change of the file (ISO): the session's last activity. */
  modifiedAt: string;
  health: 'ok' | 'torn' | 'corrupt' | 'unknown';
  /** `whole`: every line checked; `tail`: a big file, its end only; `none`: not readable. */
  checked: 'whole' | 'tail' | 'none';
  records: number | null;
  problems: SessionProblem[];
  /** Who writes it now (a live session marker, an open handle), in words; repair is refused while any is. */
  writing: string[];
  error?: { code: string; message: string };
}

export interface SessionLockItem {
  tool: string;
  path: string;
  state: string;
  reason: string;
}

export interface SessionsState {
  /** The tool roots turned on in user settings, as the server took them. */
  roots: { tool: string; root: string; exists: boolean; error?: string }[];
  /** Entries of `ledgerlock.toolRoots` that were refused, in words. */
  rejected: string[];
  folders: { uri: string; name: string; sessions: SessionItem[]; truncated: boolean }[];
  /** Locks kept in tool roots (authmux's `registry.json.lock`). */
  locks: SessionLockItem[];
  /** A search is running. */
  scanning: boolean;
}

/** Client → server: the user- and machine-level value of `ledgerlock.toolRoots` (never a workspace's). */
export const ToolRootsNotification = { type: new NotificationType<{ roots: unknown }>('ledgerlock/toolRoots') };

/** Server → client: the sessions found, after every search that changed something. */
export const SessionsNotification = { type: new NotificationType<SessionsState>('ledgerlock/sessions') };

/** Searches every tool root again and answers with what it found. */
export const SessionsRequest = { type: new RequestType0<SessionsState, void>('ledgerlock/sessionsList') };

/** Repairs one session file the server listed, under its tool root; refused while its tool writes it. */
export const RepairSessionRequest = { type: new RequestType<{ session: string }, ActionResult & { kept?: string[] }, void>('ledgerlock/repairSession') };
