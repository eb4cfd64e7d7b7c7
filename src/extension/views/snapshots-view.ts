/**
 * The Snapshots view: per workspace folder, its snapshots newest first (label or id, time,
 * file count, the `current` one marked); children are the files each holds, and clicking
 * one opens a diff against the file on disk. A missing or corrupt blob shows as an error
 * icon on the snapshot and on each file that needs it, with the problem in the tooltip.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { SnapshotFileItem, SnapshotFolderState, SnapshotItem, SnapshotProblem } from '../../protocol';
import { formatBytes, formatTime } from '../format';
import type { ServerState } from '../server-state';

export class SnapshotFolderNode {
  constructor(readonly folder: SnapshotFolderState) {}
}

export class SnapshotNode {
  constructor(
    readonly folder: string,
    readonly snapshot: SnapshotItem,
    readonly problems: SnapshotProblem[],
  ) {}
}

export class SnapshotFileNode {
  constructor(
    readonly folder: string,
    readonly snapshot: SnapshotItem,
    readonly file: SnapshotFileItem,
    readonly problem: SnapshotProblem | undefined,
  ) {}
}

/** A manifest that could not be read, or a folder that has no snapshots yet. */
class SnapshotNoteNode {
  constructor(
    readonly folder: string,
    readonly text: string,
    readonly kind: 'unreadable' | 'empty' | 'error',
  ) {}
}

type Node = SnapshotFolderNode | SnapshotNode | SnapshotFileNode | SnapshotNoteNode;

export class SnapshotsView implements vscode.TreeDataProvider<Node>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<Node | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [];
  readonly view: vscode.TreeView<Node>;

  constructor(private readonly state: ServerState) {
    this.view = vscode.window.createTreeView('ledgerlock.snapshots', { treeDataProvider: this, showCollapseAll: true });
    this.disposables.push(
      this.view,
      this.changed,
      state.onDidChangeSnapshots(() => this.render()),
    );
  }

  private render(): void {
    const damaged = this.state.snapshots.folders.reduce(
      (n, f) => n + new Set(f.problems.flatMap((p) => p.usedBy.map((u) => u.snapshot))).size + f.unreadable.length,
      0,
    );
    this.view.badge = damaged > 0 ? { value: damaged, tooltip: `${damaged} snapshot(s) with missing or corrupt blobs` } : undefined;
    this.changed.fire(undefined);
  }

  getChildren(node?: Node): Node[] {
    if (node === undefined) {
      const folders = this.state.snapshots.folders;
      // Nothing anywhere: the welcome content (with its Create Snapshot button) shows instead.
      if (!folders.some((f) => f.snapshots.length > 0 || f.unreadable.length > 0 || f.error)) return [];
      return folders.map((f) => new SnapshotFolderNode(f));
    }
    if (node instanceof SnapshotFolderNode) {
      const f = node.folder;
      const notes = [
        ...(f.error ? [new SnapshotNoteNode(f.uri, f.error, 'error')] : []),
        ...f.unreadable.map((u) => new SnapshotNoteNode(f.uri, u, 'unreadable')),
      ];
      const snapshots = [...f.snapshots].reverse().map(
        (s) =>
          new SnapshotNode(
            f.uri,
            s,
            f.problems.filter((p) => p.usedBy.some((u) => u.snapshot === s.id)),
          ),
      );
      if (snapshots.length === 0 && notes.length === 0) return [new SnapshotNoteNode(f.uri, 'No snapshots yet', 'empty')];
      return [...notes, ...snapshots];
    }
    if (node instanceof SnapshotNode) {
      return node.snapshot.files.map(
        (file) =>
          new SnapshotFileNode(
            node.folder,
            node.snapshot,
            file,
            node.problems.find((p) => p.usedBy.some((u) => u.snapshot === node.snapshot.id && u.path === file.path)),
          ),
      );
    }
    return [];
  }

  /** The node of a snapshot, for tests and reveal. */
  nodeOf(folder: string, id: string): SnapshotNode | undefined {
    const f = this.state.snapshots.folders.find((x) => x.uri === folder);
    const s = f?.snapshots.find((x) => x.id === id);
    return f && s
      ? new SnapshotNode(
          f.uri,
          s,
          f.problems.filter((p) => p.usedBy.some((u) => u.snapshot === id)),
        )
      : undefined;
  }

  getTreeItem(node: Node): vscode.TreeItem {
    if (node instanceof SnapshotFolderNode) return folderItem(node.folder);
    if (node instanceof SnapshotNode) return snapshotItem(node);
    if (node instanceof SnapshotFileNode) return fileItem(node);
    const item = new vscode.TreeItem(node.kind === 'empty' ? 'No snapshots yet — create one' : node.text, vscode.TreeItemCollapsibleState.None);
    item.id = `snapshot-note:${node.folder}:${node.kind}:${node.text}`;
    if (node.kind === 'empty') {
      item.iconPath = new vscode.ThemeIcon('add');
      item.command = { command: 'ledgerlock.createSnapshot', title: 'Create Snapshot', arguments: [node.folder] };
      item.contextValue = 'snapshotHint';
    } else {
      item.iconPath = new vscode.ThemeIcon('error', new vscode.ThemeColor('list.errorForeground'));
      item.tooltip = node.text;
      item.contextValue = 'snapshotProblem';
    }
    return item;
  }

  dispose(): void {
    this.disposables.forEach((d) => d.dispose());
  }
}

