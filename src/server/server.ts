/**
 * The Ledgerlock language server: hosts the engine for the editor. It discovers ledgers and
 * locks per workspace folder, keeps them current from the client's file watchers and a lock
 * timer, publishes diagnostics and quick fixes on ledger files, and answers the custom
 * requests of `protocol.ts`. All file I/O of the extension happens here.
 */
import * as path from 'node:path';
import { CodeActionKind, createConnection, DidChangeConfigurationNotification, ProposedFeatures, type WorkspaceFolder } from 'vscode-languageserver/node';
import { onTelemetry, storePaths, withinRoot, type VerifyReport } from '../engine';
import {
  type ActionResult,
  CompactLedgerRequest,
  CreateSnapshotRequest,
  SnapshotPlanRequest,
  EventLineRequest,
  LockSpansRequest,
  TimelineRequest,
  EventRequest,
  EventsPageRequest,
  type InitializationOptions,
  type LockItem,
  ProgressNotification,
  QuarantineRecordRequest,
  ReapLockRequest,
  RecoveriesChangedNotification,
  RecoveriesRequest,
  RefreshRequest,
  RepairTailRequest,
  RestoreSnapshotRequest,
  SnapshotDiffRequest,
  SnapshotFileRequest,
  SnapshotsNotification,
  SnapshotsRequest,
  StateNotification,
  TrustNotification,
  VerifyLedgerRequest,
  VerifySnapshotRequest,
} from '../protocol';
import { compactLedger, failure, quarantineRecord, reapStaleLock, repairTail, verifyLedger, type ActionContext } from './actions';
import { quickFixes } from './code-actions';
import { filePath, fileUri, lockDiagnostics, lockProblemUri, toDiagnostics } from './diagnostics';
import { oneJudgeAtATime } from './lock-item';
import { eventById, eventsPage, lineAt, recentRecoveries } from './events';
import { fromReport } from './ledger-item';
import { registerEventRequests } from './event-requests';
import { DEFAULT_SETTINGS, readFolderSettings } from './settings';
import { restoreFolderSnapshot, snapshotChanges, snapshotFileText, snapshotPlan, takeSnapshot, verifyFolderSnapshots } from './snapshot-actions';
import { SnapshotCatalog } from './snapshot-catalog';
import { RepairSessionRequest, SessionsNotification, SessionsRequest, ToolRootsNotification } from '../sessions-protocol';
import { SessionsModel } from './sessions';
import { lockSpans, timeline } from './timeline';
import { WorkspaceModel } from './workspace-model';

const LOCK_REEVALUATE_MS = 2_000;
const AGE_ONLY_PUSH_MS = 5_000;

const connection = createConnection(ProposedFeatures.all);
let trusted = false;
let folders: WorkspaceFolder[] = [];
let lastPush = 0;
let pushTimer: NodeJS.Timeout | undefined;
let lockTimer: NodeJS.Timeout | undefined;
const diagnosed = new Set<string>();

const model = new WorkspaceModel({
  stateChanged(structural) {
    if (structural) schedulePush(50);
    else if (Date.now() - lastPush >= AGE_ONLY_PUSH_MS) schedulePush(0);
  },
  ledgerVerified(ledgerPath, report) {
    publishDiagnostics(ledgerPath, report);
  },
  ledgerForgotten(ledgerPath) {
    publishDiagnostics(ledgerPath, undefined);
  },
  lockJudged(lockPath, item) {
    publishLockDiagnostics(lockPath, item);
  },
  recoveryLogChanged() {
    void connection.sendNotification(RecoveriesChangedNotification.type);
  },
});

const snapshots = new SnapshotCatalog(
  () => scheduleSnapshotsPush(),
  (line) => connection.console.info(line),
);
let snapshotsTimer: NodeJS.Timeout | undefined;

