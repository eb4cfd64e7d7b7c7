/**
 * The server's picture of the workspace: per folder, its locks, ledgers and recovery logs.
 * Built by one scan per folder, then kept current from file-watcher events and a timer that
 * re-inspects locks (a lock grows stale with no file event when its holder dies).
 */
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { isProcessAlive, storePaths, vantageSummary, withinRoot, type KernelLockMemory, type VerifyReport } from '../engine';
import type { FolderState, LedgerItem, LockItem, WorkspaceState } from '../protocol';
import { FolderClassifier, SCAN_LIMITS, type FileRole } from './discovery';
import { summarizeLedger } from './ledger-item';
import { KeyedDebouncer, mapLimit } from './concurrency';
import { summarizeLocks } from './lock-item';
import type { FolderSettings } from './settings';

export interface ModelListener {
  /** `structural`: something other than lock ages changed. */
  stateChanged(structural: boolean): void;
  ledgerVerified(ledgerPath: string, report: VerifyReport | undefined): void;
  ledgerForgotten(ledgerPath: string): void;
  /** A lock was looked at again (undefined: it is gone). */
  lockJudged(lockPath: string, item: LockItem | undefined): void;
  recoveryLogChanged(): void;
}

/** Locks re-judged at most per pass, so a pass costs the same with 100k locks as with 5k. */
const MAX_JUDGED_PER_PASS = 2_000;
/** Locks judged against one look at /proc and at the recovery log (its waiters). */
const LOCK_BATCH = 256;
/** Locks re-judged per pass in rotation beyond those due, to catch what no clock or pid check shows. */
const ROTATION_PER_PASS = 16;
/** A created folder is looked into again this long after its event: files written just after it may bring no event of their own. */
const FOLDER_LOOK_AGAIN_MS = 1_000;
/** Locks nobody holds (stale, orphaned, free, unknown) re-judged every pass: one batch, one look at /proc. */
const UNHELD_PER_PASS = LOCK_BATCH;
/** Locks (and ledgers) inspected between two pushes of the first scan, so the view fills as it goes. */
const SCAN_CHUNK = 1_000;
const PROGRESS_PUSH_MS = 1_000;
/**
 * Ledgers whose size and mtime are looked at per pass, in rotation. A file watcher can miss
 * writes: the editor's reported three of a log's 1,000 appends in 100 s, and a write from the
 * other side of a container or WSL mount brings no event at all.
 */
const LEDGER_LOOKS_PER_PASS = 256;
/**
 * Folders that held a lock or a ledger this session, whose mtime is looked at per pass in
 * rotation: a file created with no watcher event (a missed create, a write from the other side
 * of a container mount) is found when its folder's mtime moves. At most MAX_LOOKED_FOLDERS are
 * remembered per workspace folder; a folder first seen past that is left to the watcher.
 */
const FOLDER_LOOKS_PER_PASS = 64;
const MAX_LOOKED_FOLDERS = 1_024;
/** How far a folder's mtime may lag the clock that set knownSince (a coarse file-system clock, a file written from another machine's clock). */
const MTIME_SLACK_MS = 2_000;
/** Entries of one changed folder looked at (one level, never below). */
const FOLDER_LOOK_ENTRIES = 5_000;

interface LockEntry {
  item: LockItem;
  judgedAt: number;
  /**
   * When the verdict can change with no file event, as the engine says (an age passes a window
   * of the rules that judged it: verdictChangesIn); Infinity: only a file or process event.
   */
  dueAt: number;
}

