// UI test for the Timeline on a live ledger (issue 16, item 5): a 300,000-event store ledger that
// a writer appends to every 100 ms. The first paint says how far the counting is (never "0 of 0"),
// and the axis does not move while older events are counted; a drag narrows the range at once and
// the zoom is kept through 10 updates, with every type's legend colour unchanged; the lock lane
// shows only the lock that guards this ledger (not another lock held in the same store), inside
// the chart's axis range; a reopen does not count the ledger again. Screenshots are kept.
import { spawn } from 'node:child_process';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, startCodeServer } from '../codeServer.mjs';
import { engine, enginePath, holdLock, makeWorkspace } from '../fixture.mjs';
import { openLedgerlockContainer, runCommand, runSteps, treeRow, until, waitForWorkbench } from './workbench.mjs';

const EVENTS = Number(process.env.LEDGERLOCK_UI_LIVE_EVENTS ?? 300_000);

export async function runTimelineLiveUiTests({ scratch, resultsDir }) {
  const results = { passed: [], failed: [], metrics: [] };
  const ws = await makeWorkspace(path.join(scratch, 'timeline-live-workspace'), { torn: false, dead: false });
  const ledger = path.join(ws.store, 'ledgers', 'agent.jsonl');
  const made = Date.now();
  await makeBigLedger(ledger, EVENTS);
  results.metrics.push({ name: `${EVENTS.toLocaleString('en-US')}-event ledger made`, value: Date.now() - made, unit: 'ms' });
  const children = [];
  const logLines = [];
  // The writer, a lock of the same store that does not guard agent.jsonl, and a holder of
  // agent.jsonl's own lock for longer than the engine's 10 s contention threshold, so the
  // writer's wait and the hold are recorded in the recovery log.
  children.push(startWriter(ledger, 100));
  children.push(await holdLock(path.join(ws.store, 'locks', 'deploy.lock'), 'deploy-holder'));
  const guard = path.join(ws.store, 'locks', 'agent.lock');
  const guardHolder = await holdFor(guard, 11_500);
  children.push(guardHolder);

  const server = await startCodeServer({ trusted: true, log: (l) => logLines.push(l) });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.on('console', (m) => logLines.push(`[browser ${m.type()}] ${m.text()}`));
  const shot = (name) => page.screenshot({ path: path.join(resultsDir, name) });
  const frame = page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
  /** What the page shows now, read from its DOM. */
  const look = () =>
    frame.locator('body').evaluate(() => {
      const range = document.getElementById('range');
      const progress = document.getElementById('progress');
      const colours = {};
      for (const item of document.querySelectorAll('.legend-item'))
        colours[item.dataset.type] = getComputedStyle(item.querySelector('.swatch')).backgroundColor;
      const over = document.querySelector('#chart .u-over')?.getBoundingClientRect();
      return {
        summary: document.getElementById('summary').textContent,
        progress: progress.hidden ? null : document.getElementById('progress-text').textContent,
        from: Number(range.dataset.from ?? NaN),
        to: Number(range.dataset.to ?? NaN),
        canvas: document.querySelector('#chart canvas') !== null,
        colours,
        over: over ? { left: over.left, right: over.right } : null,
        spans: [...document.querySelectorAll('#spans rect.span')].map((r) => {
          const b = r.getBoundingClientRect();
          return { lock: r.dataset.lock, kind: r.getAttribute('class'), left: b.left, right: b.right };
        }),
        spansText: document.getElementById('spans').textContent,
      };
    });
  const inRangeOf = (summary) => Number(/^([\d,]+) of [\d,]+ events/.exec(summary)?.[1]?.replace(/,/g, '') ?? NaN);
  // Every paint of the summary and range, recorded in the page as it happens: polling from here
  // can miss a paint that lasts less than a poll on a loaded machine.
  const paints = () =>
    frame.locator('body').evaluate(() => {
      const w = window;
      if (!w.__paints) {
        w.__paints = [];
        const note = () => {
          const progress = document.getElementById('progress');
          w.__paints.push({
            summary: document.getElementById('summary').textContent,
            progress: progress.hidden ? null : document.getElementById('progress-text').textContent,
            from: Number(document.getElementById('range').dataset.from ?? NaN),
          });
        };
        const observer = new MutationObserver(note);
        for (const id of ['summary', 'progress', 'range'])
          observer.observe(document.getElementById(id), { childList: true, characterData: true, subtree: true, attributes: true });
        note();
      }
      return w.__paints;
    });
  const totalIn = (summary) => Number(/of ([\d,]+) events/.exec(summary)?.[1]?.replace(/,/g, '') ?? NaN);
  // The graph icon on the ledger's row, as a person opens it; when it was clicked (the row
  // itself waits for the server's scan, which is not the Timeline's time).
  const openTimeline = async () => {
    const row = treeRow(page, 'Ledgers', 'agent.jsonl');
    await row.waitFor({ timeout: 60_000 });
    await row.hover();
    await row.locator('.action-label[aria-label^="Show Timeline"]').click();
    return Date.now();
  };
  let zoom;
  let coloursBefore;

  const steps = [
    [
      'while the ledger is counted the page says how far, never "0 of 0", and the axis does not move',
      async () => {
        await page.goto(server.workbenchUrl(ws.dir));
        await waitForWorkbench(page);
        await openLedgerlockContainer(page);
        const started = await openTimeline();
        const seen = [];
        let firstPaint;
        let shotTaken = false;
        await until(
          'the counting to finish',
          async () => {
            await paints().catch(() => undefined);
            const now = await look().catch(() => undefined);
            if (!now || now.summary === 'Reading the ledger…') return false;
            firstPaint ??= Date.now() - started;
            seen.push(now);
            if (now.progress && !shotTaken) {
              shotTaken = true;
              await shot('ui-timeline-live-1-counting.png');
            }
            return now.progress === null && /of [\d,]+ events/.test(now.summary);
          },
          120_000,
        );
        results.metrics.push({
          name: `timeline of a live ${EVENTS.toLocaleString('en-US')}-event ledger: click to first paint`,
          value: firstPaint,
          unit: 'ms',
        });
        results.metrics.push({
          name: `timeline of a live ${EVENTS.toLocaleString('en-US')}-event ledger: click to whole count`,
          value: Date.now() - started,
          unit: 'ms',
        });
        await shot('ui-timeline-live-2-counted.png');
        seen.push(...(await paints()).filter((p) => p.summary !== 'Reading the ledger…'));
        const empty = seen.find((s) => /\b0 of 0 events/.test(s.summary));
        if (empty) throw new Error(`a paint said "${empty.summary}"`);
        const counting = seen.find((s) => s.progress && /[\d.]+ MB of [\d.]+ MB read \(\d+%\)/.test(s.progress) && /Counting events/.test(s.summary));
        if (!counting) throw new Error(`no paint showed the counting's progress: ${JSON.stringify(seen.slice(0, 3).map((s) => [s.summary, s.progress]))}`);
        const lefts = new Set(seen.filter((s) => Number.isFinite(s.from)).map((s) => s.from));
        if (lefts.size !== 1) throw new Error(`the axis's left edge moved while counting: ${[...lefts].join(', ')}`);
        const last = await look();
        if (totalIn(last.summary) < EVENTS) throw new Error(`counted ${last.summary}, the ledger has over ${EVENTS}`);
      },
    ],
    [
      'a drag narrows the range at once and the zoom is kept through 10 updates, each type in the same colour',
      async () => {
        const before = await look();
        coloursBefore = before.colours;
        // Across the ledger's first quarter, where its 300,000 events were written, so the zoom
        // holds bars of every type whose colours can be compared.
        const box = await frame.locator('#chart .u-over').boundingBox();
        await page.mouse.move(box.x + box.width * 0.005, box.y + box.height / 2);
        await page.mouse.down();
        await page.mouse.move(box.x + box.width * 0.25, box.y + box.height / 2, { steps: 5 });
        await page.mouse.up();
        const dragged = Date.now();
        await until(
          'the range to narrow',
          async () => {
            const now = await look();
            return now.to - now.from < (before.to - before.from) * 0.3;
          },
          5_000,
        );
        results.metrics.push({ name: 'drag to a narrowed range on the page', value: Date.now() - dragged, unit: 'ms' });
        await frame.locator('#reset:not([hidden])').waitFor({ timeout: 5_000 });
        const narrowed = await look();
        zoom = { from: narrowed.from, to: narrowed.to };
        // The server's answer for the zoom, then 10 more as the writer appends.
        await until(
          'the server to bin the zoom',
          async () => /zoomed: kept/.test(await frame.locator('#range').innerText()) && !/finer bars/.test(await frame.locator('#range').innerText()),
          20_000,
        );
        const zoomed = await look();
        if (!(inRangeOf(zoomed.summary) > 0) || Object.keys(zoomed.colours).length < 4)
          throw new Error(`the zoom holds no bars to compare: ${zoomed.summary}, legend ${JSON.stringify(zoomed.colours)}`);
        for (const [type, colour] of Object.entries(zoomed.colours))
          if (coloursBefore[type] !== colour) throw new Error(`zoomed, ${type} was ${coloursBefore[type]}, now ${colour}`);
        const totals = new Set();
        const updating = Date.now();
        await until(
          '10 updates while zoomed',
          async () => {
            const now = await look();
            if (now.from !== zoom.from || now.to !== zoom.to) throw new Error(`the zoom moved: ${zoom.from}–${zoom.to} became ${now.from}–${now.to}`);
            for (const [type, colour] of Object.entries(now.colours))
              if (coloursBefore[type] !== undefined && coloursBefore[type] !== colour) throw new Error(`${type} was ${coloursBefore[type]}, now ${colour}`);
            totals.add(totalIn(now.summary));
            return totals.size >= 11;
          },
          120_000,
        );
        results.metrics.push({ name: '10 updates drawn while zoomed (a write every 100 ms)', value: Date.now() - updating, unit: 'ms' });
        await shot('ui-timeline-live-3-zoom-kept.png');
      },
    ],
    [
      'the lock lane shows only the lock that guards agent.jsonl, inside the axis range, zoomed and not',
      async () => {
        await until('the guard holder to let go', () => guardHolder.exitCode !== null, 30_000);
        const check = (now, where) => {
          if (now.spans.some((s) => !s.lock.endsWith(`${path.sep}agent.lock`)))
            throw new Error(`${where}: a lane for a lock that does not guard the ledger: ${JSON.stringify(now.spans.map((s) => s.lock))}`);
          if (/deploy\.lock/.test(now.spansText)) throw new Error(`${where}: deploy.lock is shown: ${now.spansText}`);
          for (const s of now.spans)
            if (s.left < now.over.left - 1 || s.right > now.over.right + 1)
              throw new Error(`${where}: a ${s.kind} span at ${s.left}–${s.right} px is outside the axis at ${now.over.left}–${now.over.right} px`);
        };
        check(await look(), 'zoomed');
        await frame.locator('#reset').click();
        await until('the whole ledger again', async () => !/zoomed/.test(await frame.locator('#range').innerText()), 20_000);
        await until(
          'the hold and wait of agent.lock recorded and drawn',
          async () => (await look()).spans.filter((s) => /hold|wait/.test(s.kind)).length >= 2,
          60_000,
        );
        const whole = await look();
        check(whole, 'whole ledger');
        if (!/agent\.lock · guards agent\.jsonl/.test(whole.spansText)) throw new Error(`the lane does not say what it guards: ${whole.spansText}`);
        for (const [type, colour] of Object.entries(whole.colours))
          if (coloursBefore[type] !== undefined && coloursBefore[type] !== colour)
            throw new Error(`after Reset Zoom ${type} was ${coloursBefore[type]}, now ${colour}`);
        await page.mouse.move(1300, 880);
        await shot('ui-timeline-live-4-lock-lane.png');
      },
    ],
    [
      'a reopen answers from the counted ledger, with only the new bytes read',
      async () => {
        await runCommand(page, 'View: Close All Editors');
        const started = await openTimeline();
        const seen = [];
        await until(
          'the reopened timeline whole',
          async () => {
            const now = await look().catch(() => undefined);
            if (!now || now.summary === 'Reading the ledger…') return false;
            seen.push(now);
            return now.progress === null && /of [\d,]+ events/.test(now.summary);
          },
          60_000,
        );
        const ms = Date.now() - started;
        results.metrics.push({ name: 'reopen to the whole picture', value: ms, unit: 'ms' });
        await shot('ui-timeline-live-5-reopened.png');
        // Counting again from the start would show a low percentage; new bytes only are the last one or two.
        const recount = seen.find((s) => s.progress !== null && Number(/\((\d+)%\)/.exec(s.progress)?.[1] ?? 100) < 90);
        if (recount) throw new Error(`the reopen counted the ledger again: ${recount.progress}`);
        if (ms > 20_000) throw new Error(`the reopen took ${ms} ms`);
      },
    ],
  ];

  try {
    await runSteps(steps, results, shot, 'ui-timeline-live');
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    writeFileSync(path.join(resultsDir, 'ui-timeline-live-code-server.log'), logLines.join('\n') + '\n');
    results.metrics.push({ name: 'ledger size at the end', value: statSync(ledger).size, unit: 'bytes' });
    await browser.close().catch(() => undefined);
    await server.stop({ keepData: results.failed.length > 0 });
  }
  return results;
}