// Agent sessions outside the workspace (README.md, "Agent sessions"): under the tool roots the user turned on.
const sessions = new SessionsModel(
  () => snapshotFolders().map((uri) => ({ uri, name: folders.find((f) => f.uri === uri)?.name ?? uri, dir: filePath(uri) })),
  (state) => void connection.sendNotification(SessionsNotification.type, state),
  (line, level) => (level === 'warn' ? connection.console.warn(line) : connection.console.info(line)),
);

function scheduleSnapshotsPush(): void {
  if (snapshotsTimer) return;
  snapshotsTimer = setTimeout(() => {
    snapshotsTimer = undefined;
    void connection.sendNotification(SnapshotsNotification.type, snapshots.snapshot());
  }, 50);
}

const actions: ActionContext = {
  trusted: () => trusted,
  staleMsFor: (p) => {
    const folder = model.folderOf(p);
    return (folder && model.settingsOf(folder.uri)?.staleMs) ?? DEFAULT_SETTINGS.staleMs;
  },
  // Other tools' files fixed in a folder keep their removed bytes in that folder's one quarantine.
  quarantineFor: (p) => {
    const folder = model.folderOf(p);
    return folder ? storePaths(folder.root).quarantine : undefined;
  },
};

function schedulePush(delayMs: number): void {
  if (pushTimer) return;
  pushTimer = setTimeout(() => {
    pushTimer = undefined;
    lastPush = Date.now();
    void connection.sendNotification(StateNotification.type, model.snapshot());
  }, delayMs);
}

function publishDiagnostics(ledgerPath: string, report: VerifyReport | undefined): void {
  const diagnostics = report ? toDiagnostics(report) : [];
  if (diagnostics.length === 0 && !diagnosed.has(ledgerPath)) return;
  if (diagnostics.length === 0) diagnosed.delete(ledgerPath);
  else diagnosed.add(ledgerPath);
  void connection.sendDiagnostics({ uri: fileUri(ledgerPath), diagnostics });
}

/** Last message published per lock file, so the steady re-judging sends nothing new. */
const lockDiagnosed = new Map<string, string>();

function publishLockDiagnostics(lockPath: string, item: LockItem | undefined): void {
  const diagnostics = lockDiagnostics(item);
  const uri = lockProblemUri(lockPath, item);
  // The reason holds a ticking age: publish when the kind of problem changes, not every tick.
  const key = diagnostics.map((d) => `${uri}|${d.code}|${item?.state}|${item?.holder?.pid ?? ''}`).join('\n');
  const before = lockDiagnosed.get(lockPath) ?? '';
  if (before === key) return;
  if (key === '') lockDiagnosed.delete(lockPath);
  else lockDiagnosed.set(lockPath, key);
  // Cleared where it was last raised (the file or the lock's document), which may not be where it is now.
  const last = before.split('|')[0] ?? '';
  if (last !== '' && last !== uri) void connection.sendDiagnostics({ uri: last, diagnostics: [] });
  if (diagnostics.length > 0 || last === uri) void connection.sendDiagnostics({ uri, diagnostics });
}

async function scanFolder(folder: WorkspaceFolder): Promise<void> {
  const started = Date.now();
  const { settings, rejected } = await readFolderSettings(connection, folder.uri);
  for (const line of rejected) connection.console.warn(`${folder.name}: ${line}`);
  await model.setFolder(folder.uri, folder.name, filePath(folder.uri), settings);
  await snapshots.setFolder(folder.uri, folder.name, filePath(folder.uri));
  const state = model.snapshot().folders.find((f) => f.uri === folder.uri);
  connection.console.info(`scanned ${folder.name}: ${state?.locks.length ?? 0} locks, ${state?.ledgers.length ?? 0} ledgers in ${Date.now() - started} ms`);
  if (state?.limit) connection.console.warn(`${folder.name}: ${state.limit}`);
}

async function scanAll(): Promise<void> {
  await Promise.all(folders.filter((f) => f.uri.startsWith('file:')).map(scanFolder));
  schedulePush(0);
}

