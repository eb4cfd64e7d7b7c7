/**
 * The Recoveries view: what the engine repaired, reaped or degraded, newest first, read
 * from each store's `telemetry.jsonl`.
 */
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { RecoveriesRequest, type RecoveryItem } from '../../protocol';
import { baseName, formatTime } from '../format';
import type { ServerState } from '../serverState';

const LIMIT = 200;

const TITLES: Record<string, [string, string]> = {
  STALE_LOCK_RECOVERY: ['Lock reaped', 'unlock'],
  CORRUPT_TAIL_RECOVERY: ['Tail repaired', 'tools'],
  CORRUPT_RECORD_QUARANTINED: ['Record quarantined', 'archive'],
  LEDGER_COMPACTED: ['Ledger compacted', 'fold'],
  DIR_FSYNC_UNSUPPORTED: ['Directory fsync unsupported', 'info'],
  LOCK_COMPROMISED: ['Lock compromised', 'warning'],
  LOCK_CONTENDED: ['Lock contended', 'watch'],
  LOCK_CONTENTION_TIMEOUT: ['Gave up waiting for a lock', 'clock'],
  LOCK_WAIT_ENDED: ['Lock wait ended', 'pass'],
};

export class RecoveryNode {
  constructor(readonly recovery: RecoveryItem) {}
}

export class RecoveriesView implements vscode.TreeDataProvider<RecoveryNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [];
  private items: RecoveryItem[] = [];
  readonly view: vscode.TreeView<RecoveryNode>;

  constructor(state: ServerState, private readonly client: () => LanguageClient | undefined) {
    this.view = vscode.window.createTreeView('ledgerlock.recoveries', { treeDataProvider: this });
    this.disposables.push(this.view, this.changed, state.onDidChangeRecoveries(() => this.changed.fire(undefined)));
  }

  /** The recoveries last shown, newest first. */
  get shown(): readonly RecoveryItem[] {
    return this.items;
  }

  async getChildren(node?: RecoveryNode): Promise<RecoveryNode[]> {
    if (node) return [];
    const client = this.client();
    if (!client) return [];
    try {
      this.items = await client.sendRequest(RecoveriesRequest.type, { limit: LIMIT });
    } catch {
      this.items = [];
    }
    return this.items.map((r) => new RecoveryNode(r));
  }

  getTreeItem(node: RecoveryNode): vscode.TreeItem {
    const r = node.recovery;
    const [title, icon] = TITLES[r.type] ?? [r.type, 'history'];
    const target = subject(r.data);
    const item = new vscode.TreeItem(target ? `${title}: ${baseName(target)}` : title, vscode.TreeItemCollapsibleState.None);
    item.id = `recovery:${r.source}:${r.id}`;
    item.description = formatTime(r.ts);
    item.iconPath = new vscode.ThemeIcon(icon);
    item.contextValue = `recovery ${r.type}`;
    const md = new vscode.MarkdownString(`**${title}** (${r.type})\n\n`);
    if (r.ts) md.appendText(`${r.ts}\n`);
    md.appendCodeblock(JSON.stringify(r.data, null, 2) ?? 'null', 'json');
    item.tooltip = md;
    item.command = { command: 'ledgerlock.openEvent', title: 'Open Event', arguments: [{ ledger: r.source, id: String(r.id) }] };
    return item;
  }

  dispose(): void {
    this.disposables.forEach((d) => d.dispose());
  }
}

function subject(data: unknown): string | undefined {
  const d = data as { ledger?: unknown; lock?: unknown; dir?: unknown } | null;
  const s = d?.ledger ?? d?.lock ?? d?.dir;
  return typeof s === 'string' ? s : undefined;
}
