/**
 * "Show Timeline": a webview panel per ledger with its event rate over time by type and the
 * lock hold and wait spans of its workspace folder. The server does the counting; the page
 * gets bins and spans only. Strict Content-Security-Policy: the page loads only its own
 * bundled script and stylesheet, the script by nonce; no network.
 */
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { LockSpansRequest, TimelineRequest } from '../protocol';
import { baseName } from './format';
import { watchFile } from './watch-file';
import type { ServerState } from './server-state';
import type { LedgersView } from './views/ledgers-view';

/** How soon a visible panel asks again: while counting, while events arrive, once the ledger is quiet. */
const COUNTING_MS = 500;
const LIVE_MS = 1000;
const IDLE_MS = 5000;
/** A ledger with no new events for this long is quiet. */
const QUIET_AFTER_MS = 30_000;

type FromPage =
  | { type: 'ready' }
  | { type: 'reset' }
  | { type: 'zoom'; from: number; to: number }
  | { type: 'openBin'; from: number; to: number }
  | { type: 'painted'; ms: number };

export class TimelinePanels implements vscode.Disposable {
  private readonly panels = new Map<string, vscode.WebviewPanel>();
  /** Milliseconds from opening a panel to its chart's first paint, per ledger (tests, the log). */
  readonly firstPaintMs = new Map<string, number>();

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly client: () => LanguageClient | undefined,
    private readonly state: ServerState,
    private readonly ledgers: LedgersView,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  show(ledger: string): vscode.WebviewPanel {
    const existing = this.panels.get(ledger);
    if (existing) {
      existing.reveal();
      return existing;
    }
    const opened = Date.now();
    const root = vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview');
    const panel = vscode.window.createWebviewPanel('ledgerlock.timeline', `Timeline: ${baseName(ledger)}`, vscode.ViewColumn.Active, {
      enableScripts: true,
      localResourceRoots: [root],
    });
    panel.iconPath = vscode.Uri.joinPath(this.extensionUri, 'media', 'ledgerlock.svg');
    panel.webview.html = html(panel.webview, root);
    this.panels.set(ledger, panel);
    let zoom: { from: number; to: number } | undefined;
    let disposed = false;
    // One request at a time; what arrives meanwhile (appends, a zoom) asks once more after it.
    let inFlight = false;
    let again = false;
    let next: ReturnType<typeof setTimeout> | undefined;
    /** What the page was last sent, so an unchanged answer is not drawn again (a hover stays). */
    let posted = '';
    let lastTotal: number | undefined;
    let changedAt = Date.now();
    const send = async (): Promise<void> => {
      const client = this.client();
      if (!client || disposed) return;
      if (inFlight) {
        again = true;
        return;
      }
      inFlight = true;
      again = false;
      clearTimeout(next);
      const asked = zoom;
      let partial = false;
      try {
        const folder = this.state.findLedger(ledger)?.folder;
        const [timeline, spans] = await Promise.all([
          client.sendRequest(TimelineRequest.type, { ledger, bins: 120, ...(asked ?? {}) }),
          folder ? client.sendRequest(LockSpansRequest.type, { folder }).then((r) => r.spans) : Promise.resolve([]),
        ]);
        // A reply for a zoom the person has left since is not drawn: the next one is on its way.
        if (disposed || asked !== zoom) return;
        partial = timeline.partial;
        if (timeline.total !== lastTotal) {
          lastTotal = timeline.total;
          changedAt = Date.now();
        }
        const guards = new Set([
          ...timeline.guards,
          ...this.state
            .locks()
            .filter((l) => l.guards === ledger)
            .map((l) => l.path),
        ]);
        const message = { type: 'data', ledger, timeline, spans: spans.filter((s) => guards.has(s.lock)), guards: [...guards], zoomed: asked !== undefined };
        const key = JSON.stringify({ ...message, timeline: { ...timeline, tookMs: 0 } });
        if (key !== posted) {
          posted = key;
          void panel.webview.postMessage(message);
        }
      } catch (err) {
        if (!disposed) void panel.webview.postMessage({ type: 'error', message: `Could not read ${baseName(ledger)}: ${(err as Error).message}` });
        return;
      } finally {
        inFlight = false;
        if (again || (asked !== zoom && !disposed)) void send();
        else schedule(partial);
      }
    };
    /**
     * The picture follows the file itself: the editor's workspace state says a ledger grew only
     * when its watcher reports a write, which for another process's appends can be seconds or
     * minutes apart. So a visible panel asks again on its own (docs/ARCHITECTURE.md, "Timeline: counting a live ledger"): soon while
     * counting, every LIVE_MS while events arrive, every IDLE_MS once the ledger is quiet; the
     * server answers an unchanged file from what it has counted.
     */
    const schedule = (counting: boolean): void => {
      clearTimeout(next);
      if (disposed || !panel.visible) return;
      const wait = counting ? COUNTING_MS : Date.now() - changedAt < QUIET_AFTER_MS ? LIVE_MS : IDLE_MS;
      next = setTimeout(() => void send(), wait);
    };
    const subscriptions: vscode.Disposable[] = [
      panel.webview.onDidReceiveMessage(async (msg: FromPage) => {
        if (msg.type === 'ready') await send();
        else if (msg.type === 'reset') {
          zoom = undefined;
          await send();
        } else if (msg.type === 'zoom') {
          zoom = { from: msg.from, to: msg.to };
          await send();
        } else if (msg.type === 'openBin') {
          await this.ledgers.showTimeRange(ledger, msg.from, msg.to);
        } else if (msg.type === 'painted') {
          const ms = Date.now() - opened;
          this.firstPaintMs.set(ledger, ms);
          this.log.info(`timeline of ${baseName(ledger)}: first paint ${ms} ms after opening (page script ${msg.ms} ms)`);
        }
      }),
      // Hidden, it asks nothing; shown again, it catches up at once.
      panel.onDidChangeViewState(() => {
        if (panel.visible) void send();
        else clearTimeout(next);
      }),
    ];
    // A write the editor's watcher does see is drawn without waiting for the next ask.
    const watcher = watchFile(ledger, () => {
      if (panel.visible) void send();
    });
    if (watcher) subscriptions.push(watcher);
    panel.onDidDispose(() => {
      disposed = true;
      clearTimeout(next);
      subscriptions.forEach((s) => s.dispose());
      this.panels.delete(ledger);
    });
    return panel;
  }

