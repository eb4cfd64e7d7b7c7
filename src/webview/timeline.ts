/// <reference lib="dom" />
/**
 * The Timeline panel's page (runs in the webview, bundled with uPlot by esbuild). It draws
 * what the server aggregated: events per time bin, stacked by type, where dragging across
 * the chart zooms (the range narrows at once; the server then re-bins it) and clicking a bar
 * opens its events in the Ledgers view; and below, on the same time axis, the holds and waits
 * of the locks that guard this ledger. Colours come from the editor's theme; each type keeps
 * the colour of its slot (its first appearance in the file), whatever else arrives.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { LockSpan, TimelineReply } from '../protocol';
import { formatAge as formatSpan } from '../shared/age';

interface VsCodeApi {
  postMessage(message: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

type Data = { type: 'data'; ledger: string; timeline: TimelineReply; spans: LockSpan[]; guards: string[]; zoomed: boolean };
type Incoming = Data | { type: 'error'; message: string };

const vscode = acquireVsCodeApi();
const started = performance.now();
const PALETTE = [
  '--vscode-charts-blue',
  '--vscode-charts-orange',
  '--vscode-charts-green',
  '--vscode-charts-purple',
  '--vscode-charts-yellow',
  '--vscode-charts-red',
  '--vscode-terminal-ansiCyan',
  '--vscode-terminal-ansiMagenta',
];
const OTHER = '--vscode-descriptionForeground';

const chartEl = document.getElementById('chart')!;
const legendEl = document.getElementById('legend')!;
const summaryEl = document.getElementById('summary')!;
const progressEl = document.getElementById('progress')!;
const progressBar = document.getElementById('progress-bar') as HTMLProgressElement;
const progressText = document.getElementById('progress-text')!;
const rangeEl = document.getElementById('range')!;
const spansEl = document.getElementById('spans')!;
const spansTitle = document.getElementById('spans-title')!;
const resetEl = document.getElementById('reset') as HTMLButtonElement;
let plot: uPlot | undefined;
/** What the plot was made for: its types and theme; anything else is new data on the same plot. */
let plotKey = '';
let last: Data | undefined;
/** The range drawn, epoch ms: the server's answer, or at once the range a drag selected. */
let view = { from: 0, to: 1 };
/** Data that arrived during a drag waits for the button's release, so the drag is not lost. */
let dragging = false;
let waiting: Data | undefined;
let painted = false;

