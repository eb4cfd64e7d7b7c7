/**
 * What every Ledgerlock command is: an id, a handler, and whether it changes files (then it is
 * refused in restricted mode before the handler runs). The handlers live one file per group
 * (locks, ledgers, events, snapshots, workspace) and are registered from one table (index.ts).
 * Each returns what happened, so callers (and tests) can see it.
 */
import * as vscode from 'vscode';
import type { LanguageClient, RequestType } from 'vscode-languageclient/node';
import type { ActionResult } from '../../protocol';
import type { AgentSessions } from '../agent-sessions';
import type { Alerts } from '../alerts';
import { reportResult } from '../feedback';
import type { ServerState } from '../server-state';
import type { TimelinePanels } from '../timeline-panel';
import type { LedgersView } from '../views/ledgers-view';
import type { LocksView } from '../views/locks-view';
import type { SessionsView } from '../views/sessions-view';

export interface CommandContext {
  client: () => LanguageClient | undefined;
  state: ServerState;
  log: vscode.LogOutputChannel;
  locks: LocksView;
  ledgers: LedgersView;
  alerts: Alerts;
  timelines: TimelinePanels;
  sessions: AgentSessions;
  sessionsView: SessionsView;
}

export interface Command {
  id: `ledgerlock.${string}`;
  /** A command that changes files: refused in restricted mode, and named so in the refusal. */
  changesFiles?: string;
  /** `never[]`: each handler declares the arguments it takes (a tree node, a path, options). */
  run(ctx: CommandContext, ...args: never[]): unknown;
}

/** Programmatic callers that already asked the person (or tests) may skip the modal. */
export interface CommandOptions {
  confirmed?: boolean;
}

export const UNTRUSTED = { ok: false, code: 'E_UNTRUSTED', message: 'refused in restricted mode' } as const;

/** The running client; throws when the server is not running (a command cannot work without it). */
export function server(ctx: CommandContext): LanguageClient {
  const client = ctx.client();
  if (!client) throw new Error('the Ledgerlock server is not running');
  return client;
}

export function request<P, R>(ctx: CommandContext, type: RequestType<P, R, void>, params: P): Promise<R> {
  return server(ctx).sendRequest(type, params);
}

/** A modal asking before a destructive step; `options.confirmed` skips it. */
export async function confirm(options: CommandOptions | undefined, message: string, detail: string, action: string): Promise<boolean> {
  if (options?.confirmed) return true;
  const choice = await vscode.window.showWarningMessage(message, { modal: true, detail }, action);
  return choice === action;
}

export function report<T extends ActionResult>(ctx: CommandContext, result: T): T {
  return reportResult(ctx.log, result);
}
