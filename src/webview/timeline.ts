/// <reference lib="dom" />
/**
 * The Timeline panel's page (runs in the webview, bundled with uPlot by esbuild). It draws
 * what the server aggregated: events per time bin, stacked by type, where dragging across
 * the chart zooms (the server re-bins the range) and clicking a bar opens its events in the
 * Ledgers view; and below, lock hold and wait spans. Colours come from the editor's theme.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { LockSpan, TimelineReply } from '../protocol';
import { formatAge as formatSpan } from '../shared/age';

interface VsCodeApi {
  postMessage(message: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

type Incoming = { type: 'data'; ledger: string; timeline: TimelineReply; spans: LockSpan[]; zoomed: boolean } | { type: 'error'; message: string };

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
  '--vscode-descriptionForeground',
];

const chartEl = document.getElementById('chart')!;
const legendEl = document.getElementById('legend')!;
const summaryEl = document.getElementById('summary')!;
const spansEl = document.getElementById('spans')!;
const resetEl = document.getElementById('reset') as HTMLButtonElement;
let plot: uPlot | undefined;
let last: Extract<Incoming, { type: 'data' }> | undefined;
let painted = false;

const css = (name: string, fallback: string) => getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
const colourOf = (i: number) => css(PALETTE[i % PALETTE.length]!, '#3794ff');

resetEl.addEventListener('click', () => vscode.postMessage({ type: 'reset' }));
window.addEventListener('message', (e: MessageEvent<Incoming>) => {
  const msg = e.data;
  if (msg.type === 'error') {
    summaryEl.textContent = msg.message;
    return;
  }
  last = msg;
  render(msg);
});
window.addEventListener('resize', () => plot?.setSize(size()));
// Theme switches change the body's class: draw again with the new colours.
new MutationObserver(() => last && render(last)).observe(document.body, { attributes: true, attributeFilter: ['class'] });
vscode.postMessage({ type: 'ready' });

function size(): { width: number; height: number } {
  return { width: Math.max(300, chartEl.clientWidth), height: 260 };
}

function render(msg: Extract<Incoming, { type: 'data' }>): void {
  const t = msg.timeline;
  resetEl.hidden = !msg.zoomed;
  const range = t.binMs > 0 ? `${new Date(t.from).toLocaleString()} – ${new Date(t.to).toLocaleString()}, ${formatSpan(t.binMs)} per bar` : 'no dated events';
  summaryEl.textContent = `${t.inRange.toLocaleString('en-US')} of ${t.total.toLocaleString('en-US')} events · ${range}${t.undated > 0 ? ` · ${t.undated.toLocaleString('en-US')} without a time` : ''}${t.truncated ? ' · newest events only' : ''}${t.partial ? ' · reading older events…' : ''}`;
  drawChart(t);
  drawLegend(t);
  drawSpans(msg.spans);
  if (!painted) {
    painted = true;
    requestAnimationFrame(() => vscode.postMessage({ type: 'painted', ms: Math.round(performance.now() - started) }));
  }
}

function drawChart(t: TimelineReply): void {
  const bins = t.counts[0]?.length ?? 0;
  const xs = Array.from({ length: bins }, (_, i) => (t.from + i * t.binMs) / 1000);
  // Stacked: series k is the sum of types k..n-1, drawn tallest first so each shows its band.
  const stacked: number[][] = [];
  let acc = new Array<number>(bins).fill(0);
  for (let k = t.types.length - 1; k >= 0; k--) {
    acc = acc.map((v, i) => v + (t.counts[k]![i] ?? 0));
    stacked.unshift(acc);
  }
  const fg = css('--vscode-foreground', '#ccc');
  const grid = css('--vscode-editorWidget-border', 'rgba(128,128,128,0.25)');
  const bars = uPlot.paths.bars!({ size: [0.9, 40], align: 1 });
  const opts: uPlot.Options = {
    ...size(),
    legend: { show: false },
    cursor: { drag: { x: true, y: false, setScale: false }, points: { show: false } },
    select: { show: true, left: 0, top: 0, width: 0, height: 0 },
    scales: { x: { time: true } },
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
    series: [{}, ...t.types.map((name, k) => ({ label: name, fill: colourOf(k), stroke: colourOf(k), width: 0, paths: bars, points: { show: false } }))],
    hooks: {
      setSelect: [
        (u: uPlot) => {
          if (u.select.width < 4) return;
          const from = u.posToVal(u.select.left, 'x') * 1000;
          const to = u.posToVal(u.select.left + u.select.width, 'x') * 1000;
          u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
          vscode.postMessage({ type: 'zoom', from: Math.floor(from), to: Math.ceil(to) });
        },
      ],
      setCursor: [(u: uPlot) => showTip(u, t)],
    },
  };
  plot?.destroy();
  plot = new uPlot(opts, [xs, ...stacked] as uPlot.AlignedData, chartEl);
  plot.over.addEventListener('click', () => {
    const idx = plot?.cursor.idx;
    if (idx === null || idx === undefined || !last) return;
    const tl = last.timeline;
    vscode.postMessage({ type: 'openBin', from: tl.from + idx * tl.binMs, to: tl.from + (idx + 1) * tl.binMs - 1 });
  });
}

function showTip(u: uPlot, t: TimelineReply): void {
  const idx = u.cursor.idx;
  const tip = document.getElementById('tip')!;
  if (idx === null || idx === undefined) {
    tip.hidden = true;
    return;
  }
  const rows = t.types.map((name, k) => [name, t.counts[k]![idx] ?? 0] as const).filter(([, n]) => n > 0);
  const total = rows.reduce((s, [, n]) => s + n, 0);
  tip.textContent = `${new Date(t.from + idx * t.binMs).toLocaleString()} · ${total.toLocaleString('en-US')} events${rows.length > 0 ? ': ' : ''}${rows.map(([name, n]) => `${name} ${n.toLocaleString('en-US')}`).join(', ')}`;
  tip.hidden = false;
}

function drawLegend(t: TimelineReply): void {
  legendEl.replaceChildren(
    ...t.types.map((name, k) => {
      const item = document.createElement('span');
      item.className = 'legend-item';
      const swatch = document.createElement('span');
      swatch.className = 'swatch';
      swatch.style.background = colourOf(k);
      const total = t.counts[k]!.reduce((s, v) => s + v, 0);
      item.append(swatch, `${name} (${total.toLocaleString('en-US')})`);
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

function drawSpans(spans: LockSpan[]): void {
  spansEl.replaceChildren();
  if (spans.length === 0) {
    const p = document.createElement('p');
    p.className = 'empty';
    p.textContent =
      'No lock holds or waits recorded for this folder yet. Waits longer than the contention threshold and reaped locks are recorded in the recovery log.';
    spansEl.append(p);
    return;
  }
  const locks = [...new Set(spans.map((s) => s.lock))].slice(0, 30);
  const start = Math.min(...spans.map((s) => s.start));
  const end = Math.max(...spans.map((s) => s.end), start + 1000);
  const width = Math.max(300, spansEl.clientWidth);
  const label = 180;
  const row = 22;
  const x = (t: number) => label + ((t - start) / (end - start)) * (width - label - 10);
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('width', String(width));
  svg.setAttribute('height', String(locks.length * row + 24));
  const fg = css('--vscode-foreground', '#ccc');
  locks.forEach((lock, r) => {
    const y = r * row + 4;
    const text = document.createElementNS(SVG, 'text');
    text.setAttribute('x', '0');
    text.setAttribute('y', String(y + 14));
    text.setAttribute('fill', fg);
    text.textContent = lock.split(/[\\/]/).pop() ?? lock;
    svg.append(text);
    for (const s of spans.filter((sp) => sp.lock === lock)) {
      const rect = document.createElementNS(SVG, 'rect');
      const x0 = x(s.start);
      rect.setAttribute('x', String(x0));
      rect.setAttribute('y', String(s.kind === 'hold' ? y + 2 : y + 9));
      rect.setAttribute('width', String(Math.max(s.kind === 'reaped' ? 3 : 2, x(s.end) - x0)));
      rect.setAttribute('height', String(s.kind === 'hold' ? 16 : 7));
      rect.setAttribute('fill', css(SPAN_COLOURS[s.kind], '#3794ff'));
      rect.setAttribute('fill-opacity', s.live ? '0.55' : '0.9');
      rect.setAttribute('class', `span ${s.kind}`);
      const title = document.createElementNS(SVG, 'title');
      const who = s.pid !== undefined ? `pid ${s.pid}` : 'unknown process';
      const what =
        s.kind === 'hold'
          ? `held by ${who}${s.tool ? ` (${s.tool})` : ''}${s.live ? ', still held' : ''}`
          : s.kind === 'reaped'
            ? `reaped (holder ${who} was gone)`
            : `${who} waited${s.kind === 'gave-up' ? ' and gave up' : ''}${s.holderPid !== undefined ? ` for pid ${s.holderPid}` : ''}`;
      title.textContent = `${text.textContent}: ${what}, ${formatSpan(s.end - s.start)} from ${new Date(s.start).toLocaleTimeString()}`;
      rect.append(title);
      svg.append(rect);
    }
  });
  const axis = document.createElementNS(SVG, 'text');
  axis.setAttribute('x', String(label));
  axis.setAttribute('y', String(locks.length * row + 18));
  axis.setAttribute('fill', fg);
  axis.textContent = `${new Date(start).toLocaleString()} → ${new Date(end).toLocaleString()}`;
  svg.append(axis);
  spansEl.append(svg);
}