class FolderModel {
  readonly locks = new Map<string, LockEntry>();
  readonly ledgers = new Map<string, LedgerItem>();
  readonly recoveryLogs = new Set<string>();
  /** Lock inodes seen under a kernel lock: such a zero-byte file at rest is free, not stale. */
  readonly kernelLocked: KernelLockMemory = new Set();
  /** Each ledger's size, mtime and inode when it was last read: a pass that finds them changed reads it again. */
  readonly ledgerLooks = new Map<string, string>();
  ledgerRotation = 0;
  /**
   * Folders that held a lock or ledger (see FOLDER_LOOKS_PER_PASS): their mtime and inode at the
   * last look (undefined before the first), and since when their names are known. A folder the
   * first scan listed is known from the scan's start: a first look that finds it unchanged since
   * then reads nothing, so a big workspace's folders are not all read again after its scan.
   */
  readonly folderLooks = new Map<string, { look?: string; knownSince: number }>();
  folderRotation = 0;
  readonly scanStartedAt = Date.now();
  truncated = false;
  limit: string | undefined;
  scanning = true;
  readonly classifier: FolderClassifier;

  constructor(
    readonly uri: string,
    readonly name: string,
    readonly root: string,
    readonly settings: FolderSettings,
  ) {
    this.classifier = new FolderClassifier(root, settings);
    // The store's own folders are looked at even before they exist: the first lock or ledger
    // made there must not wait for a watcher event.
    const store = storePaths(root);
    this.rememberFolder(store.locks);
    this.rememberFolder(store.ledgers);
  }

  /** The folder of a lock or ledger joins the pass's folder looks. */
  remember(filePath: string): void {
    this.rememberFolder(path.dirname(filePath));
  }

  private rememberFolder(dir: string): void {
    if (this.folderLooks.has(dir) || this.folderLooks.size >= MAX_LOOKED_FOLDERS) return;
    // During the first scan a folder is one its walk lists whole (or has listed); after it, a
    // folder met through one file's event has never been listed.
    this.folderLooks.set(dir, { knownSince: this.scanning ? this.scanStartedAt : 0 });
  }

  /** Whether `p` may be added to `list` (a watcher event after the scan stopped counting must not grow it). */
  admits(list: Map<string, unknown>, p: string, cap: number, what: string): boolean {
    if (list.has(p) || list.size < cap) return true;
    this.stoppedCounting(cap, what);
    return false;
  }

  stoppedCounting(cap: number, what: string): void {
    this.truncated = true;
    this.limit = `stopped counting at ${cap.toLocaleString('en-US')} ${what}, the most one folder lists`;
  }

  state(now: number): FolderState {
    const byPath = <T extends { path: string }>(a: T, b: T) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
    // Ages move on between judgements: add the time since each lock was judged.
    const locks = [...this.locks.values()].map(({ item, judgedAt }) => (item.ageMs === null ? item : { ...item, ageMs: item.ageMs + (now - judgedAt) }));
    return {
      uri: this.uri,
      name: this.name,
      locks: locks.sort(byPath),
      ledgers: [...this.ledgers.values()].sort(byPath),
      truncated: this.truncated,
      ...(this.limit !== undefined ? { limit: this.limit } : {}),
      ...(this.scanning ? { scanning: true } : {}),
    };
  }
}

export class WorkspaceModel {
  private readonly folders = new Map<string, FolderModel>();
  private readonly debouncer = new KeyedDebouncer(150);

  constructor(private readonly listener: ModelListener) {}

  settingsOf(folderUri: string): FolderSettings | undefined {
    return this.folders.get(folderUri)?.settings;
  }

