/**
 * The messages between the extension (UI) and the language server (engine host), each
 * declared once as a namespace holding its method name and its type, and imported by both
 * sides. Only plain JSON crosses this boundary: the extension never sees a file format.
 */
import { NotificationType, NotificationType0, RequestType, RequestType0 } from 'vscode-languageserver-protocol';
import type { ReasonAge } from './shared/reason-ages';
import type { VantageInfo } from './shared/vantage';

type LockState = 'held' | 'contended' | 'stale' | 'orphaned' | 'unknown' | 'free';
type LedgerHealth = 'ok' | 'torn' | 'corrupt' | 'unknown';

export interface LockHolder {
  pid?: number;
  host?: string;
  owner?: string;
  tool?: string;
  acquiredAt?: string;
}

/** One fact behind a lock verdict (a kernel lock, an open handle, the named pid, ...). */
interface LockEvidenceItem {
  kind: 'pid' | 'flock' | 'posix' | 'ofd' | 'open' | 'waiter' | 'heartbeat' | 'content' | 'probe' | 'vantage';
  pid?: number;
  command?: string;
  detail: string;
}

export interface LockItem {
  path: string;
  /** Workspace folder URI the lock belongs to. */
  folder: string;
  kind: string;
  state: LockState;
  reason: string;
  ageMs: number | null;
  /**
   * When `ageMs` and the elapsed times in `reason` (`reasonAges`) were measured (epoch ms):
   * the editor adds the time since when it draws them, so no age it shows is frozen.
   */
  judgedAt?: number;
  reasonAges?: ReasonAge[];
  holder: LockHolder | null;
  reapable: boolean;
  /** A live holder has kept it longer than the contention threshold. */
  overThreshold: boolean;
  /** Which tool's rules judged it: ledgerlock, hardkas, authmux, claude-flow, remnic, proper-lockfile, git, flock, generic. */
  profile?: string;
  /** What the verdict rests on, strongest first. */
  evidence?: LockEvidenceItem[];
  /** The file the lock protects, when its tool's layout says. */
  guards?: string | null;
  /** Held longer than the contention threshold with nobody waiting: information, not a warning. */
  longHeld?: boolean;
  /** Processes seen waiting for it. */
  waiters?: number;
  /** A live holder was seen (kernel lock, open handle, or the named pid running). */
  alive?: boolean | null;
}

export interface LedgerItem {
  path: string;
  folder: string;
  format: string;
  bytes: number;
  events: number | null;
  lastId: number | string | null;
  health: LedgerHealth;
  /** One line per problem, for tooltips; empty when healthy. */
  problems: string[];
  /** Big ledgers are only checked at the tail to draw the view; Verify checks them whole. */
  tailOnly?: boolean;
  error?: string;
}

export interface FolderState {
  uri: string;
  name: string;
  locks: LockItem[];
  ledgers: LedgerItem[];
  /** Discovery stopped at a budget (entries walked, locks or ledgers kept); the lists may be incomplete. */
  truncated: boolean;
  /** When truncated: where counting stopped, in a sentence (e.g. "stopped counting at 20,000 locks"). */
  limit?: string;
  /** The first scan is still running: what is listed is what was found so far. */
  scanning?: boolean;
}

export type { VantageInfo };

export interface WorkspaceState {
  folders: FolderState[];
  /** Server time the lock ages were evaluated at. */
  evaluatedAt: number;
  /** The same for the server's whole life; absent only before its first state arrives. */
  vantage?: VantageInfo;
}

/**
 * Whether Reap is offered for a lock: only a provably dead holder's. An unknown lock is never
 * reaped by a plain Reap; only "Remove Lock Anyway…" removes it, after a confirmation.
 */
export function offersReap(lock: Pick<LockItem, 'reapable' | 'state'>): boolean {
  return lock.reapable && lock.state !== 'unknown';
}

/**
 * The scheme of a lock's read-only description document. A problem on a lock that VS Code
 * cannot open as text (a lock folder, binary content) is raised on this document instead, so
 * clicking it opens the lock's state and actions with a working light bulb (README.md, "In VS Code").
 */
export const LOCK_DOCUMENT_SCHEME = 'ledgerlock-about-lock';

/** Whether a lock's problem is raised on its description document rather than on the file. */
export function describedByDocument(lock: Pick<LockItem, 'kind'>): boolean {
  // `unknown` is the engine's kind for content it cannot read as text (binary, invalid UTF-8).
  return lock.kind === 'directory' || lock.kind === 'unknown';
}

export interface EventItem {
  id: number | string;
  ts: string | null;
  type: string;
  offset: number;
  length: number;
  line?: number;
  data: unknown;
}

export interface RecoveryItem {
  /** The telemetry ledger the event was read from. */
  source: string;
  id: number | string;
  ts: string | null;
  type: string;
  data: unknown;
}

/** What the client tells the server at start (initializationOptions). */
export interface InitializationOptions {
  trusted: boolean;
}