connection.onInitialize((params) => {
  const options = (params.initializationOptions ?? {}) as Partial<InitializationOptions>;
  trusted = options.trusted === true;
  folders = params.workspaceFolders ?? [];
  return {
    capabilities: {
      codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix] },
      workspace: { workspaceFolders: { supported: true, changeNotifications: true } },
    },
  };
});

connection.onInitialized(() => {
  void connection.client.register(DidChangeConfigurationNotification.type, { section: 'ledgerlock' });
  connection.workspace.onDidChangeWorkspaceFolders((event) => {
    for (const removed of event.removed) {
      model.removeFolder(removed.uri);
      snapshots.removeFolder(removed.uri);
      folders = folders.filter((f) => f.uri !== removed.uri);
    }
    folders.push(...event.added);
    void Promise.all(event.added.map(scanFolder)).then(() => schedulePush(0));
    void sessions.scan();
  });
  void scanAll();
  scheduleLockPass();
});

/** Lock passes are chained, never overlapping: the next starts LOCK_REEVALUATE_MS after the last one ended. */
function scheduleLockPass(): void {
  lockTimer = setTimeout(() => {
    void model.reevaluateLocks().finally(() => {
      if (lockTimer !== undefined) scheduleLockPass();
    });
  }, LOCK_REEVALUATE_MS);
}

connection.onDidChangeConfiguration(() => void scanAll());

connection.onDidChangeWatchedFiles((params) => {
  for (const change of params.changes) {
    if (!change.uri.startsWith('file:')) continue;
    model.fileChanged(filePath(change.uri));
    snapshots.fileChanged(filePath(change.uri));
  }
});

connection.onCodeAction((params) => quickFixes(params));

connection.onNotification(TrustNotification.type, ({ trusted: now }) => {
  trusted = now;
  connection.console.info(`workspace trust: ${now ? 'trusted' : 'restricted'}`);
});

connection.onNotification(ToolRootsNotification.type, ({ roots }) => sessions.setRoots(roots));

connection.onRequest(SessionsRequest.type, async () => {
  await sessions.scan();
  return sessions.snapshot();
});

connection.onRequest(RepairSessionRequest.type, async ({ session }) => {
  const result = await sessions.repair(session, trusted);
  log('repair session', session, result);
  return result;
});

connection.onRequest(RefreshRequest.type, async () => {
  void sessions.scan();
  await scanAll();
  return model.snapshot();
});

connection.onRequest(EventsPageRequest.type, async ({ ledger, cursor, limit, filter }) => {
  const started = Date.now();
  const page = await inFolder(ledger, () => eventsPage(ledger, cursor, Math.max(1, Math.min(limit, 1000)), filter));
  connection.console.debug(`page of ${path.basename(ledger)} (${page.events.length} events) in ${Date.now() - started} ms`);
  return page;
});

connection.onRequest(EventRequest.type, ({ ledger, id }) => inFolder(ledger, () => eventById(ledger, id)));

registerEventRequests(connection, inFolder, (p) => model.isKnownLedger(p) || model.recoveryLogs().includes(p) || sessions.sessionAt(p) !== undefined);

connection.onRequest(EventLineRequest.type, ({ ledger, offset }) =>
  model.isKnownLedger(ledger) || model.recoveryLogs().includes(ledger) || sessions.sessionAt(ledger)
    ? inFolder(ledger, () => lineAt(ledger, offset))
    : { line: null, error: `${ledger} is not a ledger of this workspace` },
);

connection.onRequest(TimelineRequest.type, async ({ ledger, from, to, bins }) => {
  if (!model.isKnownLedger(ledger) && !sessions.sessionAt(ledger)) throw new Error(`${ledger} is not a ledger of this workspace`);
  const reply = await inFolder(ledger, () => timeline(ledger, { from, to, bins }));
  connection.console.debug(`timeline of ${path.basename(ledger)}: ${reply.total} events binned in ${reply.tookMs} ms`);
  return reply;
});

