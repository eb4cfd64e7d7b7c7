// UI tests for an editor inside a Dev Container: code-server (and so its extension host and
// Ledgerlock's language server) runs in a pid namespace of its own with its own hostname, on
// the same kernel and files as the host, as a Dev Container's bind mount is. The host (this
// process) holds three locks in the workspace:
//   held.lock           zero bytes, an hour old, held by a host `flock held.lock sleep 600`
//   open.lock           empty, an hour old, kept open by a host process (no kernel lock)
//   registry.json.lock  authmux's {pid, at}, naming a host `sleep` started 5 min "ago"
// From inside, the kernel-lock probe still finds (a) held; nothing decides (b) and (c): they
// show unknown with their sentence, offer no Reap, and only "Remove Lock Anyway…" removes one,
// after a modal that says what is unknown. Screenshots: ui-container-*.png.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readlinkSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, startCodeServer } from '../codeServer.mjs';
import { pickMenu } from './run.mjs';
import { dialog, openLedgerlockContainer, runCommand, runSteps, treeRow, until, waitForWorkbench, hoverText, typeInPalette } from './workbench.mjs';

const CONTAINER_HOSTNAME = 'ledgerlock-devcontainer';
const CONTAINER_MESSAGE = 'Running inside a container: locks held from outside it show as unknown';

/** Why code-server cannot be started in a pid namespace here, or undefined when it can. */
export function containerUnavailable() {
  if (process.platform !== 'linux') return 'pid namespaces are Linux only';
  const r = spawnSync('unshare', ['--pid', '--uts', '--fork', '--mount-proc', 'true'], { stdio: 'ignore' });
  if (r.error) return `unshare(1) cannot be run here (${r.error.code ?? r.error.message})`;
  return r.status === 0 ? undefined : `unshare --pid --uts --fork --mount-proc is not permitted here (exit ${r.status ?? r.signal})`;
}

/** The command that runs code-server inside a new pid namespace with its own hostname. */
function containerPrefix() {
  return ['unshare', '--pid', '--uts', '--fork', '--mount-proc', 'sh', '-c', 'hostname "$0" && exec "$@"', CONTAINER_HOSTNAME];
}

/** Starts a host process in its own process group (killed with its children at the end). */
function hostProcess(command, args, cwd) {
  return spawn(command, args, { cwd, stdio: 'ignore', detached: true });
}

function killGroup(child) {
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // gone already
  }
}

