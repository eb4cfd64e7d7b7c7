// UI tests for judgement by evidence, in a workspace that holds only other tools' state (no
// Ledgerlock store): a zero-byte build.lock an hour old but held through flock(2) by a live
// process, and a HardKAS crash (its append lock naming a dead pid, a torn events.jsonl).
// The flock-held lock offers no Reap and its tooltip names the holder process; one Repair fixes
// the HardKAS crash, checked on disk with HardKAS's own rules. Screenshots are artifacts.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import * as path from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, startCodeServer } from '../codeServer.mjs';
import { dialog, openLedgerlockContainer, runCommand, treeRow, until, waitForWorkbench, hoverText } from './workbench.mjs';

function makeEvidenceWorkspace(dir) {
  mkdirSync(path.join(dir, '.hardkas', 'locks'), { recursive: true });
  const hourAgo = new Date(Date.now() - 3_600_000);
  const buildLock = path.join(dir, 'build.lock');
  writeFileSync(buildLock, '');
  utimesSync(buildLock, hourAgo, hourAgo);
  const events = path.join(dir, '.hardkas', 'events.jsonl');
  const lines = Array.from({ length: 12 }, (_, i) =>
    JSON.stringify({ eventId: i + 1, domain: 'tx', kind: 'tx.sent', at: new Date(Date.now() - (12 - i) * 60_000).toISOString() }),
  );
  writeFileSync(events, `${lines.join('\n')}\n{"eventId": 13, "domain": "tx"`);
  const dead = spawnSync(process.execPath, ['-e', '0']).pid;
  const appendLock = path.join(dir, '.hardkas', 'locks', 'append-events.jsonl.lock');
  writeFileSync(
    appendLock,
    JSON.stringify(
      {
        schema: 'hardkas.lock.v1',
        name: 'append-events.jsonl',
        pid: dead,
        command: 'hardkas tx send',
        cwd: dir,
        hostname: hostname(),
        createdAt: new Date(Date.now() - 5_000).toISOString(),
        expiresAt: null,
      },
      null,
      2,
    ),
  );
  return { dir, buildLock, events, appendLock, deadPid: dead };
}

/** A live flock(1) holder of `lockPath`, in its own process group; resolves once the kernel lists it. */
async function holdWithFlock(lockPath) {
  const child = spawn('flock', [lockPath, 'sleep', '600'], { stdio: 'ignore', detached: true });
  await until('flock holds build.lock', () => readFileSync('/proc/locks', 'utf8').includes(` ${child.pid} `), 10_000);
  return child;
}

