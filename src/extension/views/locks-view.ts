/**
 * The Locks view: locks grouped by workspace folder (as in every Ledgerlock view), each with
 * its state, holder and age, and an inline Reap on stale ones (menus match the
 * `contextValue`). An unknown lock (nothing the server can see decides it) says why in its
 * row, offers no Reap, only "Remove Lock Anyway…" in its context menu; when the server runs
 * inside a container the view says so in one line.
 *
 * It updates in place: nodes are kept per path, and only a node whose visible state changed
 * is redrawn, so a hover or a selection survives the server's steady state pushes. Rows show
 * ages by the minute, moved on a coarse tick; the tooltip (exact age) is built on hover.
 */
import * as vscode from 'vscode';
import { offersReap, type FolderState, type LockItem } from '../../protocol';
import {
  formatAge,
  formatAgeCoarse,
  holderWords,
  kindWords,
  localTimes,
  lockAgeNow,
  lockName,
  plural,
  profileName,
  reasonNow,
  relativePath,
  whenWords,
} from '../format';
import { isLockProblem } from '../problems';
import type { ServerState } from '../server-state';
import { escapeMarkdown } from '../status-bar';
import { FolderGroups, folderItem } from './folder-groups';

/** How often shown ages move. */
const AGE_TICK_MS = 30_000;
/** Only rows whose tooltip was hovered are checked this often (usually one). */
const TIP_TICK_MS = 1_000;
const TIP_REDRAW_MS = 15_000;

/** The view's message when the server cannot see processes outside its container. */
const CONTAINER_MESSAGE = 'Running inside a container: locks held from outside it show as unknown';
/** The context key that shows "Remove Lock Anyway…" in the command palette. */
const UNKNOWN_SELECTED_KEY = 'ledgerlock.unknownLockSelected';

class LockFolderNode {
  constructor(public folder: FolderState) {}
}

export class LockNode {
  /** What the row shows, so a push that changes nothing visible redraws nothing. */
  shown = '';
  /** The ages the resolved tooltip says (VS Code keeps a resolved tooltip until the row is redrawn). */
  tipShown: string | undefined;
  tipAt = 0;
  constructor(
    public lock: LockItem,
    public receivedAt: number,
  ) {}

  /** The lock's age now: its age when evaluated plus the time since. */
  ageNow(): number | null {
    return lockAgeNow(this.lock, this.receivedAt);
  }
}

type Node = LockFolderNode | LockNode;

/**
 * One shape per state, so a state reads the same in high contrast themes (where colours are
 * dropped): only a held lock is a closed padlock; a stale one is a warning sign, not a padlock.
 */
const STATE_ICONS: Record<LockItem['state'], [string, string]> = {
  held: ['lock', 'charts.green'],
  contended: ['watch', 'list.warningForeground'],
  stale: ['warning', 'list.warningForeground'],
  orphaned: ['debug-disconnect', 'list.warningForeground'],
  unknown: ['question', 'descriptionForeground'],
  free: ['unlock', 'descriptionForeground'],
};
/** A long hold is shown, not alarmed: a clock, not the stale lock's warning sign. */
const LONG_HELD_ICON: [string, string] = ['history', 'charts.yellow'];