/** A big ledger written in batches (no fsync per batch: a fixture, not a durability test). */
async function makeBigLedger(file, events) {
  mkdirSync(path.dirname(file), { recursive: true });
  const ledger = await engine().openLedger(file, { create: true, durability: 'none', telemetry: false });
  try {
    const types = ['job.started', 'job.finished', 'metric.sample', 'cache.miss'];
    const batch = [];
    for (let i = 0; i < 5000; i++) batch.push({ type: types[i % 7 === 0 ? 3 : i % 3], data: { n: i } });
    for (let written = 0; written < events; written += batch.length) await ledger.appendMany(batch.slice(0, Math.min(batch.length, events - written)));
  } finally {
    await ledger.close();
  }
}

/** A child process appending one `tick` every `everyMs` (its waits for the lock are recorded). */
function startWriter(file, everyMs) {
  const script = `
    const e = require(${JSON.stringify(enginePath)});
    e.openLedger(${JSON.stringify(file)}, { lockTimeoutMs: 60000 }).then((l) => {
      let i = 0;
      setInterval(() => l.append('tick', { i: ++i }).catch((err) => console.error(err.message)), ${everyMs});
    });`;
  return spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
}

/** A child process that takes `lockPath`, holds it for `ms` and lets it go; resolves once held. */
function holdFor(lockPath, ms) {
  const script = `
    const e = require(${JSON.stringify(enginePath)});
    e.acquireLock(${JSON.stringify(lockPath)}, { tool: 'guard-holder' }).then((h) => {
      process.stdout.write('held\\n');
      setTimeout(() => h.release().then(() => process.exit(0)), ${ms});
    }, (err) => { console.error(err); process.exit(1); });`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      if (String(d).includes('held')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`lock holder exited with ${code} before holding ${lockPath}`)));
  });
}