/** An engine refusal or failure, as the client shows it. */
export interface ActionResult {
  ok: boolean;
  message: string;
  code?: string;
  /** The condition the action was meant to fix had already gone (a lock reaped meanwhile). */
  cleared?: boolean;
  /** Where a fix kept the bytes it removed (a quarantine file), for the outcome's Reveal. */
  keptAt?: string;
}

export namespace StateNotification {
  export const method = 'ledgerlock/state';
  export const type = new NotificationType<WorkspaceState>(method);
}

export namespace RecoveriesChangedNotification {
  export const method = 'ledgerlock/recoveriesChanged';
  export const type = new NotificationType0(method);
}

export namespace TrustNotification {
  export const method = 'ledgerlock/trust';
  export const type = new NotificationType<{ trusted: boolean }>(method);
}

export namespace ProgressNotification {
  export const method = 'ledgerlock/progress';
  export const type = new NotificationType<{ token: string; message?: string; percent?: number }>(method);
}

/** Events whose type is one of `types` (when given) and whose text contains `text` (case-insensitive). */
export interface EventFilter {
  types?: string[];
  text?: string;
  /** Epoch ms bounds, inclusive (a bar of the Timeline). */
  from?: number;
  to?: number;
}

export namespace EventsPageRequest {
  export const method = 'ledgerlock/eventsPage';
  /** With a filter, a page may hold fewer than `limit` events: the server reads a bounded number per request. */
  export const type = new RequestType<
    { ledger: string; cursor: string | null; limit: number; filter?: EventFilter },
    {
      events: EventItem[];
      next: string | null;
      scanned: number;
      /** The ledger's events (not only those matching a filter), when known without a full read. */
      total?: number | null;
      /** The newest event's id in the file when the first page was read: where Follow goes on from. */
      newestId?: number | string | null;
    },
    void
  >(method);
}

/**
 * Follow: the events written after `afterId` (oldest never re-read: the server reads forward
 * from its sparse index entry), newest first, at most `limit`; `more` when there were more.
 */
export namespace EventsSinceRequest {
  export const method = 'ledgerlock/eventsSince';
  export const type = new RequestType<
    { ledger: string; afterId: number | string; limit: number; filter?: EventFilter },
    { events: EventItem[]; more: boolean; newestId: number | string | null; total: number | null },
    void
  >(method);
}

/** Copy Event JSON: the record's line as the file holds it (no newline), or null when it is no longer there. */
export namespace EventRawRequest {
  export const method = 'ledgerlock/eventRaw';
  export const type = new RequestType<{ ledger: string; offset: number; length: number }, { text: string | null; error?: string }, void>(method);
}

/** The 1-based line of the record that starts at `offset` (Reveal in Ledger File). */
export namespace EventLineRequest {
  export const method = 'ledgerlock/eventLine';
  export const type = new RequestType<{ ledger: string; offset: number }, { line: number | null; error?: string }, void>(method);
}

export namespace EventRequest {
  export const method = 'ledgerlock/event';
  export const type = new RequestType<{ ledger: string; id: string }, EventItem | null, void>(method);
}

export namespace RecoveriesRequest {
  export const method = 'ledgerlock/recoveries';
  export const type = new RequestType<{ limit: number }, RecoveryItem[], void>(method);
}

export namespace RefreshRequest {
  export const method = 'ledgerlock/refresh';
  export const type = new RequestType0<WorkspaceState, void>(method);
}

export namespace RepairTailRequest {
  export const method = 'ledgerlock/repairTail';
  export const type = new RequestType<{ ledger: string }, ActionResult, void>(method);
}

export namespace QuarantineRecordRequest {
  export const method = 'ledgerlock/quarantineRecord';
  export const type = new RequestType<{ ledger: string; offset: number }, ActionResult, void>(method);
}

export namespace ReapLockRequest {
  export const method = 'ledgerlock/reapLock';
  /**
   * `confirmUnknown`: the person confirmed removing a lock whose state is unknown ("Remove Lock
   * Anyway…"); a holder the server can see is refused even so.
   */
  export const type = new RequestType<{ lock: string; confirmUnknown?: boolean }, ActionResult, void>(method);
}

export namespace CompactLedgerRequest {
  export const method = 'ledgerlock/compactLedger';
  export const type = new RequestType<{ ledger: string; keep: number }, ActionResult, void>(method);
}

export namespace VerifyLedgerRequest {
  export const method = 'ledgerlock/verifyLedger';
  export const type = new RequestType<{ ledger: string; progressToken?: string }, ActionResult & { health: LedgerHealth; events: number }, void>(method);
}

// ---- Snapshots (point-in-time copies of a store's state documents) ----

export interface SnapshotFileItem {
  /** Workspace-relative, `/`-separated. */
  path: string;
  size: number;
}

/** A referenced blob that is missing or does not hash to its name. */
export interface SnapshotProblem {
  hash: string;
  /** The blob file. */
  path: string;
  problem: 'missing' | 'corrupt';
  usedBy: { snapshot: string; path: string }[];
}

