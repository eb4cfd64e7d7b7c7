// UI tests: a person's path through the real workbench. A workspace with a dead holder's
// lock and a torn ledger: the status bar shows the error, the views list both, "Ledgerlock:
// Repair Tail" from the command palette and the inline Reap fix them (checked on disk), and
// the Recoveries view shows both events. Screenshots are saved as artifacts.
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, root, startCodeServer } from '../codeServer.mjs';
import { makeWorkspace } from '../fixture.mjs';
import { dialog, openLedgerlockContainer, runCommand, treeRow, until, waitForWorkbench } from './workbench.mjs';

// Copied into media/ (for the README) when run with --update-media.
const MEDIA = { 'ui-1-status-and-views.png': 'screenshot-views.png', 'ui-2-repair-confirm.png': 'screenshot-repair.png', 'ui-4-recoveries.png': 'screenshot-recoveries.png', 'ui-0-alerts.png': 'screenshot-alerts.png', 'ui-0-status-fixes.png': 'screenshot-status-fixes.png', 'ui-5-snapshots.png': 'screenshot-snapshots.png' };

export async function runUiTests({ scratch, resultsDir, updateMedia = process.argv.includes('--update-media') }) {
  const ws = await makeWorkspace(path.join(scratch, 'ui-workspace'));
  const logLines = [];
  const server = await startCodeServer({ trusted: true, log: (l) => logLines.push(l) });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  const results = { passed: [], failed: [], metrics: [] };
  const page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
  page.on('console', (m) => logLines.push(`[browser ${m.type()}] ${m.text()}`));
  const shot = async (name) => {
    const file = path.join(resultsDir, name);
    await page.screenshot({ path: file });
    return file;
  };

  const steps = [
    ['the status bar shows the torn ledger with an error background', async () => {
      const started = Date.now();
      await page.goto(server.workbenchUrl(ws.dir));
      await waitForWorkbench(page);
      const item = page.locator('.statusbar-item', { hasText: 'events.jsonl torn' });
      await item.waitFor({ timeout: 90_000 });
      results.metrics.push({ name: 'page load to status bar alert', value: Date.now() - started, unit: 'ms' });
      const cls = await item.getAttribute('class');
      if (!/error-kind/.test(cls ?? '')) throw new Error(`status bar item is not error-kind: ${cls}`);
      await page.locator('.notification-toast', { hasText: 'torn tail' }).waitFor({ timeout: 20_000 });
      await shot('ui-0-alerts.png');
    }],
    ['clicking the status bar item offers the fixes in a quick pick', async () => {
      await page.locator('.statusbar-item', { hasText: 'events.jsonl torn' }).click();
      const picks = page.locator('.quick-input-widget .monaco-list-row');
      await picks.filter({ hasText: 'Repair tail of events.jsonl' }).waitFor({ timeout: 15_000 });
      await picks.filter({ hasText: 'Reap build.lock' }).waitFor({ timeout: 15_000 });
      await shot('ui-0-status-fixes.png');
      await page.keyboard.press('Escape');
    }],
    ['the Locks and Ledgers views list the dead holder\'s lock and the torn ledger', async () => {
      await page.keyboard.press('Escape');
      await page.evaluate(() => undefined);
      await openLedgerlockContainer(page);
      await treeRow(page, 'Locks', 'build.lock').waitFor({ timeout: 30_000 });
      await treeRow(page, 'Ledgers', 'events.jsonl').waitFor({ timeout: 30_000 });
      const lockText = await treeRow(page, 'Locks', 'build.lock').innerText();
      if (!/stale/.test(lockText)) throw new Error(`lock row does not say stale: ${lockText}`);
      const ledgerText = await treeRow(page, 'Ledgers', 'events.jsonl').innerText();
      if (!/torn/.test(ledgerText)) throw new Error(`ledger row does not say torn: ${ledgerText}`);
      await page.mouse.move(800, 700); // no hover tooltip over the views
      await new Promise((r) => setTimeout(r, 500));
      await shot('ui-1-status-and-views.png');
      // The healthy ledger's events, newest first.
      await treeRow(page, 'Ledgers', 'audit.jsonl').click();
      await treeRow(page, 'Ledgers', '#120').waitFor({ timeout: 20_000 });
      await treeRow(page, 'Ledgers', 'audit.jsonl').click();
      await treeRow(page, 'Ledgers', '#120').waitFor({ state: 'detached', timeout: 20_000 });
    }],
    ['"Ledgerlock: Repair Tail" from the command palette repairs the ledger on disk', async () => {
      await runCommand(page, 'Ledgerlock: Repair Tail');
      await dialog(page).waitFor({ timeout: 20_000 });
      await shot('ui-2-repair-confirm.png');
      await dialog(page).getByRole('button', { name: 'Repair' }).click();
      await until('the ledger ends on a whole record', () => readFileSync(ws.tornLedger, 'utf8').endsWith('\n'));
      await treeRow(page, 'Ledgers', 'events.jsonl').filter({ hasText: ' ok' }).waitFor({ timeout: 20_000 });
    }],
    ['the inline Reap action on the stale lock removes it from disk', async () => {
      const row = treeRow(page, 'Locks', 'build.lock');
      await row.hover();
      await row.locator('.action-label[aria-label^="Reap Lock"]').click();
      await dialog(page).waitFor({ timeout: 20_000 });
      await shot('ui-3-reap-confirm.png');
      await dialog(page).getByRole('button', { name: 'Reap' }).click();
      await until('the lock file is gone', () => !existsSync(ws.deadLock));
      await treeRow(page, 'Locks', 'build.lock').waitFor({ state: 'detached', timeout: 20_000 });
    }],
    ['the Recoveries view shows the repair and the reap, and the status bar goes quiet', async () => {
      await treeRow(page, 'Recoveries', 'Tail repaired: events.jsonl').waitFor({ timeout: 20_000 });
      await treeRow(page, 'Recoveries', 'Lock reaped: build.lock').waitFor({ timeout: 20_000 });
      await page.locator('.statusbar-item', { hasText: 'Ledgerlock' }).filter({ hasNotText: 'torn' }).first().waitFor({ timeout: 20_000 });
      await new Promise((r) => setTimeout(r, 1500)); // let the finished progress toasts close
      await runCommand(page, 'Notifications: Clear All Notifications');
      await page.mouse.move(800, 700);
      await new Promise((r) => setTimeout(r, 500));
      await shot('ui-4-recoveries.png');
    }],
    ['"Ledgerlock: Create Snapshot" asks for a label; the Snapshots view lists it, current marked, and a file click opens the diff', async () => {
      const stateDir = path.join(ws.store, 'state');
      mkdirSync(stateDir, { recursive: true });
      writeFileSync(path.join(stateDir, 'settings.json'), JSON.stringify({ theme: 'dark', retries: 3 }, null, 2) + '\n');
      writeFileSync(path.join(stateDir, 'session.json'), JSON.stringify({ user: 'ada', openTabs: 4 }, null, 2) + '\n');
      const create = async (label) => {
        await runCommand(page, 'Ledgerlock: Create Snapshot');
        await page.locator('.quick-input-widget .quick-input-title', { hasText: 'Create Snapshot' }).waitFor({ timeout: 15_000 });
        await page.locator('.quick-input-widget input').fill(label);
        await page.keyboard.press('Enter');
        await treeRow(page, 'Snapshots', label).waitFor({ timeout: 30_000 });
      };
      await create('before the migration');
      writeFileSync(path.join(stateDir, 'settings.json'), JSON.stringify({ theme: 'light', retries: 5 }, null, 2) + '\n');
      await create('after the migration');
      const current = await treeRow(page, 'Snapshots', 'after the migration').innerText();
      if (!/current/.test(current)) throw new Error(`the newest snapshot is not marked current: ${current}`);
      const older = await treeRow(page, 'Snapshots', 'before the migration').innerText();
      if (/current/.test(older)) throw new Error(`the older snapshot is marked current: ${older}`);
      // Give the Snapshots view the room, as a person would: collapse the other views.
      for (const title of ['Locks', 'Ledgers', 'Recoveries']) {
        const header = page.locator(`.pane-header:has-text("${title}")`).first();
        if ((await header.getAttribute('aria-expanded')) === 'true') await header.click();
      }
      // A wider sidebar, so the time, file count and "current" are readable.
      const sidebar = await page.locator('.part.sidebar').boundingBox();
      await page.mouse.move(sidebar.x + sidebar.width + 1, sidebar.y + 400);
      await page.mouse.down();
      await page.mouse.move(sidebar.x + 520, sidebar.y + 400, { steps: 5 });
      await page.mouse.up();
      await treeRow(page, 'Snapshots', 'before the migration').click();
      await treeRow(page, 'Snapshots', 'session.json').waitFor({ timeout: 20_000 });
      // Clicking a file compares the snapshot's copy with the file on disk.
      await treeRow(page, 'Snapshots', 'settings.json').click();
      await page.locator('.monaco-diff-editor').first().waitFor({ timeout: 20_000 });
      await page.locator('.monaco-diff-editor .view-line', { hasText: 'light' }).first().waitFor({ timeout: 20_000 });
      await page.locator('.monaco-diff-editor .view-line', { hasText: 'dark' }).first().waitFor({ timeout: 20_000 });
      await new Promise((r) => setTimeout(r, 1500));
      await runCommand(page, 'Notifications: Clear All Notifications');
      await page.mouse.move(800, 700);
      await new Promise((r) => setTimeout(r, 500));
      await shot('ui-5-snapshots.png');
    }],
  ];

  try {
    let broken;
    for (const [title, fn] of steps) {
      if (broken) {
        results.failed.push({ title, error: `not run: "${broken}" failed first` });
        continue;
      }
      const started = Date.now();
      try {
        await fn();
        results.passed.push({ title, ms: Date.now() - started });
      } catch (err) {
        broken = title;
        await shot(`ui-failure-${results.failed.length}.png`).catch(() => undefined);
        results.failed.push({ title, error: String(err.stack ?? err) });
      }
    }
  } finally {
    await browser.close().catch(() => undefined);
    await server.stop();
    writeFileSync(path.join(resultsDir, 'ui.code-server.log'), logLines.join('\n') + '\n');
  }
  if (updateMedia && results.failed.length === 0) {
    for (const [from, to] of Object.entries(MEDIA)) copyFileSync(path.join(resultsDir, from), path.join(root, 'media', to));
  }
  return results;
}