export class LocksView implements vscode.TreeDataProvider<Node>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<Node | Node[] | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly folders = new FolderGroups(
    (f) => new LockFolderNode(f),
    (f) => f.locks,
  );
  private readonly nodes = new Map<string, LockNode>();
  private badgeCount = -1;
  readonly view: vscode.TreeView<Node>;
  /** Rows redrawn since activation (what VS Code asked getTreeItem for); tests read it. */
  redraws = 0;

  constructor(private readonly state: ServerState) {
    this.view = vscode.window.createTreeView('ledgerlock.locks', { treeDataProvider: this, showCollapseAll: true });
    const tick = setInterval(() => this.tickAges(), AGE_TICK_MS);
    const tipTick = setInterval(() => this.tickTips(), TIP_TICK_MS);
    this.disposables.push(
      { dispose: () => clearInterval(tipTick) },
      this.view,
      this.changed,
      state.onDidChange(() => this.render()),
      { dispose: () => clearInterval(tick) },
      this.view.onDidChangeSelection(() => this.updateSelectionKey()),
    );
  }

  /** The unknown lock selected in the view (the palette's "Remove Lock Anyway…" acts on it). */
  selectedUnknown(): LockItem | undefined {
    const node = this.view.selection.find((n): n is LockNode => n instanceof LockNode);
    const lock = node ? this.state.findLock(node.lock.path) : undefined;
    return lock?.state === 'unknown' ? lock : undefined;
  }

  private selectionKey: boolean | undefined;

  private updateSelectionKey(): void {
    const selected = this.selectedUnknown() !== undefined;
    if (selected === this.selectionKey) return;
    this.selectionKey = selected;
    void vscode.commands.executeCommand('setContext', UNKNOWN_SELECTED_KEY, selected);
  }

  private render(): void {
    // Said once, above the locks, and only where it is true.
    const message = this.state.inContainer ? CONTAINER_MESSAGE : '';
    if (this.view.message !== message) this.view.message = message;
    this.updateSelectionKey();
    const problems = this.state.locks().filter(isLockProblem).length;
    if (problems !== this.badgeCount) {
      this.badgeCount = problems;
      this.view.badge = problems > 0 ? { value: problems, tooltip: `${plural(problems, 'lock')} need${problems === 1 ? 's' : ''} attention` } : undefined;
    }
    const now = Date.now();
    const { folders, structural, changed } = this.folders.update(this.state.snapshot.folders);
    const redraw: Node[] = [...changed];
    const seen = new Set<string>();
    for (const f of folders) {
      for (const lock of f.locks) {
        seen.add(lock.path);
        const node = this.nodes.get(lock.path);
        if (!node) continue; // created when its folder's children are read
        node.lock = lock;
        node.receivedAt = now;
        // Ages move on the tick; only a change of what else the row shows redraws it now.
        if (rowSignature(node, false) !== node.shown.slice(node.shown.indexOf('\n') + 1)) redraw.push(node);
      }
    }
    for (const p of [...this.nodes.keys()]) if (!seen.has(p)) this.nodes.delete(p);
    if (structural) this.changed.fire(undefined);
    else if (redraw.length > 0) this.changed.fire(redraw);
  }

  /** A tooltip once hovered is redrawn when its ages move, so the next hover reads them as they are. */
  private tickTips(): void {
    // Not sooner than TIP_REDRAW_MS after it was shown: a tooltip being read is not redrawn under the pointer every second.
    const now = Date.now();
    const redraw = [...this.nodes.values()].filter((n) => n.tipShown !== undefined && now - n.tipAt >= TIP_REDRAW_MS && tipSignature(n) !== n.tipShown);
    if (redraw.length > 0) this.changed.fire(redraw);
  }

  private tickAges(): void {
    const redraw = [...this.nodes.values()].filter((n) => rowSignature(n, true) !== n.shown);
    if (redraw.length > 0) this.changed.fire(redraw);
  }

  getChildren(node?: Node): Node[] {
    if (node instanceof LockNode) return [];
    if (node instanceof LockFolderNode) return node.folder.locks.map((l) => this.nodeFor(l));
    return this.folders.roots(this.state.snapshot.folders);
  }

  getParent(node: Node): Node | undefined {
    if (node instanceof LockFolderNode) return undefined;
    const folder = this.state.snapshot.folders.find((f) => f.uri === node.lock.folder);
    if (!folder) return undefined;
    return this.folders.get(folder.uri) ?? this.folders.roots(this.state.snapshot.folders).find((n) => n.folder.uri === folder.uri);
  }

  /** The node of a lock path, for `reveal` (Show Holder). */
  nodeOf(lockPath: string): LockNode | undefined {
    const lock = this.state.findLock(lockPath);
    return lock ? this.nodeFor(lock) : undefined;
  }

  private nodeFor(lock: LockItem): LockNode {
    let node = this.nodes.get(lock.path);
    if (node) {
      if (node.lock !== lock) [node.lock, node.receivedAt] = [lock, Date.now()];
    } else {
      this.nodes.set(lock.path, (node = new LockNode(lock, Date.now())));
    }
    return node;
  }

  getTreeItem(node: Node): vscode.TreeItem {
    this.redraws++;
    if (node instanceof LockFolderNode) return folderItem('locks', node.folder.uri, node.folder.name, plural(node.folder.locks.length, 'lock'));
    const lock = node.lock;
    node.shown = rowSignature(node, true);
    node.tipShown = undefined;
    const item = new vscode.TreeItem(lockName(lock), vscode.TreeItemCollapsibleState.None);
    item.id = `lock:${lock.path}`;
    item.description = description(node);
    const [icon, color] = lock.longHeld && lock.state === 'held' ? LONG_HELD_ICON : STATE_ICONS[lock.state];
    item.iconPath = new vscode.ThemeIcon(icon, new vscode.ThemeColor(color));
    item.contextValue = `lock ${lock.state}${offersReap(lock) ? ' reapable' : ''}${lock.longHeld ? ' longHeld' : ''}`;
    item.accessibilityInformation = { label: `${lockName(lock)}, ${item.description}` };
    // A lock folder or binary content cannot be read as text: its description opens instead.
    item.command = { command: 'ledgerlock.openLock', title: 'Open Lock', arguments: [lock.path] };
    return item;
  }

  /** The tooltip is built on hover, from the state at that moment. */
  resolveTreeItem(item: vscode.TreeItem, node: Node): vscode.TreeItem {
    if (node instanceof LockNode) {
      item.tooltip = lockTooltip(node, this.state.vantage?.blindSpots ?? []);
      node.tipShown = tipSignature(node);
      node.tipAt = Date.now();
    }
    return item;
  }

  dispose(): void {
    this.disposables.forEach((d) => d.dispose());
  }
}

