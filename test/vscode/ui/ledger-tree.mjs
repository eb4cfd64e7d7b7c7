// UI tests for the Ledgers tree (issue 16, items 4, 8, 9, 10): after Filter Events and Clear
// Event Filter on another tool's events.ndjson and on a native ledger, the rows drawn are
// exactly the server's page (text and order), none twice and none left over; Follow on a
// 300,000-event log written every 200 ms puts each new event on top soon after its write (the
// delay is measured and reported, only a generous bound asserted); Load more says how many of
// how many; Copy Event JSON copies the line as the file holds it; Go to Event Id selects the
// row. Screenshots are kept in test-results/vscode/.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, root, startCodeServer } from '../codeServer.mjs';
import { pickMenu } from './run.mjs';
import { openLedgerlockContainer, runCommand, runSteps, treeRow, until, waitForWorkbench, hoverText, rowPlace } from './workbench.mjs';

/** Events per page (the `ledgerlock.pageSize` default). */
const PAGE = 50;
const TYPES = ['agent.spawn', 'task.complete', 'memory.store.with.a.rather.long.type.name.that.would.cut.the.id'];

export async function runLedgerTreeUiTests({ scratch, resultsDir }) {
  const results = { passed: [], failed: [], metrics: [] };
  const dir = path.join(scratch, 'ledger-tree-workspace');
  mkdirSync(path.join(dir, '.claude-flow'), { recursive: true });
  mkdirSync(path.join(dir, 'logs'), { recursive: true });
  const t0 = Date.now() - 3_600_000;
  const flow = path.join(dir, '.claude-flow', 'events.ndjson');
  writeFileSync(
    flow,
    Array.from(
      { length: 800 },
      (_, i) =>
        JSON.stringify({ type: TYPES[i % 3], timestamp: new Date(t0 + i * 1000).toISOString(), id: `e4465a9d-6af8-4c1e-9d2b-${String(i).padStart(12, '0')}` }) +
        '\n',
    ).join(''),
  );
  const { openLedger } = createRequire(import.meta.url)(path.join(root, 'dist', 'engine.js'));
  const nativePath = path.join(dir, '.ledgerlock', 'ledgers', 'audit.jsonl');
  const native = await openLedger(nativePath);
  await native.appendMany(Array.from({ length: 300 }, (_, i) => ({ type: TYPES[i % 3], data: { step: i + 1 } })));
  await native.close();
  const live = path.join(dir, 'logs', 'agent.jsonl');
  const BIG = 300_000;
  const lines = [];
  for (let i = 0; i < BIG; i++) lines.push(`{"ts":"${new Date(t0 + i * 10).toISOString()}","type":"${TYPES[i % 3]}","n":${i + 1}}\n`);
  writeFileSync(live, lines.join(''));

  const logLines = [];
  const server = await startCodeServer({ trusted: true, log: (l) => logLines.push(l) });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 }, permissions: ['clipboard-read', 'clipboard-write'] });
  const page = await context.newPage();
  const shot = (name) => page.screenshot({ path: path.join(resultsDir, name) });
  const menu = page.locator('.context-view .monaco-menu');
  const pane = page.locator('.pane').filter({ has: page.locator('.pane-header:has-text("Ledgers")') });
  const header = page.locator('.pane-header:has-text("Ledgers")').first();
  let writer;

  /** The event rows drawn under the open ledger: their text, top to bottom, and where each is drawn. */
  const drawnRows = () =>
    pane
      .locator('.monaco-list-row[aria-level="3"]')
      .evaluateAll((rows) =>
        rows.map((r) => ({ label: r.querySelector('.label-name')?.textContent ?? '', top: parseFloat(r.style.top || '0') })).sort((a, b) => a.top - b.top),
      );
  /**
   * The rows must be the server's page: this exact run of labels, each once, each at its own
   * height. The list draws only the rows in sight, so those are the page's first rows.
   */
  async function rowsAre(what, expected) {
    let last = [];
    await until(
      `${what}: rows ${expected.slice(0, 3).join(', ')}…`,
      async () => {
        last = await drawnRows();
        const labels = last.map((r) => r.label).filter((l) => l.startsWith('#'));
        if (labels.length < Math.min(4, expected.length)) return false;
        return labels.every((l, i) => l === expected[i]);
      },
      20_000,
    ).catch((err) => {
      throw new Error(`${err.message}; drawn: ${JSON.stringify(last.slice(0, 6))}`);
    });
    const tops = last.map((r) => r.top);
    if (new Set(tops).size !== tops.length) throw new Error(`${what}: two rows drawn at one height: ${JSON.stringify(last)}`);
    const labels = last.map((r) => r.label);
    if (new Set(labels).size !== labels.length) throw new Error(`${what}: a row drawn twice: ${labels.join(' | ')}`);
  }
  const short = (t) => (t.length <= 36 ? t : `${t.slice(0, 18)}…${t.slice(t.length - 17)}`);
  const flowLabels = (ids) => ids.map((n) => `#${n}  ${short(TYPES[(n - 1) % 3])}`);
  const range = (from, count, step = 1) => Array.from({ length: count }, (_, i) => from - i * step);
  async function openOnly(name) {
    await header.hover();
    await header.locator('.action-label[aria-label^="Collapse All"]').click();
    await treeRow(page, 'Ledgers', 'ledger-tree-workspace').click();
    await treeRow(page, 'Ledgers', name).click();
  }
  /** Filter Events… as a person does it: tick the type in the pick list, accept, leave the text empty. */
  async function filterByType(type) {
    await runCommand(page, 'Ledgerlock: Filter Events…');
    const row = page.locator('.quick-input-list .monaco-list-row', { hasText: type }).first();
    await row.waitFor({ timeout: 15_000 });
    // In a many-pick list a click on the row ticks its box.
    await row.click();
    await until(
      `${type} ticked`,
      async () => (await row.getAttribute('aria-checked')) === 'true' || (await row.locator('.monaco-checkbox.checked, input:checked').count()) > 0,
      5000,
    ).catch(async (err) => {
      await shot('ui-ledger-tree-debug-pick.png');
      throw new Error(`${err.message}: ${await row.evaluate((r) => r.outerHTML.slice(0, 1500))}`);
    });
    await page.locator('.quick-input-widget input').first().press('Enter');
    await page.locator('.quick-input-widget .quick-input-title', { hasText: 'Filter Events: text' }).waitFor({ timeout: 10_000 });
    await page.locator('.quick-input-widget input').first().press('Enter');
    await until('the filter named in the view', async () => ((await header.textContent()) ?? '').includes(`filtered: ${type}`), 10_000);
  }

  const steps = [
    [
      "another tool's events.ndjson: the rows are the newest page, each once, ids first",
      async () => {
        await page.goto(server.workbenchUrl(dir));
        await waitForWorkbench(page);
        await openLedgerlockContainer(page);
        const locks = page.locator('.pane-header:has-text("Locks")').first();
        if ((await locks.getAttribute('aria-expanded')) === 'true') await locks.click();
        for (const title of ['Agent Sessions', 'Recovery Log', 'Snapshots']) {
          const other = page.locator(`.pane-header:has-text("${title}")`).first();
          if ((await other.getAttribute('aria-expanded').catch(() => null)) === 'true') await other.click();
        }
        await treeRow(page, 'Ledgers', 'events.ndjson').waitFor({ timeout: 30_000 });
        await treeRow(page, 'Ledgers', 'events.ndjson').click();
        await rowsAre('first page', flowLabels(range(800, PAGE)));
        await shot('ui-ledger-tree-1-foreign-page.png');
      },
    ],
    [
      "Filter Events then Clear Event Filter on events.ndjson: the rows are the server's page each time, none left over",
      async () => {
        await filterByType('task.complete');
        await rowsAre('filtered', flowLabels(range(800, PAGE, 3)));
        await shot('ui-ledger-tree-2-foreign-filtered.png');
        await runCommand(page, 'Ledgerlock: Clear Event Filter');
        await rowsAre('cleared', flowLabels(range(800, PAGE)));
        await openOnly('events.ndjson');
        await rowsAre('after Collapse All', flowLabels(range(800, PAGE)));
        await shot('ui-ledger-tree-3-foreign-cleared.png');
      },
    ],
    [
      'the same on a native ledger',
      async () => {
        await openOnly('audit.jsonl');
        const nativeLabels = (ids) => ids.map((n) => `#${n}  ${short(TYPES[(n - 1) % 3])}`);
        await rowsAre('native first page', nativeLabels(range(300, PAGE)));
        await filterByType('agent.spawn');
        await rowsAre('native filtered', nativeLabels(range(298, PAGE, 3)));
        await runCommand(page, 'Ledgerlock: Clear Event Filter');
        await rowsAre('native cleared', nativeLabels(range(300, PAGE)));
        await shot('ui-ledger-tree-4-native-cleared.png');
      },
    ],
    [
      'Copy Event JSON copies the line as it is in the file',
      async () => {
        await openOnly('events.ndjson');
        const row = treeRow(page, 'Ledgers', '#800  ');
        await row.click({ button: 'right' });
        await pickMenu(page, menu, 'Copy Event JSON');
        const want = readFileSync(flow, 'utf8').trimEnd().split('\n').at(-1);
        await until('the line on the clipboard', async () => (await page.evaluate(() => navigator.clipboard.readText())) === want);
      },
    ],
    [
      "tooltips: an event's UUID and a ledger's path have no backslashes, the event's time is exact with how long ago",
      async () => {
        const tooltipOf = (label, text) => hoverText(page, treeRow(page, 'Ledgers', label).locator('.label-name'), text, { away: [700, 500] });
        const uuid = 'e4465a9d-6af8-4c1e-9d2b-000000000799';
        const event = await tooltipOf('#800  ', uuid);
        await shot('ui-ledger-tree-5-event-tooltip.png');
        if (event.includes('\\')) throw new Error(`a backslash in the event's tooltip: ${event}`);
        if (!/\(\d+ (min|h|s)[^)]* ago\)/.test(event)) throw new Error(`no "ago" in the event's tooltip: ${event}`);
        const ledger = await tooltipOf('events.ndjson', '.claude-flow/events.ndjson');
        await shot('ui-ledger-tree-5-ledger-tooltip.png');
        if (ledger.includes('\\')) throw new Error(`a backslash in the ledger's tooltip: ${ledger}`);
        if (ledger.includes(dir)) throw new Error(`an absolute path in the ledger's tooltip: ${ledger}`);
        await page.mouse.move(700, 500);
      },
    ],
    [
      'Follow on a 300,000-event log written every 200 ms: new events on top soon after their write; Load more says how many of how many',
      async () => {
        await openOnly('agent.jsonl');
        await rowsAre(
          'big first page',
          range(BIG, PAGE).map((n) => `#${n}  ${short(TYPES[(n - 1) % 3])}`),
        );
        const more = treeRow(page, 'Ledgers', 'Load more (');
        // Scrolled with the wheel: a click on an event row would open its document.
        const toBottom = async () => {
          await pane.locator('.monaco-list').first().hover();
          await page.mouse.wheel(0, 20_000);
        };
        await until(
          'Load more… in sight',
          async () => {
            if (await more.isVisible()) return true;
            await toBottom();
            return false;
          },
          20_000,
        );
        const moreText = await more.innerText();
        if (!/Load more \(50 of 300,000\)/.test(moreText)) throw new Error(`Load more says ${moreText}`);
        await shot('ui-ledger-tree-5-load-more-count.png');
        const loadTimes = [];
        // Load more's place in the list: it moves down a page when one is drawn.
        const place = () => rowPlace(more);
        let clicksAgain = 0;
        for (let p = 2; p <= 6; p++) {
          const firstNew = treeRow(page, 'Ledgers', `#${BIG - (p - 1) * PAGE}  `);
          // Wholly in sight first: a click on a row cut by the list's edge scrolls the list on
          // the press, so the release lands on the row above and no row is clicked.
          await until(
            `page ${p}: Load more wholly in sight`,
            async () => {
              const [row, list] = await Promise.all([more.boundingBox(), pane.locator('.monaco-list').first().boundingBox()]);
              if (row && list && row.y >= list.y && row.y + row.height <= list.y + list.height) return true;
              await toBottom();
              return false;
            },
            20_000,
          );
          const started = Date.now();
          const placeBefore = await place();
          await more.click();
          // The page's first event is drawn where Load more was. A click that reached no row
          // (Load more still at its place 5 s on) is made once more and counted; a list that
          // started over would still lack the page's first event, and fail.
          const drawn = await firstNew
            .waitFor({ timeout: 5_000 })
            .then(() => true)
            .catch(() => false);
          if (!drawn) {
            if ((await place()) === placeBefore) {
              clicksAgain++;
              await toBottom();
              await more.click();
            }
            await firstNew.waitFor({ timeout: 20_000 }).catch(async (err) => {
              throw new Error(
                `${err.message}; Load more at ${placeBefore}, then ${await place()}; rows drawn: ${JSON.stringify(await pane.locator('.monaco-list-row .label-name').allInnerTexts())}`,
              );
            });
          }
          loadTimes.push(Date.now() - started);
          await until(
            `page ${p}: Load more (${p * PAGE} of 300,000)`,
            async () => {
              if (new RegExp(`Load more \\(${p * PAGE} of 300,000\\)`).test(await more.innerText({ timeout: 500 }).catch(() => ''))) return true;
              await toBottom();
              return false;
            },
            20_000,
          );
        }
        await shot('ui-ledger-tree-6-load-more-pages.png');
        results.metrics.push({ name: 'Load more on a 300,000-event log (click to its first event drawn), median of 5', value: median(loadTimes), unit: 'ms' });
        results.metrics.push({ name: 'Load more on a 300,000-event log, max of 5', value: Math.max(...loadTimes), unit: 'ms' });
        if (clicksAgain > 0) results.metrics.push({ name: 'Load more clicks made again (the first reached no row)', value: clicksAgain, unit: 'times' });
        await openOnly('agent.jsonl');
        const written = new Map();
        writer = spawn(process.execPath, [
          '-e',
          `
          const fs = require('fs'); let n = ${BIG};
          setInterval(() => { n++; fs.appendFileSync(${JSON.stringify(live)}, JSON.stringify({ ts: new Date().toISOString(), type: 'tick', n }) + '\\n'); process.stdout.write(n + ' ' + Date.now() + '\\n'); }, 200);
        `,
        ]);
        writer.stdout.on('data', (d) => {
          for (const l of String(d).trim().split('\n')) {
            const [n, at] = l.split(' ').map(Number);
            written.set(n, at);
          }
        });
        const shown = new Map();
        const until15 = Date.now() + 15_000;
        while (Date.now() < until15) {
          const top = await pane
            .locator('.monaco-list-row[aria-level="3"] .label-name')
            .first()
            .textContent()
            .catch(() => '');
          const n = Number(/^#(\d+)/.exec(top ?? '')?.[1]);
          if (n > BIG && !shown.has(n)) shown.set(n, Date.now());
          await new Promise((r) => setTimeout(r, 15));
        }
        writer.kill();
        await new Promise((r) => writer.once('exit', r));
        const delays = [...shown].filter(([n]) => written.has(n)).map(([n, at]) => at - written.get(n));
        // Every event written is on screen once, in order: the rows in sight count down by one.
        const lastWritten = readFileSync(live, 'utf8').trimEnd().split('\n').length;
        await rowsAre(
          'followed rows, none skipped',
          range(lastWritten, PAGE).map((n) => (n > BIG ? `#${n}  tick` : `#${n}  ${short(TYPES[(n - 1) % 3])}`)),
        );
        await shot('ui-ledger-tree-7-following.png');
        results.metrics.push({ name: 'Follow: write to new event on top, median', value: median(delays), unit: 'ms' });
        results.metrics.push({ name: 'Follow: write to new event on top, max', value: Math.max(...delays), unit: 'ms' });
        results.metrics.push({ name: 'Follow: new events seen on top in 15 s (75 written)', value: shown.size, unit: 'events' });
        if (shown.size < 20) throw new Error(`only ${shown.size} new events were seen on top in 15 s`);
        if (median(delays) > 2000) throw new Error(`new events took ${median(delays)} ms (median) to show`);
        const ledgerRow = await treeRow(page, 'Ledgers', 'agent.jsonl').innerText();
        const newest = Math.max(...shown.keys());
        const count = Number(/([\d,]+) events/.exec(ledgerRow)?.[1]?.replace(/,/g, ''));
        if (!(count >= newest)) throw new Error(`the row says ${ledgerRow} while #${newest} is shown`);
      },
    ],
    [
      'Go to Event Id selects the row in the Ledgers view',
      async () => {
        await runCommand(page, 'Ledgerlock: Go to Event Id…');
        const input = page.locator('.quick-input-widget input');
        await input.fill('audit.jsonl');
        await page.locator('.quick-input-list .monaco-list-row', { hasText: 'audit.jsonl' }).first().waitFor({ timeout: 15_000 });
        await page.keyboard.press('Enter');
        await page.locator('.quick-input-widget .quick-input-title', { hasText: 'Go to Event Id in audit.jsonl' }).waitFor({ timeout: 10_000 });
        await input.fill('180');
        await page.keyboard.press('Enter');
        const selected = pane.locator('.monaco-list-row.selected', { hasText: '#180  ' });
        await selected.waitFor({ timeout: 20_000 });
        await shot('ui-ledger-tree-8-go-to-event.png');
      },
    ],
  ];

  try {
    await runSteps(steps, results, shot, 'ui-ledger-tree');
  } finally {
    writer?.kill();
    if (results.failed.length > 0) writeFileSync(path.join(resultsDir, 'ui-ledger-tree-code-server.log'), logLines.join('\n'));
    await browser.close().catch(() => undefined);
    await server.stop({ keepData: results.failed.length > 0 });
  }
  return results;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : sorted[Math.floor(sorted.length / 2)];
}