connection.onRequest(LockSpansRequest.type, async ({ folder }) => {
  const state = model.snapshot().folders.find((f) => f.uri === folder);
  const root = state ? filePath(state.uri) : undefined;
  const logs = root ? model.recoveryLogs().filter((l) => !path.relative(root, l).startsWith('..')) : [];
  return { spans: lockSpans(await recentRecoveries(logs, 2000), state?.locks ?? [], Date.now()) };
});

connection.onRequest(RecoveriesRequest.type, ({ limit }) => recentRecoveries(model.recoveryLogs(), limit));

connection.onRequest(RepairTailRequest.type, async ({ ledger }) => {
  const result = await inFolder(ledger, () => repairTail(actions, ledger), { changes: true });
  await model.refreshLedger(ledger);
  log('repair tail', ledger, result);
  return result;
});

connection.onRequest(QuarantineRecordRequest.type, async ({ ledger, offset }) => {
  const result = await inFolder(ledger, () => quarantineRecord(actions, ledger, offset), { changes: true });
  await model.refreshLedger(ledger);
  log('quarantine record', ledger, result);
  return result;
});

connection.onRequest(CompactLedgerRequest.type, async ({ ledger, keep }) => {
  const result = await inFolder(ledger, () => compactLedger(actions, ledger, keep), { changes: true });
  await model.refreshLedger(ledger);
  log('compact', ledger, result);
  return result;
});

connection.onRequest(ReapLockRequest.type, async ({ lock, confirmUnknown }) => {
  const result = await inFolder(lock, () => oneJudgeAtATime(() => reapStaleLock(actions, lock, { confirmUnknown: confirmUnknown === true })), {
    changes: true,
  });
  await model.refreshLock(lock);
  log(confirmUnknown === true ? 'remove unknown lock' : 'reap', lock, result);
  return result;
});

connection.onRequest(VerifyLedgerRequest.type, async ({ ledger, progressToken }, token) => {
  // Cancel in the editor stops the scan at its next chunk.
  const abort = new AbortController();
  const cancelled = token.onCancellationRequested(() => abort.abort());
  try {
    const { result, report } = await inFolder(ledger, () =>
      verifyLedger(
        ledger,
        (percent) => {
          if (progressToken) void connection.sendNotification(ProgressNotification.type, { token: progressToken, percent });
        },
        abort.signal,
      ),
    );
    if (report) {
      publishDiagnostics(ledger, report);
      const folder = model.folderOf(ledger);
      const item = folder?.ledgers.get(ledger);
      if (folder && item) folder.ledgers.set(ledger, { ...fromReport(item, report), tailOnly: false });
      schedulePush(0);
    }
    return { ...result, health: report?.health ?? 'unknown', events: report?.events ?? 0 };
  } catch (err) {
    return { ...failure(err), health: 'unknown' as const, events: 0 };
  } finally {
    cancelled.dispose();
  }
});

connection.onRequest(SnapshotsRequest.type, async () => {
  await Promise.all(snapshotFolders().map((uri) => snapshots.refresh(uri)));
  return snapshots.snapshot();
});

connection.onRequest(SnapshotPlanRequest.type, ({ folder }) => {
  const root = openFolderRoot(folder);
  return root ? snapshotPlan(root) : { storeExists: false, files: [], ledgers: [], error: notAFolder(folder).message };
});

connection.onRequest(CreateSnapshotRequest.type, async ({ folder, label }) => {
  const root = openFolderRoot(folder);
  if (!root) return notAFolder(folder);
  const result = await takeSnapshot(trusted, root, label);
  await snapshots.refresh(folder);
  log('create snapshot', root, result);
  return result;
});

connection.onRequest(SnapshotDiffRequest.type, async ({ folder, id }) => {
  const root = openFolderRoot(folder);
  return root ? snapshotChanges(root, id) : { files: [], error: notAFolder(folder).message };
});