function description(node: LockNode): string {
  const lock = node.lock;
  const row = `${lock.state} · ${witnessPid(lock) ?? kindWords(lock.kind)} · ${formatAgeCoarse(node.ageNow())}`;
  // Unknown needs its why in sight: the reason sentence follows (the tooltip has it whole).
  return lock.state === 'unknown' ? `${row} · ${reasonNow(lock)}` : row;
}

/** The holder's pid from the strongest evidence (the kernel's view first), else the pid the lock names. */
function witnessPid(lock: LockItem): string | undefined {
  const witness = lock.evidence?.find((e) => e.pid !== undefined && e.kind !== 'waiter');
  const pid = witness?.pid ?? lock.holder?.pid;
  return pid !== undefined ? `pid ${pid}` : undefined;
}

/** The ages a tooltip writes: its Age row and its reason sentence. */
function tipSignature(node: LockNode): string {
  return `${formatAge(node.ageNow())}|${reasonNow(node.lock)}`;
}

/** First line: the age as shown; the rest: everything else the row shows. */
function rowSignature(node: LockNode, withAge: boolean): string {
  const l = node.lock;
  // An unknown lock's row shows its reason: a change of its words redraws it, a ticking number does not.
  const why = l.state === 'unknown' ? l.reason.replace(/\d+(\.\d+)?/g, '#') : '';
  const rest = [l.state, l.reapable, l.longHeld, l.kind, witnessPid(l) ?? '', why].join('|');
  return withAge ? `${formatAgeCoarse(node.ageNow())}\n${rest}` : rest;
}

function lockTooltip(node: LockNode, blindSpots: readonly string[]): vscode.MarkdownString {
  const lock = node.lock;
  const md = new vscode.MarkdownString();
  md.appendMarkdown(`**${escapeMarkdown(lockName(lock))}** — ${lock.state}\n\n`);
  md.appendText(`${reasonNow(lock)}\n\n`);
  const unknown = lock.state === 'unknown';
  if (unknown) {
    // What is unknown comes first, before the table: it is why the lock is shown this way.
    const unseen = unknownBlindSpots(lock, blindSpots);
    if (unseen.length > 0) {
      md.appendMarkdown(`**What Ledgerlock cannot see from here**\n\n`);
      for (const b of unseen) md.appendMarkdown(`- ${escapeMarkdown(b)}\n`);
    }
    md.appendMarkdown(`\nLedgerlock never reaps an unknown lock. If you know its holder is gone, use **Remove Lock Anyway…** from its context menu.\n\n`);
  }
  md.appendMarkdown(`| | |\n|---|---|\n`);
  md.appendMarkdown(`| Holder | ${escapeMarkdown(holderWords(lock))} |\n`);
  const tool = profileName(lock.profile);
  if (tool) md.appendMarkdown(`| Tool | ${escapeMarkdown(tool)} |\n`);
  if (lock.guards) md.appendMarkdown(`| Guards | ${escapeMarkdown(relativePath(lock.guards))} |\n`);
  // Inside a code span nothing is escaped (a backslash would be shown): only its own backticks and the table's bars go.
  if (lock.holder?.owner) md.appendMarkdown(`| Owner | \`${lock.holder.owner.replace(/[`|]/g, ' ')}\` |\n`);
  if (lock.holder?.acquiredAt) md.appendMarkdown(`| Acquired | ${escapeMarkdown(whenWords(lock.holder.acquiredAt))} |\n`);
  md.appendMarkdown(`| Age | ${formatAge(node.ageNow())} |\n| Kind | ${kindWords(lock.kind)} |\n| Path | ${escapeMarkdown(relativePath(lock.path))} |\n`);
  // For an unknown lock the blind spots are listed on their own, not as evidence.
  const evidence = (lock.evidence ?? []).filter((e) => e.kind !== 'heartbeat' && !(unknown && e.kind === 'vantage'));
  if (evidence.length > 0) {
    md.appendMarkdown(`\n**Evidence**\n\n`);
    for (const e of evidence) md.appendMarkdown(`- ${escapeMarkdown(localTimes(e.detail))}\n`);
  }
  if (lock.longHeld && lock.state === 'held') md.appendMarkdown(`\nHeld for a long time, and nobody is waiting for it.`);
  if (offersReap(lock)) md.appendMarkdown(`\n${lock.state === 'stale' ? 'Stale' : 'Orphaned'}: nothing shows a live holder. Use **Reap Lock** to remove it.`);
  else if (lock.alive) md.appendMarkdown(`\nIts holder is running: Ledgerlock never breaks a live lock.`);
  return md;
}

/**
 * What the server cannot see that leaves this lock unknown: the blind spots its verdict names,
 * else the server's own (both worded by the engine).
 */
export function unknownBlindSpots(lock: LockItem, serverBlindSpots: readonly string[]): string[] {
  const named = (lock.evidence ?? []).filter((e) => e.kind === 'vantage').map((e) => e.detail);
  return [...new Set(named.length > 0 ? named : serverBlindSpots)];
}