function hasOpen(pid, file) {
  try {
    return readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`) === file;
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}

function running(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function makeContainerWorkspace(dir) {
  mkdirSync(dir, { recursive: true });
  const hourAgo = new Date(Date.now() - 3_600_000);
  const held = path.join(dir, 'held.lock');
  const open = path.join(dir, 'open.lock');
  const registry = path.join(dir, 'registry.json.lock');
  for (const f of [held, open]) {
    writeFileSync(f, '');
    utimesSync(f, hourAgo, hourAgo);
  }
  const children = [];
  // (a) a flock(2) holder on the host: /proc/locks inside the container leaves it out.
  const flock = hostProcess('flock', [held, 'sleep', '600'], dir);
  children.push(flock);
  await until('the host flock holds held.lock', () => readFileSync('/proc/locks', 'utf8').includes(` ${flock.pid} `), 10_000);
  // (b) a host process with the file open and no kernel lock: invisible from inside.
  const opener = hostProcess('sh', ['-c', 'exec 3<open.lock; exec sleep 600'], dir);
  children.push(opener);
  await until('the host process has open.lock open', () => hasOpen(opener.pid, open), 10_000);
  // (c) authmux's lock naming a host process: not a pid of the container.
  const sleeper = hostProcess('sleep', ['600'], dir);
  children.push(sleeper);
  writeFileSync(registry, JSON.stringify({ pid: sleeper.pid, at: Date.now() - 5 * 60_000 }));
  // Written before the lock files' ages were set: keep held.lock and open.lock an hour old.
  for (const f of [held, open]) utimesSync(f, hourAgo, hourAgo);
  return { dir, held, open, registry, flock, opener, sleeper, children };
}

export async function runContainerUiTests({ scratch, resultsDir }) {
  const results = { passed: [], failed: [], metrics: [] };
  const why = containerUnavailable();
  if (why) {
    console.log(`  - ui container: skipped: ${why}`);
    return results;
  }
  if (spawnSync('sh', ['-c', 'command -v flock']).status !== 0) {
    results.failed.push({ title: 'container UI tests', error: 'needs flock(1) (util-linux)' });
    return results;
  }
  const ws = await makeContainerWorkspace(path.join(scratch, 'container-workspace'));
  const logLines = [];
  let server;
  let browser;
  try {
    server = await startCodeServer({ trusted: true, prefix: containerPrefix(), log: (l) => logLines.push(l) });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  } catch (err) {
    ws.children.forEach(killGroup);
    await server?.stop({ keepData: true });
    results.failed.push({ title: 'code-server starts inside a pid namespace', error: String(err?.stack ?? err) });
    return results;
  }
  const page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
  page.on('console', (m) => logLines.push(`[browser ${m.type()}] ${m.text()}`));
  const shot = (name) => page.screenshot({ path: path.join(resultsDir, name) });
  const locksPane = () => page.locator('.pane').filter({ has: page.locator('.pane-header:has-text("Locks")') });
  const row = (name) => treeRow(page, 'Locks', name);
  /** What a lock row says after its name: state · holder · age (· reason, for unknown). */
  const rowSays = (name) => row(name).locator('.label-description').innerText();
  const menu = page.locator('.context-view .monaco-menu');

  /** The entries of a lock row's context menu, closed again afterwards. */
  const contextMenuOf = async (name) => {
    await row(name).click({ button: 'right' });
    await menu.locator('.action-label').first().waitFor({ timeout: 10_000 });
    // Menus are filled in one go; a settled count is the whole menu.
    let labels = [];
    await until(
      `the context menu of ${name}`,
      async () => {
        const now = await menu.locator('.action-label').allInnerTexts();
        const settled = now.length > 0 && now.join('|') === labels.join('|');
        labels = now;
        return settled;
      },
      10_000,
    );
    return labels.map((l) => l.trim()).filter(Boolean);
  };
  const closeMenu = async () => {
    await page.keyboard.press('Escape');
    await menu.waitFor({ state: 'hidden', timeout: 10_000 }).catch(() => undefined);
  };
  /** The tooltip of a lock row, as the hover shows it. */
  const tooltipOf = (name) => hoverText(page, row(name).locator('.label-name'), name);

  const steps = [
    [
      'code-server runs in a pid namespace of its own, with its own hostname',
      async () => {
        const inside = readlinkSync(`/proc/${server.child.pid}/ns/pid`);
        const ours = readlinkSync('/proc/self/ns/pid');
        // The unshare process stays in ours; its child (code-server) is pid 1 of the new one.
        const [child] = readFileSync(`/proc/${server.child.pid}/task/${server.child.pid}/children`, 'utf8').trim().split(/\s+/).map(Number);
        const childNs = readlinkSync(`/proc/${child}/ns/pid`);
        if (inside !== ours || childNs === ours) throw new Error(`code-server's pid namespace ${childNs} is not a new one (ours: ${ours})`);
      },
    ],
    [
      'the Locks view says once that it runs inside a container',
      async () => {
        await page.goto(server.workbenchUrl(ws.dir));
        await waitForWorkbench(page);
        await openLedgerlockContainer(page);
        await locksPane().getByText(CONTAINER_MESSAGE).waitFor({ timeout: 60_000 });
        const count = await locksPane().getByText(CONTAINER_MESSAGE).count();
        if (count !== 1) throw new Error(`the container message shows ${count} times`);
        // A wide sidebar, as a person reading the reasons would make it.
        const sidebar = await page.locator('.part.sidebar').boundingBox();
        await page.mouse.move(sidebar.x + sidebar.width + 1, sidebar.y + 400);
        await page.mouse.down();
        await page.mouse.move(sidebar.x + 1000, sidebar.y + 400, { steps: 5 });
        await page.mouse.up();
      },
    ],
    [
      "the host's flock holder is found by the probe: held.lock shows held, with no Reap",
      async () => {
        await row('held.lock').waitFor({ timeout: 60_000 });
        await until('held.lock is judged held', async () => /^held\b/.test(await rowSays('held.lock')), 30_000);
        const text = await rowSays('held.lock');
        if (/stale|orphaned|unknown/.test(text)) throw new Error(`held.lock row: ${text}`);
        const words = await tooltipOf('held.lock');
        if (!/probe/.test(words)) throw new Error(`the held.lock tooltip does not say the probe found the holder: ${words}`);
        const entries = await contextMenuOf('held.lock');
        await closeMenu();
        if (entries.some((e) => /Reap Lock|Remove Lock Anyway/.test(e))) throw new Error(`held.lock offers: ${entries.join(', ')}`);
      },
    ],
    [
      'open.lock and registry.json.lock show unknown, each with its sentence in the row',
      async () => {
        const want = { 'open.lock': 'cannot tell from here', 'registry.json.lock': 'outside this container' };
        for (const [name, sentence] of Object.entries(want)) {
          await row(name).waitFor({ timeout: 30_000 });
          let last = '';
          await until(`${name} is judged unknown`, async () => /^unknown\b/.test((last = await rowSays(name))), 30_000).catch((err) => {
            throw new Error(`${err.message}; the row says: ${last}`);
          });
          const text = await rowSays(name);
          if (!text.includes(sentence)) throw new Error(`${name} row lacks "${sentence}": ${text}`);
        }
        // Its own icon: a question mark, not the held lock nor the stale open lock.
        const icon = await row('open.lock').locator('.custom-view-tree-node-item-icon, .codicon').first().getAttribute('class');
        if (!/codicon-question/.test(icon ?? '')) throw new Error(`open.lock's icon is ${icon}`);
        await page.mouse.move(800, 700);
        await shot('ui-container-1-locks.png');
      },
    ],
    [
      "an unknown lock's tooltip gives the reason and what cannot be seen from inside",
      async () => {
        const words = await tooltipOf('registry.json.lock');
        for (const want of [`${ws.sleeper.pid}`, 'outside this container', 'What Ledgerlock cannot see from here', 'Remove Lock Anyway']) {
          if (!words.includes(want)) throw new Error(`registry.json.lock tooltip lacks "${want}": ${words}`);
        }
        await shot('ui-container-2-unknown-tooltip.png');
        await page.mouse.move(800, 700);
      },
    ],
    [
      'unknown locks raise no alarm: no status-bar warning, no notification, no badge',
      async () => {
        if ((await page.locator('.statusbar-item[aria-label^="Ledgerlock:"]').count()) > 0) throw new Error('the status bar shows a Ledgerlock problem');
        const toasts = await page.locator('.notification-toast').allInnerTexts();
        if (toasts.some((t) => /Ledgerlock/.test(t))) throw new Error(`a notification: ${toasts.join(' | ')}`);
        const badge = await page
          .locator('.activitybar .action-item:has(a[aria-label^="Ledgerlock"]) .badge-content')
          .allInnerTexts()
          .catch(() => []);
        if (badge.some((b) => b.trim() !== '')) throw new Error(`the Ledgerlock view has a badge: ${badge.join(',')}`);
      },
    ],
    [
      'their context menus offer "Remove Lock Anyway…" and never Reap',
      async () => {
        for (const name of ['open.lock', 'registry.json.lock']) {
          await row(name).hover();
          if ((await row(name).locator('.action-label[aria-label^="Reap Lock"]').count()) > 0) throw new Error(`${name} has an inline Reap`);
          const entries = await contextMenuOf(name);
          if (name === 'registry.json.lock') await shot('ui-container-3-context-menu.png');
          await closeMenu();
          if (entries.some((e) => /Reap Lock/.test(e))) throw new Error(`${name} offers Reap: ${entries.join(', ')}`);
          if (!entries.some((e) => e.startsWith('Remove Lock Anyway'))) throw new Error(`${name} lacks Remove Lock Anyway…: ${entries.join(', ')}`);
        }
      },
    ],
    [
      'the host holder of registry.json.lock dies: seen from inside, it stays unknown',
      async () => {
        killGroup(ws.sleeper);
        await until('the host sleep is gone', () => !running(ws.sleeper.pid), 10_000);
        await runCommand(page, 'Ledgerlock: Refresh');
        // Nothing changes, so there is no event to wait for: watch the row over three lock
        // passes (2 s each) after the rescan, and it must say unknown at every look.
        const watchUntil = Date.now() + 6_000;
        let looks = 0;
        while (Date.now() < watchUntil) {
          const text = await rowSays('registry.json.lock');
          if (!/^unknown\b/.test(text) || /\b(stale|orphaned)\b/.test(text)) throw new Error(`registry.json.lock changed to: ${text}`);
          looks++;
          await page.waitForTimeout(250);
        }
        if (looks < 5) throw new Error(`only ${looks} looks at the row`);
        if (!existsSync(ws.registry)) throw new Error('registry.json.lock was removed without being asked');
      },
    ],
    [
      '"Remove Lock Anyway…" is in the command palette only while an unknown lock is selected',
      async () => {
        const paletteHas = async () => {
          await typeInPalette(page, '>Ledgerlock: Remove Lock Anyway');
          const rows = page.locator('.quick-input-list .monaco-list-row');
          // Filtered as typed: found, or the same other rows (or none) at two looks in a row.
          let found = false;
          let seen;
          await until(
            'the palette filters',
            async () => {
              found = (await rows.filter({ hasText: 'Remove Lock Anyway' }).count()) > 0;
              const now =
                (await rows.allInnerTexts()).join('|') + String(await page.locator('.quick-input-widget', { hasText: 'No matching commands' }).count());
              const settled = now === seen;
              seen = now;
              return found || settled;
            },
            10_000,
          );
          await page.keyboard.press('Escape');
          return found;
        };
        // A row's click also opens the lock in an editor; the palette is opened only once that
        // editor is there, or its arrival closes the palette and the typing lands in the file
        // (a CI run's failure screenshot).
        await row('held.lock').locator('.label-name').click();
        await page.locator('.tab.active', { hasText: 'held.lock' }).waitFor({ timeout: 20_000 });
        if (await paletteHas()) throw new Error('the palette offers Remove Lock Anyway… with a held lock selected');
        await row('open.lock').locator('.label-name').click();
        await page.locator('.tab.active', { hasText: 'open.lock' }).waitFor({ timeout: 20_000 });
        if (!(await paletteHas())) throw new Error('the palette lacks Remove Lock Anyway… with an unknown lock selected');
        await runCommand(page, 'View: Close All Editors');
      },
    ],
    [
      'Remove Lock Anyway… on open.lock: the modal names what is unknown; confirmed, the file goes from disk and view',
      async () => {
        await row('open.lock').click({ button: 'right' });
        await pickMenu(page, menu, 'Remove Lock Anyway');
        await dialog(page).waitFor({ timeout: 20_000 });
        const words = await dialog(page).innerText();
        for (const want of ['Remove open.lock anyway?', 'cannot tell from here', 'processes outside this container', 'two holders will run at once']) {
          if (!words.includes(want)) throw new Error(`the modal lacks "${want}": ${words}`);
        }
        const buttons = (await dialog(page).locator('.monaco-button').allInnerTexts()).map((b) => b.trim()).filter(Boolean);
        if (!buttons.includes('Remove Lock') || buttons.filter((b) => b !== 'Cancel').length !== 1)
          throw new Error(`the modal's buttons: ${buttons.join(', ')}`);
        await shot('ui-container-4-remove-modal.png');
        if (!existsSync(ws.open)) throw new Error('open.lock was removed before the confirmation');
        const started = Date.now();
        await dialog(page).getByRole('button', { name: 'Remove Lock' }).click();
        await until('open.lock is gone from disk', () => !existsSync(ws.open), 10_000);
        await row('open.lock').waitFor({ state: 'detached', timeout: 10_000 });
        results.metrics.push({ name: 'Remove Lock confirmed to the row gone', value: Date.now() - started, unit: 'ms' });
        // The others are left as they were.
        for (const f of [ws.held, ws.registry]) if (!existsSync(f)) throw new Error(`${path.basename(f)} was removed too`);
        if (!/^held\b/.test(await rowSays('held.lock'))) throw new Error('held.lock is no longer held');
        await page.mouse.move(800, 700);
        await until(
          'the progress message is gone',
          async () => (await page.locator('.statusbar-item', { hasText: 'Removing open.lock' }).count()) === 0,
          10_000,
        );
        await shot('ui-container-5-removed.png');
      },
    ],
  ];

  try {
    await runSteps(steps, results, shot, 'ui-container');
  } finally {
    if (results.failed.length > 0) writeFileSync(path.join(resultsDir, 'ui-container-code-server.log'), logLines.join('\n') + '\n');
    await browser.close().catch(() => undefined);
    await server.stop({ keepData: results.failed.length > 0 });
    ws.children.forEach(killGroup);
  }
  return results;
}