connection.onRequest(RestoreSnapshotRequest.type, async ({ folder, id }) => {
  const root = openFolderRoot(folder);
  if (!root) return notAFolder(folder);
  const result = await restoreFolderSnapshot(trusted, root, id);
  await snapshots.refresh(folder);
  log(`restore snapshot ${id}`, root, result);
  return result;
});

connection.onRequest(VerifySnapshotRequest.type, async ({ folder, id }) => {
  const root = openFolderRoot(folder);
  if (!root) return { ...notAFolder(folder), problems: [] };
  const { result, verify } = await verifyFolderSnapshots(trusted, root, id);
  if (verify) {
    const health = new Map(snapshots.hashesOf(folder, id).map((h) => [h, 'ok' as 'ok' | 'missing' | 'corrupt']));
    for (const p of verify.problems) health.set(p.hash, p.problem);
    await snapshots.recordChecks(folder, health);
  }
  log(`verify snapshot${id ? ` ${id}` : 's'}`, root, result);
  return result;
});

connection.onRequest(SnapshotFileRequest.type, async ({ folder, id, path: rel }) => {
  const root = openFolderRoot(folder);
  return root ? snapshotFileText(root, id, rel) : { error: notAFolder(folder).message };
});

/**
 * Runs a request's file work confined to the workspace folder that holds `p`: nothing it opens,
 * writes or removes may lie outside that folder (see engine/confine.ts). A listed agent session
 * is read confined to its tool root instead.
 */
function inFolder<T>(p: string, work: () => Promise<T>): Promise<T>;
function inFolder<T>(p: string, work: () => Promise<T>, opts: { changes: true }): Promise<T | ActionResult>;
function inFolder<T>(p: string, work: () => Promise<T>, opts?: { changes: true }): Promise<T | ActionResult> {
  const folder = model.folderOf(p);
  if (folder) return withinRoot(folder.root, work);
  // An agent session is read with its tool root as the root; it is changed only by RepairSessionRequest.
  const session = opts?.changes ? undefined : sessions.sessionAt(p);
  if (session) return withinRoot(session.root, work);
  if (opts?.changes)
    return Promise.resolve({
      ok: false,
      code: 'E_PATH_OUTSIDE_ROOT',
      message: `${p} is not inside an open workspace folder; Ledgerlock changes nothing there`,
    });
  return work();
}

function snapshotFolders(): string[] {
  return folders.filter((f) => f.uri.startsWith('file:')).map((f) => f.uri);
}

/**
 * An open workspace folder's root, known from the moment the editor names the folder: a
 * snapshot request made during the folder's first scan (a window just opened) is answered,
 * not refused as if the folder were not open.
 */
function openFolderRoot(uri: string): string | undefined {
  return uri.startsWith('file:') && folders.some((f) => f.uri === uri) ? filePath(uri) : undefined;
}

function notAFolder(folder: string): { ok: false; code: string; message: string } {
  return { ok: false, code: 'E_NOT_FOUND', message: `${folder} is not an open workspace folder` };
}

// What the server itself records in a recovery log shows up at once, before any watcher event.
onTelemetry((_event, storeDir) => {
  if (storeDir) {
    model.recoveryLogWritten(path.join(storeDir, 'telemetry.jsonl'));
    model.fileChanged(path.join(storeDir, 'telemetry.jsonl'));
  }
  void connection.sendNotification(RecoveriesChangedNotification.type);
});

connection.onShutdown(() => {
  if (lockTimer) clearTimeout(lockTimer);
  lockTimer = undefined;
  if (pushTimer) clearTimeout(pushTimer);
  if (snapshotsTimer) clearTimeout(snapshotsTimer);
  model.dispose();
  snapshots.dispose();
  sessions.dispose();
});

function log(action: string, target: string, result: { ok: boolean; message: string; code?: string }): void {
  const line = `${action} ${target}: ${result.ok ? 'ok' : `refused${result.code ? ` (${result.code})` : ''}`} — ${result.message}`;
  if (result.ok) connection.console.info(line);
  else connection.console.warn(line);
}

connection.listen();
