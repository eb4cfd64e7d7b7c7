// UI tests for acting on locks from their rows: a lock's context menu has Open, Reveal in
// Explorer and Copy Path; Reap All Stale Locks asks once, listing every stale lock, and reaps
// them all, each then listed under Recoveries with its bytes in the folder's quarantine; an
// other tool's log is not offered Compact. Screenshots are kept in test-results/vscode/.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import * as path from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, startCodeServer } from '../codeServer.mjs';
import { pickMenu } from './run.mjs';
import { dialog, openLedgerlockContainer, runCommand, runSteps, treeRow, until, waitForWorkbench } from './workbench.mjs';

export async function runLockActionsUiTests({ scratch, resultsDir }) {
  const results = { passed: [], failed: [], metrics: [] };
  const dir = path.join(scratch, 'lock-actions-workspace');
  mkdirSync(path.join(dir, 'tmp'), { recursive: true });
  const dead = spawnSync(process.execPath, ['-e', '0']).pid;
  const locks = ['tmp/first.lock', 'second.lock'].map((rel) => path.join(dir, rel));
  const bytes = locks.map((l, i) => JSON.stringify({ pid: dead, host: hostname(), n: i }));
  const old = new Date(Date.now() - 120_000);
  locks.forEach((l, i) => {
    writeFileSync(l, bytes[i]);
    utimesSync(l, old, old);
  });
  writeFileSync(path.join(dir, 'app.jsonl'), `${JSON.stringify({ level: 'info', msg: 'one' })}\n${JSON.stringify({ level: 'info', msg: 'two' })}\n`);

  const logLines = [];
  const server = await startCodeServer({ trusted: true, log: (l) => logLines.push(l) });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  const context = await browser.newContext({ viewport: { width: 1400, height: 860 }, permissions: ['clipboard-read', 'clipboard-write'] });
  const page = await context.newPage();
  const shot = (name) => page.screenshot({ path: path.join(resultsDir, name) });
  const menu = page.locator('.context-view .monaco-menu');
  const menuLabels = async () => (await menu.locator('.action-label').allInnerTexts()).map((l) => l.trim()).filter(Boolean);

  const steps = [
    [
      "a lock's context menu offers Open, Reveal in Explorer and Copy Path; Copy Path copies its path",
      async () => {
        await page.goto(server.workbenchUrl(dir));
        await waitForWorkbench(page);
        await openLedgerlockContainer(page);
        const row = treeRow(page, 'Locks', 'second.lock');
        await until('second.lock is shown stale', async () => /stale/.test(await row.innerText().catch(() => '')), 30_000);
        await row.click({ button: 'right' });
        await menu.locator('.action-label', { hasText: 'Copy Path' }).waitFor({ timeout: 10_000 });
        const labels = await menuLabels();
        await shot('ui-lock-actions-1-context-menu.png');
        for (const want of ['Open', 'Reveal in Explorer', 'Copy Path']) if (!labels.includes(want)) throw new Error(`no ${want} in ${labels.join(', ')}`);
        await pickMenu(page, menu, 'Copy Path');
        await until('the path on the clipboard', async () => (await page.evaluate(() => navigator.clipboard.readText())) === locks[1]);
      },
    ],
    [
      'Reveal in Explorer selects the lock file in the Explorer',
      async () => {
        await treeRow(page, 'Locks', 'first.lock').click({ button: 'right' });
        await pickMenu(page, menu, 'Reveal in Explorer');
        const selected = page.locator('.explorer-folders-view .monaco-list-row.selected', { hasText: 'first.lock' });
        await selected.waitFor({ timeout: 15_000 });
        await shot('ui-lock-actions-2-revealed.png');
        await openLedgerlockContainer(page);
      },
    ],
    [
      "an other tool's log is not offered Compact",
      async () => {
        const row = treeRow(page, 'Ledgers', 'app.jsonl');
        await row.waitFor({ timeout: 20_000 });
        await row.click({ button: 'right' });
        await menu.locator('.action-label', { hasText: 'Verify' }).first().waitFor({ timeout: 10_000 });
        const labels = await menuLabels();
        await page.keyboard.press('Escape');
        if (labels.some((l) => /Compact/.test(l))) throw new Error(`Compact offered on a foreign log: ${labels.join(', ')}`);
      },
    ],
    [
      'Reap All Stale Locks asks once, listing both, and reaps both; Recoveries lists them and their bytes are kept',
      async () => {
        await runCommand(page, 'Ledgerlock: Reap All Stale Locks…');
        await dialog(page).waitFor({ timeout: 20_000 });
        const words = await dialog(page).innerText();
        await shot('ui-lock-actions-3-reap-all-dialog.png');
        for (const rel of ['tmp/first.lock', 'second.lock']) if (!words.includes(rel)) throw new Error(`the dialog does not list ${rel}: ${words}`);
        if (!words.includes('.ledgerlock/quarantine/')) throw new Error(`the dialog does not say where the bytes go: ${words}`);
        await dialog(page).getByRole('button', { name: 'Reap All' }).click();
        await until('both locks are gone', () => locks.every((l) => !existsSync(l)), 20_000);
        await treeRow(page, 'Recovery Log', 'Lock reaped: first.lock').waitFor({ timeout: 20_000 });
        await treeRow(page, 'Recovery Log', 'Lock reaped: second.lock').waitFor({ timeout: 20_000 });
        const quarantine = path.join(dir, '.ledgerlock', 'quarantine');
        const kept = readdirSync(quarantine)
          .filter((n) => n.endsWith('.reaped'))
          .map((n) => readFileSync(path.join(quarantine, n), 'utf8'));
        for (const b of bytes) if (!kept.includes(b)) throw new Error(`a reaped lock's bytes are not kept: ${b}`);
        await shot('ui-lock-actions-4-reaped-all.png');
      },
    ],
  ];

  try {
    await runSteps(steps, results, shot, 'ui-lock-actions');
  } finally {
    if (results.failed.length > 0) writeFileSync(path.join(resultsDir, 'ui-lock-actions-code-server.log'), logLines.join('\n'));
    await browser.close().catch(() => undefined);
    await server.stop({ keepData: results.failed.length > 0 });
  }
  return results;
}