function folderItem(folder: SnapshotFolderState): vscode.TreeItem {
  const item = new vscode.TreeItem(folder.name, vscode.TreeItemCollapsibleState.Expanded);
  item.id = `snapshots:${folder.uri}`;
  item.iconPath = vscode.ThemeIcon.Folder;
  const n = folder.snapshots.length;
  item.description = `${n} snapshot${n === 1 ? '' : 's'}${folder.problems.length > 0 ? ` · ${folder.problems.length} damaged blob${folder.problems.length === 1 ? '' : 's'}` : ''}`;
  item.contextValue = 'snapshotFolder';
  if (folder.unchecked > 0) item.tooltip = `${folder.unchecked} blob(s) not yet re-hashed by the background check. Run Verify Snapshot for a full check now.`;
  return item;
}

function snapshotItem(node: SnapshotNode): vscode.TreeItem {
  const s = node.snapshot;
  const damaged = node.problems.length > 0;
  const item = new vscode.TreeItem(s.label ?? s.id, vscode.TreeItemCollapsibleState.Collapsed);
  item.id = `snapshot:${node.folder}:${s.id}`;
  item.description = [
    formatTime(s.createdAt),
    `${s.files.length} file${s.files.length === 1 ? '' : 's'}`,
    ...(s.current ? ['current'] : []),
    ...(damaged ? ['damaged'] : []),
  ].join(' · ');
  if (damaged) item.iconPath = new vscode.ThemeIcon('error', new vscode.ThemeColor('list.errorForeground'));
  else item.iconPath = s.current ? new vscode.ThemeIcon('pass-filled', new vscode.ThemeColor('charts.green')) : new vscode.ThemeIcon('history');
  item.contextValue = `snapshot${s.current ? ' current' : ''}${damaged ? ' damaged' : ''}`;
  const md = new vscode.MarkdownString();
  md.appendMarkdown(`**${escape(s.label ?? s.id)}**${s.current ? ' — current' : ''}\n\n`);
  md.appendText(`id ${s.id}\ntaken ${new Date(s.createdAt).toLocaleString()}\n${s.files.length} file(s), ${formatBytes(s.bytes)}\n`);
  for (const p of node.problems) md.appendText(`\n✗ ${problemLine(p, s.id)}`);
  if (damaged) md.appendMarkdown(`\n\nThis snapshot cannot be restored until its blobs are intact.`);
  item.tooltip = md;
  return item;
}

function fileItem(node: SnapshotFileNode): vscode.TreeItem {
  const { file, problem } = node;
  const item = new vscode.TreeItem(path.posix.basename(file.path), vscode.TreeItemCollapsibleState.None);
  item.id = `snapshot-file:${node.folder}:${node.snapshot.id}:${file.path}`;
  const dir = path.posix.dirname(file.path);
  item.description = `${dir === '.' ? '' : `${dir} · `}${formatBytes(file.size)}`;
  item.resourceUri = vscode.Uri.joinPath(vscode.Uri.parse(node.folder), ...file.path.split('/'));
  item.iconPath = problem ? new vscode.ThemeIcon('error', new vscode.ThemeColor('list.errorForeground')) : vscode.ThemeIcon.File;
  item.contextValue = `snapshotFile${problem ? ' damaged' : ''}`;
  item.tooltip = problem
    ? `${file.path}\n✗ ${problemLine(problem)}`
    : `${file.path} as snapshot ${node.snapshot.label ?? node.snapshot.id} holds it. Click to compare with the file on disk.`;
  item.command = { command: 'ledgerlock.diffSnapshot', title: 'Compare with Disk', arguments: [node] };
  return item;
}

function problemLine(p: SnapshotProblem, snapshot?: string): string {
  const files = p.usedBy.filter((u) => snapshot === undefined || u.snapshot === snapshot).map((u) => u.path);
  return `blob ${p.hash.slice(0, 12)}… is ${p.problem}${p.problem === 'corrupt' ? ' (its content no longer matches its hash)' : ''}: ${p.path}${files.length > 0 ? ` — needed by ${files.join(', ')}` : ''}`;
}

function escape(s: string): string {
  return s.replace(/[\\`*_{}[\]<>|#]/g, (c) => `\\${c}`);
}