const css = (name: string, fallback: string) => getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
const colourOf = (slot: number) => css(slot < 0 ? OTHER : PALETTE[slot % PALETTE.length]!, '#3794ff');
const num = (n: number) => n.toLocaleString('en-US');
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(bytes >= 1e8 ? 0 : 1)} MB`;

resetEl.addEventListener('click', () => {
  resetEl.hidden = true;
  vscode.postMessage({ type: 'reset' });
});
window.addEventListener('message', (e: MessageEvent<Incoming>) => {
  const msg = e.data;
  if (msg.type === 'error') {
    summaryEl.textContent = msg.message;
    return;
  }
  if (dragging) waiting = msg;
  else render(msg);
});
chartEl.addEventListener('pointerdown', () => (dragging = true));
window.addEventListener('pointerup', () => {
  dragging = false;
  const next = waiting;
  waiting = undefined;
  // After the release uPlot reports the selection; draw what waited once that is done.
  if (next) setTimeout(() => (dragging ? (waiting ??= next) : render(next)), 0);
});
// The lanes follow in the plot's setSize hook, once the new size is laid out.
window.addEventListener('resize', () => plot?.setSize(size()));
// Theme switches change the body's class: draw again with the new colours.
new MutationObserver(() => {
  plotKey = '';
  if (last) render(last);
}).observe(document.body, { attributes: true, attributeFilter: ['class'] });
vscode.postMessage({ type: 'ready' });

function size(): { width: number; height: number } {
  return { width: Math.max(300, chartEl.clientWidth), height: 260 };
}

function render(msg: Data): void {
  const t = msg.timeline;
  last = msg;
  view = { from: t.viewFrom, to: t.viewTo };
  resetEl.hidden = !msg.zoomed;
  drawSummary(msg);
  const made = drawChart(t);
  drawLegend(t);
  // A new plot is laid out in a microtask: its setSize hook draws the lanes on its real axis.
  if (!made) drawSpans(msg);
  if (!painted) {
    painted = true;
    requestAnimationFrame(() => vscode.postMessage({ type: 'painted', ms: Math.round(performance.now() - started) }));
  }
}

function drawSummary(msg: Data): void {
  const t = msg.timeline;
  const p = t.progress;
  const extra = `${t.undated > 0 ? ` · ${num(t.undated)} without a time` : ''}${t.truncated ? ' · newest events only' : ''}`;
  if (t.partial && p) {
    const about = p.estimatedTotal !== null ? ` of about ${num(p.estimatedTotal)}` : '';
    const upTo = p.countedTo !== null ? `, up to ${new Date(p.countedTo).toLocaleTimeString()}` : '';
    summaryEl.textContent = `Counting events, oldest first: ${num(t.total)}${about} so far${upTo}${msg.zoomed ? ` · ${num(t.inRange)} in this range` : ''}${extra}`;
    progressEl.hidden = false;
    progressBar.value = p.bytesTotal > 0 ? p.bytesRead / p.bytesTotal : 0;
    progressText.textContent = `${mb(p.bytesRead)} of ${mb(p.bytesTotal)} read (${Math.floor((100 * p.bytesRead) / Math.max(1, p.bytesTotal))}%)`;
  } else {
    summaryEl.textContent = `${num(t.inRange)} of ${num(t.total)} events${extra}`;
    progressEl.hidden = true;
  }
  if (t.binMs > 0) showRange(t.viewFrom, t.viewTo, `${formatSpan(t.binMs)} per bar`, msg.zoomed);
  else rangeEl.textContent = t.partial ? 'Finding the ledger’s time span…' : 'no dated events';
}

/** The range drawn, in words and (for tests and tools) as epoch ms on the element. */
function showRange(from: number, to: number, bars: string, zoomed: boolean): void {
  rangeEl.dataset.from = String(from);
  rangeEl.dataset.to = String(to);
  rangeEl.textContent = `${new Date(from).toLocaleString()} – ${new Date(to).toLocaleString()}, ${bars}${zoomed ? ' · zoomed: kept while events arrive' : ' · whole ledger: grows with new events'}`;
}

/** Draws the bars; true when a new plot was made (its size is set after this returns). */
function drawChart(t: TimelineReply): boolean {
  const bins = t.counts[0]?.length ?? 0;
  const xs = Array.from({ length: bins }, (_, i) => (t.from + i * t.binMs) / 1000);
  // Stacked: series k is the sum of types k..n-1, drawn tallest first so each shows its band.
  const stacked: number[][] = [];
  let acc = new Array<number>(bins).fill(0);
  for (let k = t.types.length - 1; k >= 0; k--) {
    acc = acc.map((v, i) => v + (t.counts[k]![i] ?? 0));
    stacked.unshift(acc);
  }
  const data = [xs, ...stacked] as uPlot.AlignedData;
  const key = JSON.stringify([t.types, t.slots, t.binMs > 0]);
  chartEl.dataset.viewFrom = String(t.viewFrom);
  chartEl.dataset.viewTo = String(t.viewTo);
  chartEl.dataset.binMs = String(t.binMs);
  if (plot && key === plotKey) {
    // Same types: new counts on the same plot, so a hover or a selection under way stays.
    plot.setData(data);
    return false;
  }
  plotKey = key;
  const fg = css('--vscode-foreground', '#ccc');
  const grid = css('--vscode-editorWidget-border', 'rgba(128,128,128,0.25)');
  const bars = uPlot.paths.bars!({ size: [0.9, 40], align: 1 });
  const opts: uPlot.Options = {
    ...size(),
    legend: { show: false },
    cursor: { drag: { x: true, y: false, setScale: false }, points: { show: false } },
    select: { show: true, left: 0, top: 0, width: 0, height: 0 },
    // The x range is the view, never the data's extent: the axis stays where the person put it.
    scales: { x: { time: true, range: () => [view.from / 1000, view.to / 1000] } },
    axes: [
      { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid } },
      {
        stroke: fg,
        grid: { stroke: grid, width: 1 },
        ticks: { stroke: grid },
        size: 56,
        values: (_u, vals) => vals.map((v) => (v >= 1000 ? `${(v / 1000).toFixed(v >= 10_000 ? 0 : 1)}k` : String(v))),
      },
    ],
    series: [
      {},
      ...t.types.map((name, k) => ({
        label: name,
        fill: colourOf(t.slots[k] ?? -1),
        stroke: colourOf(t.slots[k] ?? -1),
        width: 0,
        paths: bars,
        points: { show: false },
      })),
    ],
    hooks: {
      setSelect: [
        (u: uPlot) => {
          if (u.select.width < 4) return;
          const from = Math.floor(u.posToVal(u.select.left, 'x') * 1000);
          const to = Math.ceil(u.posToVal(u.select.left + u.select.width, 'x') * 1000);
          u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
          // Narrowed at once with the bars at hand; the server's finer bins follow.
          view = { from, to };
          resetEl.hidden = false;
          u.setScale('x', { min: from / 1000, max: to / 1000 });
          showRange(from, to, 'finer bars on their way', true);
          if (last) {
            last = { ...last, zoomed: true };
            drawSpans(last);
          }
          vscode.postMessage({ type: 'zoom', from, to });
        },
      ],
      setCursor: [(u: uPlot) => showTip(u)],
      setSize: [(u: uPlot) => (last ? drawSpans(last, u) : undefined)],
      draw: [(u: uPlot) => shadeUncounted(u)],
    },
  };
  plot?.destroy();
  plot = new uPlot(opts, data, chartEl);
  plot.over.addEventListener('click', () => {
    const idx = plot?.cursor.idx;
    if (idx === null || idx === undefined || !last) return;
    const tl = last.timeline;
    vscode.postMessage({ type: 'openBin', from: tl.from + idx * tl.binMs, to: tl.from + (idx + 1) * tl.binMs - 1 });
  });
  return true;
}

/** While counting, the part of the range not counted yet is shaded and says so, not drawn as empty. */
function shadeUncounted(u: uPlot): void {
  const t = last?.timeline;
  const countedTo = t?.progress?.countedTo;
  if (!t?.partial || countedTo === null || countedTo === undefined || countedTo >= view.to) return;
  const x0 = Math.max(u.bbox.left, u.valToPos(countedTo / 1000, 'x', true));
  const x1 = u.bbox.left + u.bbox.width;
  const ctx = u.ctx;
  ctx.save();
  ctx.fillStyle = css('--vscode-editor-selectionBackground', 'rgba(128,128,128,0.3)');
  ctx.globalAlpha = 0.35;
  ctx.fillRect(x0, u.bbox.top, x1 - x0, u.bbox.height);
  ctx.globalAlpha = 1;
  ctx.fillStyle = css('--vscode-descriptionForeground', '#999');
  ctx.font = `${12 * devicePixelRatio}px sans-serif`;
  ctx.fillText('counting…', x0 + 6 * devicePixelRatio, u.bbox.top + 16 * devicePixelRatio);
  ctx.restore();
}

function showTip(u: uPlot): void {
  const idx = u.cursor.idx;
  const tip = document.getElementById('tip')!;
  const t = last?.timeline;
  if (idx === null || idx === undefined || !t) {
    tip.hidden = true;
    return;
  }
  const rows = t.types.map((name, k) => [name, t.counts[k]?.[idx] ?? 0] as const).filter(([, n]) => n > 0);
  const total = rows.reduce((s, [, n]) => s + n, 0);
  tip.textContent = `${new Date(t.from + idx * t.binMs).toLocaleString()} · ${num(total)} events${rows.length > 0 ? ': ' : ''}${rows.map(([name, n]) => `${name} ${num(n)}`).join(', ')}`;
  tip.hidden = false;
}

function drawLegend(t: TimelineReply): void {
  legendEl.replaceChildren(
    ...t.types.map((name, k) => {
      const item = document.createElement('span');
      item.className = 'legend-item';
      item.dataset.type = name;
      const swatch = document.createElement('span');
      swatch.className = 'swatch';
      swatch.style.background = colourOf(t.slots[k] ?? -1);
      const total = t.counts[k]!.reduce((s, v) => s + v, 0);
      item.append(swatch, `${name} (${num(total)})`);
      return item;
    }),
  );
}

const SVG = 'http://www.w3.org/2000/svg';
const SPAN_COLOURS: Record<LockSpan['kind'], string> = {
  hold: '--vscode-charts-blue',
  wait: '--vscode-charts-orange',
  'gave-up': '--vscode-charts-red',
  reaped: '--vscode-charts-red',
};

/** A lock's name with its folder, so `.lock` or `agent.lock` says where it is. */
const lockName = (p: string) => p.split(/[\\/]/).slice(-2).join('/');
const fileName = (p: string) => p.split(/[\\/]/).pop() ?? p;

/**
 * One lane per lock that guards this ledger, on the chart's own time axis: spans are placed
 * with the plot's scale and clipped to the range drawn, so a zoom narrows them too.
 */
function drawSpans(msg: Data, u: uPlot | undefined = plot): void {
  spansEl.replaceChildren();
  const ledgerName = fileName(msg.ledger);
  spansTitle.textContent = `Locks that guard ${ledgerName}: holds and waits`;
  const inView = msg.spans.filter((s) => s.end >= view.from && s.start <= view.to);
  if (msg.spans.length === 0 || !u) {
    const p = document.createElement('p');
    p.className = 'empty';
    const names = msg.guards.map(lockName).join(', ');
    p.textContent = `No holds or waits recorded for ${names || 'the lock that guards this ledger'} yet. Waits longer than the contention threshold and reaped locks are recorded in the recovery log.`;
    spansEl.append(p);
    return;
  }
  const locks = [...new Set(msg.spans.map((s) => s.lock))].slice(0, 30);
  const over = u.over.getBoundingClientRect();
  const box = spansEl.getBoundingClientRect();
  const left = over.left - box.left;
  const right = left + over.width;
  const width = Math.max(300, Math.ceil(box.width));
  spansEl.dataset.left = String(Math.round(left));
  spansEl.dataset.right = String(Math.round(right));
  const x = (t: number) => left + ((t - view.from) / (view.to - view.from)) * (right - left);
  const row = 36;
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('width', String(width));
  svg.setAttribute('height', String(locks.length * row + 22));
  const fg = css('--vscode-foreground', '#ccc');
  const faint = css('--vscode-editorWidget-border', 'rgba(128,128,128,0.35)');
  locks.forEach((lock, r) => {
    const y = r * row;
    const text = document.createElementNS(SVG, 'text');
    text.setAttribute('x', String(left));
    text.setAttribute('y', String(y + 12));
    text.setAttribute('fill', fg);
    text.setAttribute('class', 'lane-label');
    const mine = inView.filter((sp) => sp.lock === lock);
    text.textContent = `${lockName(lock)} · guards ${ledgerName}${mine.length === 0 ? ' · nothing in this range' : ''}`;
    svg.append(text);
    const lane = document.createElementNS(SVG, 'rect');
    lane.setAttribute('x', String(left));
    lane.setAttribute('y', String(y + 16));
    lane.setAttribute('width', String(right - left));
    lane.setAttribute('height', '16');
    lane.setAttribute('fill', 'none');
    lane.setAttribute('stroke', faint);
    svg.append(lane);
    for (const s of mine) {
      const start = Math.max(s.start, view.from);
      const end = Math.min(s.end, view.to);
      const rect = document.createElementNS(SVG, 'rect');
      const x0 = x(start);
      const w = Math.max(s.kind === 'reaped' ? 3 : 2, x(end) - x0);
      rect.setAttribute('x', String(Math.min(x0, right - w)));
      rect.setAttribute('y', String(s.kind === 'hold' ? y + 16 : y + 24));
      rect.setAttribute('width', String(w));
      rect.setAttribute('height', String(s.kind === 'hold' ? 16 : 8));
      rect.setAttribute('fill', css(SPAN_COLOURS[s.kind], '#3794ff'));
      rect.setAttribute('fill-opacity', s.live ? '0.55' : '0.9');
      rect.setAttribute('class', `span ${s.kind}`);
      rect.dataset.lock = s.lock;
      const title = document.createElementNS(SVG, 'title');
      const who = s.pid !== undefined ? `pid ${s.pid}` : 'a process not recorded';
      const what =
        s.kind === 'hold'
          ? `held by ${who}${s.tool ? ` (${s.tool})` : ''}${s.live ? ', still held' : ''}`
          : s.kind === 'reaped'
            ? `reaped (holder ${who} was gone)`
            : `${who} waited${s.kind === 'gave-up' ? ' and gave up' : ''}${s.holderPid !== undefined ? ` for pid ${s.holderPid}` : ''}`;
      title.textContent = `${lockName(lock)}: ${what}, ${formatSpan(s.end - s.start)} from ${new Date(s.start).toLocaleTimeString()}`;
      rect.append(title);
      svg.append(rect);
    }
  });
  const outside = msg.spans.length - inView.length;
  if (outside > 0) {
    const note = document.createElementNS(SVG, 'text');
    note.setAttribute('x', String(left));
    note.setAttribute('y', String(locks.length * row + 16));
    note.setAttribute('fill', css('--vscode-descriptionForeground', '#999'));
    note.textContent = `${num(outside)} more outside this range`;
    svg.append(note);
  }
  spansEl.append(svg);
}