  dispose(): void {
    for (const panel of this.panels.values()) panel.dispose();
  }
}

function html(webview: vscode.Webview, root: vscode.Uri): string {
  const nonce = randomBytes(16).toString('base64');
  const script = webview.asWebviewUri(vscode.Uri.joinPath(root, 'timeline.js'));
  const style = webview.asWebviewUri(vscode.Uri.joinPath(root, 'timeline.css'));
  const csp = [
    `default-src 'none'`,
    `script-src 'nonce-${nonce}'`,
    `style-src ${webview.cspSource} 'nonce-${nonce}'`,
    `img-src ${webview.cspSource} data:`,
    `font-src ${webview.cspSource}`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${style}">
<style nonce="${nonce}">
  body { color: var(--vscode-foreground); background: var(--vscode-editor-background); font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); padding: 8px 16px; }
  h2 { font-size: 1.1em; font-weight: 600; margin: 12px 0 4px; }
  #summary, .empty, .hint { color: var(--vscode-descriptionForeground); margin: 4px 0; }
  #legend { display: flex; flex-wrap: wrap; gap: 4px 14px; margin: 6px 0; }
  .legend-item { display: inline-flex; align-items: center; gap: 6px; }
  .swatch { width: 10px; height: 10px; display: inline-block; border-radius: 2px; }
  #tip { min-height: 1.4em; margin: 2px 0; }
  #progress { display: flex; align-items: center; gap: 8px; margin: 4px 0; color: var(--vscode-descriptionForeground); }
  #progress[hidden] { display: none; }
  #progress-bar { width: 220px; height: 6px; accent-color: var(--vscode-progressBar-background); }
  #chart { position: relative; }
  #range { color: var(--vscode-descriptionForeground); margin: 2px 0; }
  .lane-label { color: var(--vscode-foreground); }
  #reset { background: var(--vscode-button-secondaryBackground); color: var(--vscode-button-secondaryForeground); border: none; padding: 3px 10px; cursor: pointer; margin-left: 8px; }
  .u-select { background: var(--vscode-editor-selectionBackground); opacity: 0.5; }
  svg text { font-size: 12px; }
</style>
<title>Ledgerlock Timeline</title>
</head>
<body>
<h2>Events over time <button id="reset" hidden>Reset Zoom</button></h2>
<div id="summary">Reading the ledger…</div>
<div id="progress" hidden><progress id="progress-bar" max="1" value="0"></progress> <span id="progress-text"></span></div>
<div id="legend"></div>
<div id="chart"></div>
<div id="range"></div>
<div id="tip" hidden></div>
<p class="hint">Drag across the chart to zoom in; click a bar to list its events in the Ledgers view.</p>
<h2 id="spans-title">Lock holds and waits</h2>
<div id="spans"></div>
<script nonce="${nonce}" src="${script}"></script>
</body>
</html>`;
}