  async setFolder(uri: string, name: string, root: string, settings: FolderSettings): Promise<void> {
    const old = this.folders.get(uri);
    if (old) for (const p of old.ledgers.keys()) this.listener.ledgerForgotten(p);
    if (old) for (const p of old.locks.keys()) this.listener.lockJudged(p, undefined);
    const folder = new FolderModel(uri, name, root, settings);
    this.folders.set(uri, folder);
    const scan = await withinRoot(root, () => folder.classifier.scan());
    if (this.folders.get(uri) !== folder) return; // replaced while scanning
    folder.truncated = scan.truncated;
    folder.limit = scan.limit;
    scan.recoveryLogs.forEach((p) => folder.recoveryLogs.add(p));
    // What is found so far is shown as it is judged, a chunk at a time, at most once a second
    // (each push serializes the whole state).
    let shown = Date.now();
    const showProgress = () => {
      if (Date.now() - shown < PROGRESS_PUSH_MS) return;
      shown = Date.now();
      this.listener.stateChanged(true);
    };
    this.listener.stateChanged(true);
    for (let i = 0; i < scan.locks.length; i += SCAN_CHUNK) {
      await this.updateLocks(folder, scan.locks.slice(i, i + SCAN_CHUNK));
      if (this.folders.get(uri) !== folder) return;
      showProgress();
    }
    for (let i = 0; i < scan.ledgers.length; i += SCAN_CHUNK / 10) {
      await mapLimit(scan.ledgers.slice(i, i + SCAN_CHUNK / 10), 4, (p) => this.updateLedger(folder, p));
      if (this.folders.get(uri) !== folder) return;
      showProgress();
    }
    folder.scanning = false;
    this.listener.stateChanged(true);
    this.listener.recoveryLogChanged();
  }

  removeFolder(uri: string): void {
    const folder = this.folders.get(uri);
    if (!folder) return;
    for (const p of folder.ledgers.keys()) this.listener.ledgerForgotten(p);
    for (const p of folder.locks.keys()) this.listener.lockJudged(p, undefined);
    this.folders.delete(uri);
    this.listener.stateChanged(true);
  }

  /** A file-watcher event: only the one path is looked at again, never the whole folder. */
  fileChanged(absPath: string): void {
    for (const folder of this.folders.values()) {
      const role = folder.classifier.classify(absPath);
      if (role === undefined) {
        const inside = path.relative(folder.root, absPath);
        if (inside !== '' && !inside.startsWith('..') && !path.isAbsolute(inside)) {
          if (folder.classifier.mayHoldMatches(absPath)) this.folderChanged(folder, absPath);
          return;
        }
        continue;
      }
      this.debouncer.schedule(absPath, async () => {
        if (this.folders.get(folder.uri) !== folder) return;
        if (role === 'lock') await this.updateLock(folder, absPath);
        else if (role === 'ledger') await this.updateLedger(folder, absPath);
        else await this.updateRecoveryLog(folder, absPath);
        this.listener.stateChanged(true);
      });
      return;
    }
  }

  /**
   * An event on a path that is no lock or ledger: a folder created (`mkdir -p tmp`, then
   * `tmp/crash.lock`) whose files a recursive watcher can miss, looked into now and once more a
   * moment later; or a folder removed, whose known locks and ledgers are looked at again.
   */
  private folderChanged(folder: FolderModel, dir: string): void {
    const key = `folder:${dir}`;
    const look = async (again: boolean) => {
      if (this.folders.get(folder.uri) !== folder) return;
      const st = await fs.stat(dir).catch(() => undefined);
      const under = (p: string) => p.startsWith(dir + path.sep);
      if (st === undefined) {
        const gone = [...folder.locks.keys()].filter(under);
        if (gone.length > 0) await this.updateLocks(folder, gone);
        for (const p of [...folder.ledgers.keys()].filter(under)) await this.updateLedger(folder, p);
        if (gone.length > 0) this.listener.stateChanged(true);
        return;
      }
      if (!st.isDirectory()) return;
      if (again) setTimeout(() => this.debouncer.schedule(key, () => look(false)), FOLDER_LOOK_AGAIN_MS).unref();
      const found = await withinRoot(folder.root, () => folder.classifier.scanUnder(dir));
      if (await this.takeFound(folder, found)) this.listener.stateChanged(true);
    };
    this.debouncer.schedule(key, () => look(true));
  }

  private reevaluating = false;
  private rotation = 0;