export async function runEvidenceUiTests({ scratch, resultsDir }) {
  const results = { passed: [], failed: [], metrics: [] };
  if (process.platform !== 'linux' || spawnSync('sh', ['-c', 'command -v flock']).status !== 0) {
    results.failed.push({ title: 'evidence UI tests', error: 'needs Linux and flock(1) (util-linux)' });
    return results;
  }
  const ws = makeEvidenceWorkspace(path.join(scratch, 'evidence-workspace'));
  const holder = await holdWithFlock(ws.buildLock);
  const logLines = [];
  const server = await startCodeServer({ trusted: true, log: (l) => logLines.push(l) });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  const page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
  const shot = (name) => page.screenshot({ path: path.join(resultsDir, name) });

  const steps = [
    [
      'a zero-byte lock an hour old but held through flock shows held, with no Reap action',
      async () => {
        await page.goto(server.workbenchUrl(ws.dir));
        await waitForWorkbench(page);
        await openLedgerlockContainer(page);
        const row = treeRow(page, 'Locks', 'build.lock');
        await row.waitFor({ timeout: 60_000 });
        await until('build.lock is judged held', async () => /held/.test(await row.innerText()), 30_000);
        const text = await row.innerText();
        if (/stale|orphaned/.test(text)) throw new Error(`build.lock row: ${text}`);
        if (!text.includes(`pid ${holder.pid}`)) throw new Error(`the row does not name the flock holder pid ${holder.pid}: ${text}`);
        await row.hover();
        await new Promise((r) => setTimeout(r, 400));
        const reap = await row.locator('.action-label[aria-label^="Reap Lock"]').count();
        if (reap !== 0) throw new Error('a lock held through flock offers Reap');
      },
    ],
    [
      'its tooltip names the holder process and the kernel lock',
      async () => {
        const row = treeRow(page, 'Locks', 'build.lock');
        const words = await hoverText(page, row.locator('.label-name'), 'build.lock');
        for (const want of [`pid ${holder.pid}`, 'flock', 'sleep 600']) {
          if (!words.includes(want)) throw new Error(`tooltip lacks "${want}": ${words}`);
        }
        await shot('ui-evidence-1-flock-tooltip.png');
        await page.mouse.move(800, 700);
      },
    ],
    [
      'the HardKAS crash is shown: its dead append lock stale, guarding a torn events.jsonl',
      async () => {
        const lockRow = treeRow(page, 'Locks', 'append-events.jsonl.lock');
        await lockRow.waitFor({ timeout: 30_000 });
        await until('the HardKAS append lock is stale', async () => /stale/.test(await lockRow.innerText()), 20_000);
        const ledgerRow = treeRow(page, 'Ledgers', 'events.jsonl');
        await ledgerRow.waitFor({ timeout: 30_000 });
        await until('events.jsonl is torn', async () => /torn/.test(await ledgerRow.innerText()), 20_000);
        await shot('ui-evidence-2-hardkas-crash.png');
      },
    ],
    [
      'one Repair reaps the dead append lock and cuts the torn tail; HardKAS can read and lock again',
      async () => {
        await treeRow(page, 'Ledgers', 'events.jsonl').click();
        await runCommand(page, 'Ledgerlock: Repair Tail');
        const pick = page.locator('.quick-input-list .monaco-list-row', { hasText: 'events.jsonl' }).first();
        if (await pick.isVisible().catch(() => false)) await pick.click();
        await dialog(page).waitFor({ timeout: 20_000 });
        // The dialog says where the cut bytes go: the folder's one quarantine, not "the store's".
        const words = await dialog(page).innerText();
        if (!words.includes('.ledgerlock/quarantine/ in evidence-workspace')) throw new Error(`the dialog does not say where the bytes go: ${words}`);
        const appendLockBytes = readFileSync(ws.appendLock, 'utf8');
        await dialog(page).getByRole('button', { name: 'Repair' }).click();
        await until('the ledger ends on a whole record', () => readFileSync(ws.events, 'utf8').endsWith('\n'), 30_000);
        await until('the dead append lock is gone', () => !existsSync(ws.appendLock), 10_000);
        const ids = readFileSync(ws.events, 'utf8')
          .split('\n')
          .filter((l) => l.length > 0)
          .map((l) => JSON.parse(l).eventId);
        if (ids.length !== 12 || ids[11] !== 12) throw new Error(`HardKAS's reader sees ${ids.join(',')}`);
        // Other tools' removed bytes go to the folder's one quarantine, not beside the file.
        if (existsSync(`${ws.events}.quarantine`)) throw new Error('a quarantine folder was made beside events.jsonl');
        const quarantine = path.join(ws.dir, '.ledgerlock', 'quarantine');
        const kept = existsSync(quarantine)
          ? readdirSync(quarantine)
              .map((f) => readFileSync(path.join(quarantine, f), 'utf8'))
              .join('')
          : '';
        if (!kept.includes('"eventId": 13')) throw new Error('the cut bytes are not in quarantine');
        if (!kept.includes(appendLockBytes)) throw new Error("the reaped append lock's bytes are not in quarantine");
        const untracked = readdirSync(ws.dir).filter((n) => n.endsWith('.quarantine'));
        if (untracked.length > 0) throw new Error(`quarantine folders beside files: ${untracked.join(', ')}`);
        if (readFileSync(path.join(quarantine, '.gitignore'), 'utf8').trim().split('\n').pop() !== '*') throw new Error('the quarantine is not ignored by Git');
        // HardKAS's own next acquisition: an exclusive create of its append lock.
        writeFileSync(ws.appendLock, '{}', { flag: 'wx' });
        // Healthy rows carry no health word: the torn one loses it.
        await treeRow(page, 'Ledgers', 'events.jsonl').filter({ hasNotText: 'torn' }).waitFor({ timeout: 20_000 });
        await shot('ui-evidence-3-repaired.png');
      },
    ],
    [
      "the Recovery Log lists the repair and the reap of the other tool's files",
      async () => {
        await treeRow(page, 'Recovery Log', 'Tail repaired: events.jsonl').waitFor({ timeout: 20_000 });
        await treeRow(page, 'Recovery Log', 'Lock reaped: append-events.jsonl.lock').waitFor({ timeout: 20_000 });
        await shot('ui-evidence-4-recoveries.png');
      },
    ],
    [
      'the flock-held lock is still there, untouched',
      async () => {
        if (!existsSync(ws.buildLock)) throw new Error('build.lock was removed');
      },
    ],
  ];

  try {
    for (const [title, run] of steps) {
      try {
        await run();
        results.passed.push({ title });
      } catch (err) {
        results.failed.push({ title, error: err?.stack ?? String(err) });
        await shot(`ui-evidence-failed-${results.failed.length}.png`).catch(() => undefined);
        break;
      }
    }
  } finally {
    if (results.failed.length > 0) writeFileSync(path.join(resultsDir, 'ui-evidence-code-server.log'), logLines.join('\n'));
    await browser.close().catch(() => undefined);
    await server.stop({ keepData: results.failed.length > 0 });
    try {
      process.kill(-holder.pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  return results;
}
