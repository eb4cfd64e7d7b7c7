/**
 * Every Ledgerlock view groups its rows by workspace folder. The folder nodes are kept per
 * folder URI across state pushes, so a push redraws a folder row only when its list changed.
 */
import * as vscode from 'vscode';
import type { FolderState } from '../../protocol';

export interface FolderNodeLike {
  folder: FolderState;
}

export class FolderGroups<N extends FolderNodeLike> {
  private readonly nodes = new Map<string, N>();

  constructor(
    private readonly make: (folder: FolderState) => N,
    /** The paths a folder row lists (its locks, its ledgers). */
    private readonly members: (folder: FolderState) => { path: string }[],
  ) {}

  get(uri: string): N | undefined {
    return this.nodes.get(uri);
  }

  /** The root rows: folders with something to list, same node objects as before. */
  roots(all: FolderState[]): N[] {
    return all
      .filter((f) => this.members(f).length > 0)
      .map((f) => {
        let node = this.nodes.get(f.uri);
        if (node) node.folder = f;
        else this.nodes.set(f.uri, (node = this.make(f)));
        return node;
      });
  }

  /**
   * Takes a new state: `structural` when folders came or went (redraw from the root),
   * else the folder rows whose list of members changed.
   */
  update(all: FolderState[]): { folders: FolderState[]; structural: boolean; changed: N[] } {
    const folders = all.filter((f) => this.members(f).length > 0);
    const structural = folders.length !== this.nodes.size || folders.some((f) => !this.nodes.has(f.uri));
    const changed: N[] = [];
    for (const f of folders) {
      const node = this.nodes.get(f.uri);
      if (!node) continue;
      const before = this.members(node.folder)
        .map((m) => m.path)
        .join('\n');
      node.folder = f;
      if (
        before !==
        this.members(f)
          .map((m) => m.path)
          .join('\n')
      )
        changed.push(node);
    }
    for (const uri of [...this.nodes.keys()]) if (!folders.some((f) => f.uri === uri)) this.nodes.delete(uri);
    return { folders, structural, changed };
  }
}

/** A folder row, the same in every view: its name, expanded, and how many rows it holds. */
export function folderItem(view: string, uri: string, name: string, count: string): vscode.TreeItem {
  const item = new vscode.TreeItem(name, vscode.TreeItemCollapsibleState.Expanded);
  item.id = `${view}:${uri}`;
  item.iconPath = vscode.ThemeIcon.Folder;
  item.description = count;
  item.contextValue = 'folder';
  return item;
}
