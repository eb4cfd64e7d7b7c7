/**
 * The Locks view: locks grouped by workspace folder, each with its holder, age and state,
 * and an inline Reap on stale ones (menus match the `contextValue`).
 */
import * as vscode from 'vscode';
import type { FolderState, LockItem } from '../../protocol';
import { baseName, formatAge, holderWords, profileName } from '../format';
import { isLockProblem, type ServerState } from '../serverState';

export class LockFolderNode {
  constructor(readonly folder: FolderState) {}
}

export class LockNode {
  constructor(readonly lock: LockItem) {}
}

type Node = LockFolderNode | LockNode;

const STATE_ICONS: Record<LockItem['state'], [string, string]> = {
  held: ['lock', 'charts.green'],
  contended: ['watch', 'list.warningForeground'],
  stale: ['unlock', 'list.warningForeground'],
  orphaned: ['debug-disconnect', 'list.errorForeground'],
  unknown: ['question', 'descriptionForeground'],
};

export class LocksView implements vscode.TreeDataProvider<Node>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<Node | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [];
  readonly view: vscode.TreeView<Node>;

  constructor(private readonly state: ServerState) {
    this.view = vscode.window.createTreeView('ledgerlock.locks', { treeDataProvider: this, showCollapseAll: true });
    this.disposables.push(this.view, this.changed, state.onDidChange(() => this.render()));
  }

  private render(): void {
    const problems = this.state.locks().filter(isLockProblem).length;
    this.view.badge = problems > 0 ? { value: problems, tooltip: `${problems} lock(s) need attention` } : undefined;
    this.changed.fire(undefined);
  }

  getChildren(node?: Node): Node[] {
    if (node instanceof LockNode) return [];
    if (node instanceof LockFolderNode) return node.folder.locks.map((l) => this.nodeFor(l));
    return this.state.snapshot.folders.filter((f) => f.locks.length > 0).map((f) => new LockFolderNode(f));
  }

  getParent(node: Node): Node | undefined {
    if (node instanceof LockFolderNode) return undefined;
    const folder = this.state.snapshot.folders.find((f) => f.uri === node.lock.folder);
    return folder ? new LockFolderNode(folder) : undefined;
  }

  /** The node of a lock path, for `reveal` (Show Holder). */
  nodeOf(lockPath: string): LockNode | undefined {
    const lock = this.state.findLock(lockPath);
    return lock ? this.nodeFor(lock) : undefined;
  }

  private nodeFor(lock: LockItem): LockNode {
    return new LockNode(lock);
  }

  getTreeItem(node: Node): vscode.TreeItem {
    if (node instanceof LockFolderNode) {
      const item = new vscode.TreeItem(node.folder.name, vscode.TreeItemCollapsibleState.Expanded);
      item.id = `locks:${node.folder.uri}`;
      item.iconPath = vscode.ThemeIcon.Folder;
      item.description = `${node.folder.locks.length} lock${node.folder.locks.length === 1 ? '' : 's'}`;
      item.contextValue = 'folder';
      return item;
    }
    const lock = node.lock;
    const item = new vscode.TreeItem(baseName(lock.path), vscode.TreeItemCollapsibleState.None);
    item.id = `lock:${lock.path}`;
    const witness = lock.evidence?.find((e) => e.pid !== undefined && e.kind !== 'waiter');
    const holder = witness?.pid !== undefined ? `pid ${witness.pid}` : lock.holder?.pid !== undefined ? `pid ${lock.holder.pid}` : lock.kind;
    item.description = `${lock.state} · ${holder} · ${formatAge(lock.ageMs)}`;
    const [icon, color] = STATE_ICONS[lock.state];
    item.iconPath = new vscode.ThemeIcon(icon, new vscode.ThemeColor(color));
    item.contextValue = `lock ${lock.state}${lock.reapable ? ' reapable' : ''}${lock.overThreshold ? ' overThreshold' : ''}`;
    item.resourceUri = vscode.Uri.file(lock.path);
    item.tooltip = lockTooltip(lock);
    if (lock.kind !== 'directory') {
      item.command = { command: 'vscode.open', title: 'Open Lock File', arguments: [vscode.Uri.file(lock.path)] };
    }
    return item;
  }

  dispose(): void {
    this.disposables.forEach((d) => d.dispose());
  }
}

function lockTooltip(lock: LockItem): vscode.MarkdownString {
  const md = new vscode.MarkdownString();
  md.appendMarkdown(`**${baseName(lock.path)}** — ${lock.state}\n\n`);
  md.appendText(`${lock.reason}\n\n`);
  md.appendMarkdown(`| | |\n|---|---|\n`);
  md.appendMarkdown(`| Holder | ${escape(holderWords(lock))} |\n`);
  const tool = profileName(lock.profile);
  if (tool) md.appendMarkdown(`| Tool | ${escape(tool)} |\n`);
  if (lock.guards) md.appendMarkdown(`| Guards | ${escape(lock.guards)} |\n`);
  if (lock.holder?.owner) md.appendMarkdown(`| Owner | \`${escape(lock.holder.owner)}\` |\n`);
  if (lock.holder?.acquiredAt) md.appendMarkdown(`| Acquired | ${escape(lock.holder.acquiredAt)} |\n`);
  md.appendMarkdown(`| Age | ${formatAge(lock.ageMs)} |\n| Kind | ${lock.kind} |\n| Path | ${escape(lock.path)} |\n`);
  const evidence = (lock.evidence ?? []).filter((e) => e.kind !== 'heartbeat');
  if (evidence.length > 0) {
    md.appendMarkdown(`\n**Evidence**\n\n`);
    for (const e of evidence) md.appendMarkdown(`- ${escape(e.detail)}\n`);
  }
  if (lock.longHeld && lock.state === 'held') md.appendMarkdown(`\nHeld for a long time, and nobody is waiting for it.`);
  if (lock.reapable) md.appendMarkdown(`\nReapable: its holder is gone. Use **Reap Lock** to remove it.`);
  else if (lock.alive) md.appendMarkdown(`\nIts holder is running: Ledgerlock never breaks a live lock.`);
  return md;
}

function escape(s: string): string {
  return s.replace(/[|\\`*_{}[\]<>]/g, (c) => `\\${c}`);
}
