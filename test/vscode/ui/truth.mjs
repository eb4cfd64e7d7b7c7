// UI tests for "what the editor shows is true now": a zero-byte deploy.lock that flock(1)
// takes, releases and takes again is shown held, free, held — row, tooltip and status bar
// within 3 s of each change, free at rest with no toast and no Reap; a stale lock and a torn
// log created while the window is open, in a folder that did not exist before, are found within
// 3 s. Screenshots are kept in test-results/vscode/.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import * as path from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, startCodeServer } from '../codeServer.mjs';
import { openLedgerlockContainer, runSteps, toastCount, treeRow, until, waitForWorkbench, hoverText } from './workbench.mjs';

/** A flock(1) holder in its own process group; `-o`: only flock itself holds the lock, so killing the group releases it. */
async function holdWithFlock(lockPath) {
  const child = spawn('flock', ['-o', lockPath, 'sleep', '600'], { stdio: 'ignore', detached: true });
  await until('flock holds deploy.lock', () => readFileSync('/proc/locks', 'utf8').includes(` ${child.pid} `), 10_000);
  return child;
}

function release(child) {
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // gone already
  }
}

export async function runTruthUiTests({ scratch, resultsDir }) {
  const results = { passed: [], failed: [], metrics: [] };
  if (process.platform !== 'linux' || spawnSync('sh', ['-c', 'command -v flock']).status !== 0) {
    results.failed.push({ title: 'truth UI tests', error: 'needs Linux and flock(1) (util-linux)' });
    return results;
  }
  const dir = path.join(scratch, 'truth-workspace');
  mkdirSync(dir, { recursive: true });
  const deployLock = path.join(dir, 'deploy.lock');
  writeFileSync(deployLock, '');
  const hourAgo = new Date(Date.now() - 3_600_000);
  utimesSync(deployLock, hourAgo, hourAgo);
  writeFileSync(path.join(dir, 'README.md'), 'a folder with a deploy lock\n');
  let holder = await holdWithFlock(deployLock);
  const holders = [holder];

  const logLines = [];
  const server = await startCodeServer({ trusted: true, log: (l) => logLines.push(l) });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  const page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
  const shot = (name) => page.screenshot({ path: path.join(resultsDir, name) });
  const row = () => treeRow(page, 'Locks', 'deploy.lock');
  const rowText = async () =>
    (
      await row()
        .innerText()
        .catch(() => '')
    ).replace(/\s+/g, ' ');
  const statusText = async () => (await page.locator('.statusbar-item[aria-label^="Ledgerlock:"]').allInnerTexts()).join(' ');
  const tooltipOf = async (target, name) => {
    const words = await hoverText(page, target.locator('.label-name'), name);
    await page.mouse.move(800, 700);
    return words;
  };
  /** Row, tooltip and status bar all say `state` within 3 s of `since`. */
  const shownWithin3s = async (state, since, what) => {
    await until(
      `deploy.lock shown ${state} (${what})`,
      async () => (await rowText()).startsWith(`deploy.lock ${state}`) || (await rowText()).includes(`${state} ·`),
      3_000,
    );
    const shownAfter = Date.now() - since;
    const tip = await tooltipOf(row(), 'deploy.lock');
    if (!tip.includes(`— ${state}`)) throw new Error(`the tooltip does not say ${state}: ${tip}`);
    const status = await statusText();
    if (/deploy\.lock|stale/.test(status)) throw new Error(`the status bar still shows a problem: ${status}`);
    results.metrics.push({ name: `deploy.lock shown ${state} after ${what}`, value: shownAfter, unit: 'ms' });
    return tip;
  };

  const steps = [
    [
      'a zero-byte lock held through flock shows held',
      async () => {
        await page.goto(server.workbenchUrl(dir));
        await waitForWorkbench(page);
        await openLedgerlockContainer(page);
        await row().waitFor({ timeout: 60_000 });
        await until('deploy.lock is judged held', async () => (await rowText()).includes('held'), 30_000);
        const tip = await tooltipOf(row(), 'deploy.lock');
        if (!tip.includes(`pid ${holder.pid}`)) throw new Error(`the tooltip does not name the holder pid ${holder.pid}: ${tip}`);
        await shot('ui-truth-1-held.png');
      },
    ],
    [
      'when the flock holder exits, deploy.lock is free within 3 s: no toast, no Reap, nothing in the status bar',
      async () => {
        const toastsBefore = await toastCount(page);
        const since = Date.now();
        release(holder);
        const tip = await shownWithin3s('free', since, 'the holder exited');
        if (/Reap Lock/.test(tip)) throw new Error(`a free lock offers Reap: ${tip}`);
        await row().hover();
        await new Promise((r) => setTimeout(r, 400));
        if ((await row().locator('.action-label[aria-label^="Reap Lock"]').count()) !== 0) throw new Error('a free lock offers Reap');
        // Past a few passes of the lock timer it stays free, and nothing was announced.
        await new Promise((r) => setTimeout(r, 5_000));
        if (!(await rowText()).includes('free')) throw new Error(`deploy.lock at rest: ${await rowText()}`);
        if ((await toastCount(page)) > toastsBefore)
          throw new Error(`a toast appeared: ${(await page.locator('.notification-toast').allInnerTexts()).join(' | ')}`);
        await shot('ui-truth-2-free.png');
      },
    ],
    [
      'when flock takes it again, deploy.lock is held within 3 s, and free again within 3 s of the release',
      async () => {
        let since = Date.now();
        holder = await holdWithFlock(deployLock);
        holders.push(holder);
        const tip = await shownWithin3s('held', since, 'flock took it again');
        if (!tip.includes(`pid ${holder.pid}`)) throw new Error(`the tooltip does not name the new holder pid ${holder.pid}: ${tip}`);
        await shot('ui-truth-3-held-again.png');
        since = Date.now();
        release(holder);
        await shownWithin3s('free', since, 'the second holder exited');
      },
    ],
    [
      'a stale lock and a torn log created in a folder that did not exist are shown within 3 s',
      async () => {
        const dead = spawnSync(process.execPath, ['-e', '0']).pid;
        const since = Date.now();
        // The way tools make their lock folders: mkdir -p, then the file.
        mkdirSync(path.join(dir, 'tmp', 'run'), { recursive: true });
        writeFileSync(path.join(dir, 'tmp', 'run', 'crash.lock'), JSON.stringify({ pid: dead, host: hostname() }));
        mkdirSync(path.join(dir, 'logs'), { recursive: true });
        writeFileSync(path.join(dir, 'logs', 'agent.jsonl'), `${JSON.stringify({ id: 1, type: 'start' })}\n{"id": 2, "ty`);
        const lock = treeRow(page, 'Locks', 'crash.lock');
        await until('crash.lock is shown stale', async () => /stale/.test(await lock.innerText().catch(() => '')), 3_000);
        const lockMs = Date.now() - since;
        const ledger = treeRow(page, 'Ledgers', 'agent.jsonl');
        await until('agent.jsonl is shown torn', async () => /torn/.test(await ledger.innerText().catch(() => '')), Math.max(500, 3_000 - lockMs));
        results.metrics.push({ name: 'stale lock in a new folder shown after', value: lockMs, unit: 'ms' });
        results.metrics.push({ name: 'torn log in a new folder shown after', value: Date.now() - since, unit: 'ms' });
        await shot('ui-truth-4-new-folders.png');
      },
    ],
    [
      'a stale lock created in an existing folder is shown within 3 s',
      async () => {
        const dead = spawnSync(process.execPath, ['-e', '0']).pid;
        const since = Date.now();
        writeFileSync(path.join(dir, 'tmp', 'second.lock'), JSON.stringify({ pid: dead, host: hostname() }));
        const lock = treeRow(page, 'Locks', 'second.lock');
        await until('second.lock is shown stale', async () => /stale/.test(await lock.innerText().catch(() => '')), 3_000);
        results.metrics.push({ name: 'stale lock in an existing folder shown after', value: Date.now() - since, unit: 'ms' });
      },
    ],
  ];

  try {
    await runSteps(steps, results, shot, 'ui-truth');
  } finally {
    if (results.failed.length > 0) writeFileSync(path.join(resultsDir, 'ui-truth-code-server.log'), logLines.join('\n'));
    await browser.close().catch(() => undefined);
    await server.stop({ keepData: results.failed.length > 0 });
    holders.forEach(release);
  }
  return results;
}