  /**
   * One pass of lock re-judging, never two at once (a pass still running makes the next one a
   * no-op). It works in proportion to what can have changed: locks whose local holder process
   * is gone (one kill(pid, 0) per distinct pid), locks whose age crosses a threshold now, and a
   * small rotation of every lock, at most MAX_JUDGED_PER_PASS in all; the rest wait for the
   * next pass.
   */
  async reevaluateLocks(now = Date.now()): Promise<void> {
    if (this.reevaluating) return;
    this.reevaluating = true;
    try {
      let structural = false;
      for (const folder of this.folders.values()) {
        await this.lookAtLedgers(folder);
        structural = (await this.lookAtFolders(folder)) || structural;
        const due = this.dueLocks(folder, now);
        if (due.length === 0) continue;
        const before = new Map(due.map((p) => [p, folder.locks.get(p)]));
        await this.updateLocks(folder, due);
        for (const [p, was] of before) {
          const is = folder.locks.get(p);
          if (!was || !is || lockKey(was.item) !== lockKey(is.item)) structural = true;
        }
      }
      this.listener.stateChanged(structural);
    } finally {
      this.reevaluating = false;
    }
  }

  /** Ledgers written to with no watcher event are read again (see LEDGER_LOOKS_PER_PASS). */
  private async lookAtLedgers(folder: FolderModel): Promise<void> {
    const paths = [...folder.ledgers.keys()];
    if (paths.length === 0) return;
    const start = folder.ledgerRotation % paths.length;
    const batch = paths.length <= LEDGER_LOOKS_PER_PASS ? paths : [...paths, ...paths].slice(start, start + LEDGER_LOOKS_PER_PASS);
    folder.ledgerRotation = start + batch.length;
    const looks = await mapLimit(batch, 16, (p) => ledgerLook(p));
    batch.forEach((p, i) => {
      const was = folder.ledgerLooks.get(p);
      if (was !== undefined && looks[i] !== was) this.fileChanged(p);
    });
  }

  /**
   * Locks and ledgers created with no watcher event: the folders that held one are looked at
   * (see FOLDER_LOOKS_PER_PASS), and one whose mtime or inode moved since the last look is
   * read one level deep for names not yet known. True when something new was found.
   */
  private async lookAtFolders(folder: FolderModel): Promise<boolean> {
    // The first scan is still judging what it found: a look now would judge its locks twice.
    if (folder.scanning) return false;
    const dirs = [...folder.folderLooks.keys()];
    const start = folder.folderRotation % dirs.length;
    const batch = dirs.length <= FOLDER_LOOKS_PER_PASS ? dirs : [...dirs, ...dirs].slice(start, start + FOLDER_LOOKS_PER_PASS);
    folder.folderRotation = start + batch.length;
    const looks = await mapLimit(batch, 16, (d) => folderLook(d));
    let found = false;
    for (const [i, dir] of batch.entries()) {
      const { key, mtimeMs } = looks[i]!;
      const known = folder.folderLooks.get(dir);
      if (!known || key === known.look) continue;
      const first = known.look === undefined;
      known.look = key;
      if (key === '' || this.folders.get(folder.uri) !== folder) continue;
      if (first && mtimeMs < known.knownSince - MTIME_SLACK_MS) continue;
      const entries = await withinRoot(folder.root, () => folder.classifier.scanFolder(dir, FOLDER_LOOK_ENTRIES));
      found = (await this.takeFound(folder, entries)) || found;
    }
    return found;
  }

  /**
   * What a look into a folder found and nothing knew yet is judged and listed, as far as the
   * folder's budgets have room: a lock past its budget would be judged (a look at /proc per
   * batch) only to be dropped, look after look. True when the folder's state changed.
   */
  private async takeFound(folder: FolderModel, found: readonly { path: string; role: FileRole }[]): Promise<boolean> {
    const fresh = (role: FileRole, known: { has(p: string): boolean }) => found.filter((f) => f.role === role && !known.has(f.path));
    const newLocks = fresh('lock', folder.locks);
    const newLedgers = fresh('ledger', folder.ledgers);
    const logs = fresh('recovery-log', folder.recoveryLogs);
    const locks = withinBudget(folder, folder.locks, SCAN_LIMITS.locks, 'locks', newLocks);
    const ledgers = withinBudget(folder, folder.ledgers, SCAN_LIMITS.ledgers, 'ledgers', newLedgers);
    if (locks.length > 0) await this.updateLocks(folder, locks);
    for (const p of ledgers) await this.updateLedger(folder, p);
    for (const l of logs) await this.updateRecoveryLog(folder, l.path);
    return newLocks.length + newLedgers.length + logs.length > 0;
  }

