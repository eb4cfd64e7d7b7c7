// UI tests for problems that land where a person can act, and for the words locks are told in:
// a problem on a lock folder (proper-lockfile's build.lock/) and on a binary lock opens the
// lock's description with its actions, where Reap works from a code lens and from the light
// bulb (checked on disk and in the quarantine). Screenshots are kept in test-results/vscode/.
import { existsSync, mkdirSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, startCodeServer } from '../codeServer.mjs';
import { dialog, openLedgerlockContainer, runCommand, runSteps, until, waitForWorkbench } from './workbench.mjs';

export async function runLockWordsUiTests({ scratch, resultsDir }) {
  const results = { passed: [], failed: [], metrics: [] };
  const dir = path.join(scratch, 'lock-words-workspace');
  mkdirSync(dir, { recursive: true });
  const old = new Date(Date.now() - 600_000);
  // proper-lockfile's lock is a folder it refreshes every few seconds; one untouched for 10 min is stale.
  const folderLock = path.join(dir, 'build.lock');
  mkdirSync(folderLock);
  writeFileSync(path.join(dir, 'build'), 'artifact\n');
  utimesSync(folderLock, old, old);
  // A lock whose content is not text: VS Code would open it with its binary warning.
  const binaryLock = path.join(dir, 'data.lock');
  writeFileSync(binaryLock, Buffer.from([0, 1, 2, 0x62, 0x69, 0x6e, 0, 0xff, 0xfe, 0]));
  utimesSync(binaryLock, old, old);

  const logLines = [];
  const server = await startCodeServer({ trusted: true, log: (l) => logLines.push(l) });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  const context = await browser.newContext({ viewport: { width: 1400, height: 860 } });
  const page = await context.newPage();
  const shot = (name) => page.screenshot({ path: path.join(resultsDir, name) });
  const quarantine = path.join(dir, '.ledgerlock', 'quarantine');
  const kept = (name) => existsSync(quarantine) && readdirSync(quarantine).some((n) => n.includes(name));
  const problemRow = (text) => page.locator('.markers-panel .monaco-list-row', { hasText: text }).first();
  // The editor draws spaces as no-break spaces.
  const editorText = async () => (await page.locator('.editor-group-container.active .monaco-editor .view-lines').first().innerText()).replace(/\u00a0/g, ' ');

  /** Clicks a lock's problem and checks what opens: the lock's description, not "not displayed" or a binary warning. */
  async function openProblem(name, shotName) {
    await runCommand(page, 'View: Focus Problems');
    const row = problemRow(new RegExp(`${name.replace('.', '\\.')} (stale|orphaned): `));
    await row.waitFor({ timeout: 30_000 });
    await row.click();
    await until(`${name}'s description opens`, async () => /Holder:/.test(await editorText().catch(() => '')), 20_000);
    const words = await editorText();
    const body = await page.locator('.editor-group-container.active').innerText();
    if (/not displayed in the text editor|Open Anyway|is a directory/i.test(body))
      throw new Error(`the problem opened VS Code's refusal: ${body.slice(0, 300)}`);
    if (!new RegExp(`${name.replace('.', '\\.')} — (stale|orphaned)`).test(words))
      throw new Error(`the description does not name the lock and its state: ${words}`);
    if (words.includes(dir)) throw new Error(`the description shows an absolute path: ${words}`);
    await shot(shotName);
    return words;
  }

  const steps = [
    [
      "a lock folder's problem opens its description, whose Reap Lock code lens reaps it (bytes kept)",
      async () => {
        await page.goto(server.workbenchUrl(dir));
        await waitForWorkbench(page);
        await openLedgerlockContainer(page);
        const words = await openProblem('build.lock', 'ui-lock-words-1-folder-lock-described.png');
        if (!/a lock folder/.test(words)) throw new Error(`the description does not say it is a lock folder: ${words}`);
        const lens = page.locator('.editor-group-container.active .codelens-decoration a', { hasText: 'Reap Lock' }).first();
        await lens.waitFor({ timeout: 15_000 });
        await lens.click();
        await dialog(page).waitFor({ timeout: 15_000 });
        await shot('ui-lock-words-2-folder-reap-dialog.png');
        await dialog(page).getByRole('button', { name: 'Reap' }).click();
        await until('build.lock/ is gone from disk', () => !existsSync(folderLock), 20_000);
        await until("build.lock's bytes are in .ledgerlock/quarantine/", () => kept('build.lock'), 20_000);
        await until('the description says it is gone', async () => /no longer there/.test(await editorText().catch(() => '')), 20_000);
        await shot('ui-lock-words-3-folder-reaped.png');
      },
    ],
    [
      "a binary lock's problem opens its description, where the light bulb's Reap reaps it (bytes kept)",
      async () => {
        await openProblem('data.lock', 'ui-lock-words-4-binary-lock-described.png');
        // The light bulb on the problem's row in the Problems panel (disabled when the problem was on the binary file).
        const row = problemRow(/data\.lock orphaned: /);
        await row.hover();
        await row.locator('[class*="lightbulb"], [class*="light-bulb"]').first().click();
        const fix = page.locator('.action-widget .monaco-list-row, .context-view .action-label', { hasText: 'Reap this orphaned lock' }).first();
        await fix.waitFor({ timeout: 15_000 });
        await shot('ui-lock-words-5-binary-light-bulb.png');
        await fix.click();
        await dialog(page).waitFor({ timeout: 15_000 });
        await dialog(page).getByRole('button', { name: 'Reap' }).click();
        await until('data.lock is gone from disk', () => !existsSync(binaryLock), 20_000);
        await until("data.lock's bytes are in .ledgerlock/quarantine/", () => kept('data.lock'), 20_000);
        await shot('ui-lock-words-6-binary-reaped.png');
      },
    ],
  ];

  try {
    await runSteps(steps, results, shot, 'ui-lock-words');
  } finally {
    if (results.failed.length > 0) writeFileSync(path.join(resultsDir, 'ui-lock-words-code-server.log'), logLines.join('\n'));
    await browser.close().catch(() => undefined);
    await server.stop();
  }
  return results;
}
