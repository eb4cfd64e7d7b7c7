/**
 * Ledgerlock's VS Code client. UI only: it starts the language server that hosts the engine
 * and renders what the server reports. Activation does no file I/O of its own.
 */
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { LOCK_DOCUMENT_SCHEME, TrustNotification, type WorkspaceState } from '../protocol';
import { AgentSessions } from './agent-sessions';
import { Alerts } from './alerts';
import { startClient } from './client';
import { registerCommands } from './commands';
import { Decorations } from './decorations';
import { EVENT_SCHEME, EventDocuments } from './event-documents';
import { LockDocuments } from './lock-documents';
import { ServerState } from './server-state';
import { SNAPSHOT_SCHEME, SnapshotDocuments } from './snapshot-documents';
import { StatusBar } from './status-bar';
import { TimelinePanels } from './timeline-panel';
import { LedgersView } from './views/ledgers-view';
import { LocksView } from './views/locks-view';
import { RecoveryLogView } from './views/recovery-log-view';
import { SessionsView } from './views/sessions-view';
import { SnapshotsView } from './views/snapshots-view';

let client: LanguageClient | undefined;

/** What the extension exports, for its own tests. */
export interface LedgerlockApi {
  state: ServerState;
  locks: LocksView;
  ledgers: LedgersView;
  recoveryLog: RecoveryLogView;
  snapshots: SnapshotsView;
  sessions: AgentSessions;
  status: vscode.StatusBarItem;
  statusBar: StatusBar;
  alerts: Alerts;
  decorations: Decorations;
  timelines: TimelinePanels;
  activationMs: number;
  /** Epoch ms when activation began. */
  activatedAt: number;
  ready: Promise<WorkspaceState>;
  /** The language client, once started (tests talk to the server directly through it). */
  client: () => LanguageClient | undefined;
}

export function activate(context: vscode.ExtensionContext): LedgerlockApi {
  const started = performance.now();
  const activatedAt = Date.now();
  const log = vscode.window.createOutputChannel('Ledgerlock', { log: true });
  const state = new ServerState();
  const getClient = () => client;
  const locks = new LocksView(state);
  const ledgers = new LedgersView(state, getClient, log);
  const recoveryLog = new RecoveryLogView(state, getClient);
  const snapshots = new SnapshotsView(state);
  const status = new StatusBar(state);
  const alerts = new Alerts(state, context.workspaceState, log);
  const decorations = new Decorations(state);
  const timelines = new TimelinePanels(context.extensionUri, getClient, state, ledgers, log);
  const sessions = new AgentSessions(log, (session) => vscode.commands.executeCommand('ledgerlock.repairSession', session, { confirmed: true }));
  const sessionsView = new SessionsView(sessions, getClient, log);
  const lockDocuments = new LockDocuments(state);
  context.subscriptions.push(
    log,
    state,
    locks,
    ledgers,
    recoveryLog,
    snapshots,
    status,
    alerts,
    decorations,
    timelines,
    sessions,
    sessionsView,
    vscode.workspace.registerTextDocumentContentProvider(EVENT_SCHEME, new EventDocuments(getClient, (l, id) => ledgers.cachedEvent(l, id))),
    vscode.workspace.registerTextDocumentContentProvider(SNAPSHOT_SCHEME, new SnapshotDocuments(getClient)),
    lockDocuments,
    vscode.workspace.registerTextDocumentContentProvider(LOCK_DOCUMENT_SCHEME, lockDocuments),
    vscode.languages.registerCodeLensProvider({ scheme: LOCK_DOCUMENT_SCHEME }, lockDocuments),
    ...registerCommands({ client: getClient, state, log, locks, ledgers, alerts, timelines, sessions, sessionsView }),
    vscode.workspace.onDidGrantWorkspaceTrust(() => void client?.sendNotification(TrustNotification.type, { trusted: true })),
  );
  // The server starts in the background; activation returns at once.
  const clientStarted = performance.now();
  const ready = startClient(context, log, state).then(
    (c) => {
      client = c;
      sessions.attach(c);
      log.info(`server started in ${Math.round(performance.now() - clientStarted)} ms`);
      return state
        .waitFor(() => true, 60_000)
        .then((s) => {
          log.info(`first workspace state after ${Math.round(performance.now() - started)} ms`);
          return s;
        });
    },
    (err: unknown) => {
      log.error(`the Ledgerlock server failed to start: ${(err as Error).message}`);
      throw err;
    },
  );
  ready.catch(() => undefined);
  const activationMs = performance.now() - started;
  log.info(`activated in ${activationMs.toFixed(1)} ms (${vscode.workspace.isTrusted ? 'trusted' : 'restricted mode'})`);
  return {
    state,
    locks,
    ledgers,
    recoveryLog,
    snapshots,
    sessions,
    status: status.item,
    statusBar: status,
    alerts,
    decorations,
    timelines,
    activationMs,
    activatedAt,
    ready,
    client: getClient,
  };
}

export async function deactivate(): Promise<void> {
  await client?.stop();
  client = undefined;
}
