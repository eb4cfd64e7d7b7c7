// UI tests of the packaged extension, installed from its .vsix as a user installs it (no
// development path): a folder with only other tools' state — a crashed process's lock and a
// torn plain-JSONL ledger, no .ledgerlock/store.json — shows the status bar within seconds of
// opening, one summary notification, and none again after a reload.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, root, startCodeServer } from '../codeServer.mjs';
import { quiet, runCommand, waitForWorkbench, runSteps } from './workbench.mjs';

// The dead holder's lock names no host: by the generic rules it is orphaned (a tool profile may call it stale).
const LOCK_SUMMARY = /1 torn ledger, 1 (stale|orphaned) lock/;

/** A pid that was just running and is not any more. */
async function deadPid() {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await new Promise((r) => child.once('exit', r));
  return child.pid;
}

export async function makeForeignWorkspace(dir) {
  mkdirSync(path.join(dir, '.hardkas', 'locks'), { recursive: true });
  const lock = path.join(dir, '.hardkas', 'locks', 'deploy.lock');
  writeFileSync(lock, JSON.stringify({ pid: await deadPid(), timestamp: new Date(Date.now() - 120_000).toISOString() }));
  const old = new Date(Date.now() - 120_000);
  utimesSync(lock, old, old);
  mkdirSync(path.join(dir, '.claude-flow', 'guidance'), { recursive: true });
  const ledger = path.join(dir, '.claude-flow', 'guidance', 'events.jsonl');
  const lines = Array.from({ length: 20 }, (_, i) =>
    JSON.stringify({ type: 'rule.applied', timestamp: new Date(Date.now() - (20 - i) * 1000).toISOString(), rule: `r${i}` }),
  );
  writeFileSync(ledger, `${lines.join('\n')}\n{"type":"rule.applied","timest`);
  return { dir, lock, ledger };
}

export function packageVsix(resultsDir) {
  execFileSync(process.execPath, [path.join(root, 'scripts/package.mjs')], { cwd: root, stdio: 'pipe' });
  const { name, version } = JSON.parse(execFileSync('node', ['-p', 'JSON.stringify(require("./package.json"))'], { cwd: root, encoding: 'utf8' }));
  const vsix = path.join(root, `${name}-${version}.vsix`);
  if (!existsSync(vsix)) throw new Error(`npm run package made no ${vsix}`);
  writeFileSync(path.join(resultsDir, 'vsix.txt'), `${vsix}\n`);
  return vsix;
}

export async function runInstalledTests({ scratch, resultsDir }) {
  const results = { passed: [], failed: [], metrics: [] };
  let vsix;
  try {
    vsix = packageVsix(resultsDir);
    results.passed.push({ title: 'npm run package makes a .vsix' });
  } catch (err) {
    results.failed.push({ title: 'npm run package makes a .vsix', error: String(err.stderr ?? err.stack ?? err) });
    return results;
  }
  const ws = await makeForeignWorkspace(path.join(scratch, 'foreign-only'));
  const logLines = [];
  const server = await startCodeServer({ trusted: true, vsix, log: (l) => logLines.push(l) });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  const page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
  page.on('console', (m) => logLines.push(`[browser ${m.type()}] ${m.text()}`));
  const shot = (name) => page.screenshot({ path: path.join(resultsDir, name) });
  const status = () => page.locator('.statusbar-item[aria-label^="Ledgerlock:"]');
  const toasts = () => page.locator('.notification-toast-container .notification-toast, .notifications-toasts .notification-toast');

  const steps = [
    [
      "installed from the .vsix, a folder with only other tools' state shows the status bar within seconds",
      async () => {
        const started = Date.now();
        await page.goto(server.installedUrl(ws.dir));
        await waitForWorkbench(page);
        const workbenchMs = Date.now() - started;
        await status().filter({ hasText: LOCK_SUMMARY }).waitFor({ timeout: 60_000 });
        const ms = Date.now() - started;
        results.metrics.push({ name: 'installed .vsix, foreign-only folder: page load to status bar', value: ms, unit: 'ms' });
        results.metrics.push({ name: 'installed .vsix, foreign-only folder: workbench shown to status bar', value: ms - workbenchMs, unit: 'ms' });
        const cls = await status().first().getAttribute('class');
        if (!/error-kind/.test(cls ?? '')) throw new Error(`status bar item is not error-kind: ${cls}`);
        // Nothing was clicked: the Ledgerlock views were never opened.
        const containerOpen = await page.locator('.pane-header:has-text("Locks")').count();
        if (containerOpen > 0) throw new Error('the Ledgerlock container was open; the test must not rely on a click');
      },
    ],
    [
      'one summary notification on open, naming what and how many, with Show Fixes',
      async () => {
        const summary = toasts().filter({ hasText: '2 problems' });
        await summary.first().waitFor({ timeout: 30_000 });
        // A second notification would come with the same scan: wait until the toasts stop changing.
        await quiet(async () => (await toasts().allInnerTexts()).join('|'), 1500, 15_000, 'the notifications to settle');
        const texts = await toasts().allInnerTexts();
        const ours = texts.filter((t) => /Ledgerlock/.test(t));
        if (ours.length !== 1) throw new Error(`expected one Ledgerlock notification, saw ${ours.length}: ${ours.join(' | ')}`);
        if (!LOCK_SUMMARY.test(ours[0])) throw new Error(`summary does not say what: ${ours[0]}`);
        if (!/Show Fixes/.test(ours[0])) throw new Error(`summary has no Show Fixes: ${ours[0]}`);
        await status().first().hover();
        await page.locator('.monaco-hover, .workbench-hover').filter({ hasText: 'deploy.lock' }).first().waitFor({ timeout: 15_000 });
        await shot('ui-installed-0-foreign-status-and-summary.png');
        await page.mouse.move(700, 400);
      },
    ],
    [
      'the Problems panel lists the stale lock and the torn ledger, on their files',
      async () => {
        await runCommand(page, 'View: Focus Problems');
        const panel = page.locator('.markers-panel');
        await panel.locator('.monaco-list-row', { hasText: 'deploy.lock' }).first().waitFor({ timeout: 20_000 });
        await panel.locator('.monaco-list-row', { hasText: 'events.jsonl' }).first().waitFor({ timeout: 20_000 });
        await panel
          .locator('.monaco-list-row', { hasText: /deploy\.lock (stale|orphaned): / })
          .first()
          .waitFor({ timeout: 20_000 });
        await shot('ui-installed-1-problems.png');
      },
    ],
    [
      'after a reload the same problems are not announced again',
      async () => {
        await runCommand(page, 'Developer: Reload Window');
        await page.waitForTimeout(1500);
        await waitForWorkbench(page);
        await status().filter({ hasText: LOCK_SUMMARY }).waitFor({ timeout: 60_000 });
        // The summary would come right after the first full scan; give it ample time.
        await page.waitForTimeout(6000);
        const ours = (await toasts().allInnerTexts()).filter((t) => /Ledgerlock/.test(t));
        if (ours.length !== 0) throw new Error(`announced again after reload: ${ours.join(' | ')}`);
        await shot('ui-installed-2-after-reload.png');
      },
    ],
  ];

  try {
    await runSteps(steps, results, shot, 'ui-installed');
  } finally {
    await browser.close().catch(() => undefined);
    await server.stop({ keepData: results.failed.length > 0 });
    writeFileSync(path.join(resultsDir, 'ui-installed.code-server.log'), logLines.join('\n') + '\n');
  }
  return results;
}