  private dueLocks(folder: FolderModel, now: number): string[] {
    const due: string[] = [];
    const rotation: string[] = [];
    const alive = new Map<number, boolean>();
    const host = os.hostname();
    let unheld = 0;
    for (const [p, entry] of folder.locks) {
      if (due.length >= MAX_JUDGED_PER_PASS) break;
      if (entry.dueAt <= now) {
        due.push(p);
        continue;
      }
      const { item } = entry;
      // Every verdict can change with no file event: a process opens or flocks a stale, free or
      // unknown lock (a zero-byte lock re-taken by flock keeps its bytes), a holder dies. A lock
      // nobody holds is re-judged every pass, as often as a held one's pids are checked (a
      // shown "stale" that is held again would invite a Reap); the rest join the rotation.
      if (item.state !== 'held' && item.state !== 'contended') {
        if (unheld++ < UNHELD_PER_PASS) due.push(p);
        else rotation.push(p);
        continue;
      }
      rotation.push(p);
      // Every process the verdict rests on (the named holder, a kernel-lock holder, an opener,
      // a waiter): when one of them is gone, the verdict may have changed.
      const pids = new Set<number>();
      const named = item.holder?.pid;
      if (typeof named === 'number' && named > 0 && (item.holder?.host === undefined || item.holder.host === host)) pids.add(named);
      for (const e of item.evidence ?? []) if (typeof e.pid === 'number' && e.pid > 0) pids.add(e.pid);
      for (const pid of pids) {
        let live = alive.get(pid);
        if (live === undefined) alive.set(pid, (live = isProcessAlive(pid) !== false));
        if (!live) {
          due.push(p);
          break;
        }
      }
    }
    for (let i = 0; i < ROTATION_PER_PASS && rotation.length > 0 && due.length < MAX_JUDGED_PER_PASS; i++) {
      const p = rotation[(this.rotation + i) % rotation.length]!;
      if (!due.includes(p)) due.push(p);
    }
    this.rotation += ROTATION_PER_PASS;
    return due;
  }

  /** Re-reads one ledger now (after a repair or compaction). */
  async refreshLedger(ledgerPath: string): Promise<void> {
    const folder = this.folderOf(ledgerPath);
    if (folder) await this.updateLedger(folder, ledgerPath);
    this.listener.stateChanged(true);
  }

  async refreshLock(lockPath: string): Promise<void> {
    const folder = this.folderOf(lockPath);
    if (folder) await this.updateLock(folder, lockPath);
    this.listener.stateChanged(true);
  }

  folderOf(p: string): FolderModel | undefined {
    let best: FolderModel | undefined;
    for (const folder of this.folders.values()) {
      const rel = path.relative(folder.root, p);
      if (!rel.startsWith('..') && !path.isAbsolute(rel) && (!best || folder.root.length > best.root.length)) best = folder;
    }
    return best;
  }

  isKnownLedger(p: string): boolean {
    return this.folderOf(p)?.ledgers.has(p) ?? false;
  }

  /**
   * A recovery log this server just wrote to is listed at once, not after the watcher's
   * debounce: the Recoveries view asks again as soon as it is told, and a first fix in a
   * folder without a store creates the log it must find.
   */
  recoveryLogWritten(logPath: string): void {
    for (const folder of this.folders.values()) {
      if (folder.classifier.classify(logPath) === 'recovery-log') folder.recoveryLogs.add(logPath);
    }
  }

  recoveryLogs(): string[] {
    return [...this.folders.values()].flatMap((f) => [...f.recoveryLogs]);
  }