export interface SnapshotItem {
  id: string;
  label?: string;
  createdAt: string;
  bytes: number;
  current: boolean;
  files: SnapshotFileItem[];
}

export interface SnapshotFolderState {
  /** Workspace folder URI. */
  uri: string;
  name: string;
  /** Oldest first. */
  snapshots: SnapshotItem[];
  problems: SnapshotProblem[];
  /** Manifests that could not be read, one line each. */
  unreadable: string[];
  /** Referenced blobs not yet re-hashed (the background check works through them in bounded passes). */
  unchecked: number;
  error?: string;
}

export interface SnapshotsState {
  folders: SnapshotFolderState[];
}

export namespace SnapshotsNotification {
  export const method = 'ledgerlock/snapshots';
  export const type = new NotificationType<SnapshotsState>(method);
}

export namespace SnapshotsRequest {
  export const method = 'ledgerlock/snapshotsList';
  export const type = new RequestType0<SnapshotsState, void>(method);
}

export namespace CreateSnapshotRequest {
  export const method = 'ledgerlock/createSnapshot';
  export const type = new RequestType<{ folder: string; label?: string }, ActionResult & { id?: string }, void>(method);
}

/**
 * What Create Snapshot would hold in a folder, found without changing anything: whether a store
 * exists (else one is created first), the files it would capture and the ledgers whose
 * positions it would record (workspace-relative). The editor asks before creating a store and
 * refuses a snapshot that would hold nothing.
 */
export namespace SnapshotPlanRequest {
  export const method = 'ledgerlock/snapshotPlan';
  export const type = new RequestType<{ folder: string }, { storeExists: boolean; files: string[]; ledgers: string[]; error?: string }, void>(method);
}

export namespace SnapshotDiffRequest {
  export const method = 'ledgerlock/snapshotDiff';
  export const type = new RequestType<
    { folder: string; id: string },
    { files: { path: string; change: 'added' | 'removed' | 'modified' }[]; error?: string },
    void
  >(method);
}

export namespace RestoreSnapshotRequest {
  export const method = 'ledgerlock/restoreSnapshot';
  export const type = new RequestType<{ folder: string; id: string }, ActionResult & { written?: string[]; removed?: string[]; backup?: string | null }, void>(
    method,
  );
}

export namespace VerifySnapshotRequest {
  export const method = 'ledgerlock/verifySnapshot';
  export const type = new RequestType<{ folder: string; id?: string }, ActionResult & { problems: SnapshotProblem[] }, void>(method);
}

export namespace SnapshotFileRequest {
  export const method = 'ledgerlock/snapshotFile';
  export const type = new RequestType<{ folder: string; id: string; path: string }, { content?: string; error?: string }, void>(method);
}

// ---- Timeline (aggregated by the server; the webview never receives raw events) ----

export interface TimelineReply {
  /** Epoch ms of the first bin's start and the last bin's end (bins are aligned to their width). */
  from: number;
  to: number;
  binMs: number;
  /**
   * The range drawn: the zoom asked for, kept as it is; without one the ledger's first to
   * newest event, known from the file's ends before the counting reaches them.
   */
  viewFrom: number;
  viewTo: number;
  /** The busiest types in the range, in the order they first appear in the file; the rest summed as "other (N types)". */
  types: string[];
  /** Each type's colour slot: the order of its first appearance in the file, the same on every answer; -1 for "other". */
  slots: number[];
  /** counts[type][bin]. */
  counts: number[][];
  /** Events in the ledger (read), and in [from, to). */
  total: number;
  inRange: number;
  /** Events without a readable time (not drawn). */
  undated: number;
  /** Only the newest events were read (memory budget). */
  truncated: boolean;
  /** Still counting (oldest first): ask again for the rest. */
  partial: boolean;
  /** While partial: bytes of the file counted, of how many; the newest time counted; the events the whole file likely holds. */
  progress?: { bytesRead: number; bytesTotal: number; countedTo: number | null; estimatedTotal: number | null } | undefined;
  /** The locks that guard this ledger: its own append lock, or the lock its tool takes for the file. */
  guards: string[];
  tookMs: number;
}

export namespace TimelineRequest {
  export const method = 'ledgerlock/timeline';
  export const type = new RequestType<{ ledger: string; from?: number; to?: number; bins?: number }, TimelineReply, void>(method);
}

export interface LockSpan {
  lock: string;
  /** hold: someone held it; wait: someone waited (LOCK_CONTENDED); gave-up: waited and timed out; reaped: a crashed holder's lock was taken back. */
  kind: 'hold' | 'wait' | 'gave-up' | 'reaped';
  start: number;
  end: number;
  pid?: number | undefined;
  tool?: string | undefined;
  /** A hold still going on now. */
  live: boolean;
  /** For waits: whom they waited for. */
  holderPid?: number | undefined;
}

export namespace LockSpansRequest {
  export const method = 'ledgerlock/lockSpans';
  /** `folder`: a workspace folder URI; the spans of its stores and locks. */
  export const type = new RequestType<{ folder: string }, { spans: LockSpan[] }, void>(method);
}
