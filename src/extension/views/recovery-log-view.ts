/**
 * The Recovery Log view: what the engine repaired, reaped or degraded, newest first, read from
 * each store's recovery log (`telemetry.jsonl` on disk), grouped by workspace folder as in
 * every view. (The view id `ledgerlock.recoveries` and the protocol's Recoveries messages keep
 * their older name: they are contracts. docs/ARCHITECTURE.md, "Migration and the recovery log".)
 */
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { RecoveriesRequest, type RecoveryItem } from '../../protocol';
import * as path from 'node:path';
import { baseName, formatTime, lockName, plural, whenWords } from '../format';
import type { ServerState } from '../server-state';
import { folderItem } from './folder-groups';

const LIMIT = 200;

const TITLES: Record<string, [string, string]> = {
  STALE_LOCK_RECOVERY: ['Lock reaped', 'unlock'],
  CORRUPT_TAIL_RECOVERY: ['Tail repaired', 'tools'],
  CORRUPT_RECORD_QUARANTINED: ['Record quarantined', 'archive'],
  LEDGER_COMPACTED: ['Ledger compacted', 'fold'],
  DIR_FSYNC_UNSUPPORTED: ['Directory fsync unsupported', 'info'],
  LOCK_COMPROMISED: ['Lock compromised', 'warning'],
  LOCK_LEFT_ASIDE: ['Lock left aside', 'warning'],
  LOCK_CONTENDED: ['Lock contended', 'watch'],
  LOCK_CONTENTION_TIMEOUT: ['Gave up waiting for a lock', 'clock'],
  LOCK_WAIT_ENDED: ['Lock wait ended', 'pass'],
};

export class RecoveryNode {
  constructor(readonly recovery: RecoveryItem) {}
}

class RecoveryFolderNode {
  constructor(
    readonly uri: string,
    readonly name: string,
    readonly items: RecoveryItem[],
  ) {}
}

type Node = RecoveryFolderNode | RecoveryNode;

export class RecoveryLogView implements vscode.TreeDataProvider<Node>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [];
  private items: RecoveryItem[] = [];
  readonly view: vscode.TreeView<Node>;

  constructor(
    private readonly state: ServerState,
    private readonly client: () => LanguageClient | undefined,
  ) {
    this.view = vscode.window.createTreeView('ledgerlock.recoveries', { treeDataProvider: this, showCollapseAll: true });
    this.disposables.push(
      this.view,
      this.changed,
      state.onDidChangeRecoveryLog(() => this.changed.fire(undefined)),
    );
  }

  /** The recoveries last shown, newest first. */
  get shown(): readonly RecoveryItem[] {
    return this.items;
  }

  async getChildren(node?: Node): Promise<Node[]> {
    if (node instanceof RecoveryFolderNode) return node.items.map((r) => new RecoveryNode(r));
    if (node) return [];
    const client = this.client();
    if (!client) return [];
    try {
      this.items = await client.sendRequest(RecoveriesRequest.type, { limit: LIMIT });
    } catch {
      this.items = [];
    }
    const folders = this.state.snapshot.folders.map((f) => ({ uri: f.uri, name: f.name, root: vscode.Uri.parse(f.uri).fsPath }));
    const groups = new Map<string, RecoveryFolderNode>();
    for (const r of this.items) {
      // The deepest folder holding the log (nested folders in a multi-root workspace).
      const folder = folders.filter((f) => r.source.startsWith(f.root + path.sep)).sort((a, b) => b.root.length - a.root.length)[0];
      const key = folder?.uri ?? '';
      let group = groups.get(key);
      if (!group) groups.set(key, (group = new RecoveryFolderNode(key, folder?.name ?? 'other', [])));
      group.items.push(r);
    }
    return [...groups.values()];
  }

  getTreeItem(node: Node): vscode.TreeItem {
    if (node instanceof RecoveryFolderNode) return folderItem('recovery-log', node.uri, node.name, plural(node.items.length, 'entry', 'entries'));
    const r = node.recovery;
    // A lock removed by "Remove Lock Anyway…" was not proven stale: it is not called reaped.
    const confirmedUnknown = r.type === 'STALE_LOCK_RECOVERY' && (r.data as { confirmedUnknown?: unknown } | null)?.confirmedUnknown === true;
    const [title, icon] = confirmedUnknown ? ['Unknown lock removed', 'trash'] : (TITLES[r.type] ?? [r.type, 'history']);
    const target = subject(r.data);
    const item = new vscode.TreeItem(target ? `${title}: ${targetName(target, r.data)}` : title, vscode.TreeItemCollapsibleState.None);
    item.id = `recovery:${r.source}:${r.id}`;
    item.description = formatTime(r.ts);
    item.iconPath = new vscode.ThemeIcon(icon);
    item.contextValue = `recovery ${r.type}`;
    const md = new vscode.MarkdownString(`**${title}** (${r.type})\n\n`);
    if (r.ts) md.appendText(`${whenWords(r.ts)}\n`);
    md.appendCodeblock(JSON.stringify(r.data, null, 2) ?? 'null', 'json');
    item.tooltip = md;
    item.command = { command: 'ledgerlock.openEvent', title: 'Open Event', arguments: [{ ledger: r.source, id: String(r.id) }] };
    return item;
  }

  dispose(): void {
    this.disposables.forEach((d) => d.dispose());
  }
}

/** A reaped lock is named as the Locks view names it (a bare `.lock` by its folder and tool). */
function targetName(target: string, data: unknown): string {
  const d = data as { lock?: unknown; profile?: unknown } | null;
  if (d?.lock !== target) return baseName(target);
  return lockName({ path: target, profile: typeof d.profile === 'string' ? d.profile : 'generic' });
}

function subject(data: unknown): string | undefined {
  const d = data as { ledger?: unknown; lock?: unknown; dir?: unknown } | null;
  const s = d?.ledger ?? d?.lock ?? d?.dir;
  return typeof s === 'string' ? s : undefined;
}