  snapshot(): WorkspaceState {
    const now = Date.now();
    return { folders: [...this.folders.values()].map((f) => f.state(now)), evaluatedAt: now, vantage: vantageSummary() };
  }

  dispose(): void {
    this.debouncer.dispose();
  }

  private async updateLock(folder: FolderModel, lockPath: string): Promise<void> {
    await this.updateLocks(folder, [lockPath]);
  }

  /** In batches: one look at /proc and at the recovery log serves each batch. */
  private async updateLocks(folder: FolderModel, lockPaths: readonly string[]): Promise<void> {
    for (let i = 0; i < lockPaths.length; i += LOCK_BATCH) {
      const items = await withinRoot(folder.root, () => summarizeLocks(lockPaths.slice(i, i + LOCK_BATCH), folder.uri, folder.settings, folder.kernelLocked));
      const now = Date.now();
      for (const [lockPath, judged] of items) {
        if (!judged) {
          folder.locks.delete(lockPath);
          this.listener.lockJudged(lockPath, undefined);
          continue;
        }
        if (!folder.admits(folder.locks, lockPath, SCAN_LIMITS.locks, 'locks')) continue;
        folder.locks.set(lockPath, { item: judged.item, judgedAt: now, dueAt: now + judged.changesInMs });
        folder.remember(lockPath);
        this.listener.lockJudged(lockPath, judged.item);
      }
    }
  }

  private async updateLedger(folder: FolderModel, ledgerPath: string): Promise<void> {
    // Looked at before it is read: a write in between is read now and seen again by the next pass.
    folder.ledgerLooks.set(ledgerPath, await ledgerLook(ledgerPath));
    const { item, report } = await withinRoot(folder.root, () => summarizeLedger(ledgerPath, folder.uri));
    if (item.error && /E_NOT_FOUND|ENOENT/.test(item.error)) {
      folder.ledgerLooks.delete(ledgerPath);
      folder.ledgers.delete(ledgerPath);
      this.listener.ledgerForgotten(ledgerPath);
      return;
    }
    if (!folder.admits(folder.ledgers, ledgerPath, SCAN_LIMITS.ledgers, 'ledgers')) return;
    folder.ledgers.set(ledgerPath, item);
    folder.remember(ledgerPath);
    this.listener.ledgerVerified(ledgerPath, report);
  }

  private async updateRecoveryLog(folder: FolderModel, logPath: string): Promise<void> {
    folder.recoveryLogs.add(logPath);
    this.listener.recoveryLogChanged();
  }
}

/** The paths of `found` that `list` has room for; past its budget the folder says where it stopped counting. */
function withinBudget(folder: FolderModel, list: Map<string, unknown>, cap: number, what: string, found: readonly { path: string }[]): string[] {
  const room = Math.max(0, cap - list.size);
  if (found.length > room) folder.stoppedCounting(cap, what);
  return found.slice(0, room).map((f) => f.path);
}

/** A folder's mtime and inode in one string (key '' when it is gone or no folder). */
async function folderLook(dir: string): Promise<{ key: string; mtimeMs: number }> {
  try {
    const st = await fs.lstat(dir);
    return st.isDirectory() ? { key: `${st.mtimeMs}:${st.ino}`, mtimeMs: st.mtimeMs } : { key: '', mtimeMs: 0 };
  } catch {
    return { key: '', mtimeMs: 0 };
  }
}

/** A ledger's size, mtime and inode in one string ('' when it cannot be looked at). */
async function ledgerLook(p: string): Promise<string> {
  try {
    const st = await fs.lstat(p);
    return `${st.size}:${st.mtimeMs}:${st.ino}`;
  } catch {
    return '';
  }
}

function lockKey(l: LockItem): string {
  return `${l.state}|${l.reapable}|${l.overThreshold}|${l.longHeld}|${l.holder?.pid}|${l.waiters}|${l.evidence?.map((e) => `${e.kind}:${e.pid}`).join(',')}`;
}
