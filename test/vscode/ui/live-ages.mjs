// UI test for ages computed when drawn: a stale empty lock whose reason reads "empty lock file
// N s old" is hovered twice, 17 s apart, with nothing changing on disk (so the server pushes no
// new verdict): the second tooltip's sentence is older by those seconds and agrees with its
// Age row, and the Reap dialog's sentence is as old as the lock is then. Screenshots are kept.
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, startCodeServer } from '../codeServer.mjs';
import { dialog, openLedgerlockContainer, runCommand, runSteps, treeRow, until, waitForWorkbench, hoverText } from './workbench.mjs';

/** The seconds in "empty lock file 37 s old" and in the Age row ("| Age | 38 s |" as text). */
function agesIn(words) {
  const sentence = /empty lock file (\d+) s old/.exec(words);
  const row = /Age\s+(\d+) s/.exec(words);
  return { sentence: sentence ? Number(sentence[1]) : undefined, row: row ? Number(row[1]) : undefined };
}

export async function runLiveAgesUiTests({ scratch, resultsDir }) {
  const results = { passed: [], failed: [], metrics: [] };
  const dir = path.join(scratch, 'live-ages-workspace');
  mkdirSync(dir, { recursive: true });
  const lockPath = path.join(dir, 'crash.lock');
  writeFileSync(lockPath, '');
  const ago = new Date(Date.now() - 30_000);
  utimesSync(lockPath, ago, ago);

  const logLines = [];
  const server = await startCodeServer({ trusted: true, log: (l) => logLines.push(l) });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  const page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
  const shot = (name) => page.screenshot({ path: path.join(resultsDir, name) });
  const row = () => treeRow(page, 'Locks', 'crash.lock');
  const tooltip = async () => (await hoverText(page, row().locator('.label-name'), 'crash.lock')).replace(/\s+/g, ' ');
  let first;

  const steps = [
    [
      'the stale empty lock is shown with its age in the sentence',
      async () => {
        await page.goto(server.workbenchUrl(dir));
        await waitForWorkbench(page);
        await openLedgerlockContainer(page);
        await until(
          'crash.lock is shown stale',
          async () =>
            /stale/.test(
              await row()
                .innerText()
                .catch(() => ''),
            ),
          30_000,
        );
        first = agesIn(await tooltip());
        if (first.sentence === undefined || first.row === undefined) throw new Error(`no ages in the tooltip: ${JSON.stringify(first)}`);
        await shot('ui-live-ages-1-first-hover.png');
      },
    ],
    [
      'hovered again 17 s later, the sentence has aged with the Age row',
      async () => {
        await page.mouse.move(800, 700);
        await new Promise((r) => setTimeout(r, 17_000));
        const words = await tooltip();
        const again = agesIn(words);
        await shot('ui-live-ages-2-second-hover.png');
        if (again.sentence === undefined || again.sentence < first.sentence + 15)
          throw new Error(`the sentence's age did not move: ${first.sentence} s, then ${again.sentence} s (${words})`);
        if (Math.abs(again.sentence - again.row) > 1) throw new Error(`the sentence says ${again.sentence} s, the Age row ${again.row} s`);
        await page.mouse.move(800, 700);
      },
    ],
    [
      'the Reap dialog says the age the lock has when it is opened',
      async () => {
        await row().click();
        // The click opens the lock in an editor, which takes the focus when it arrives: let it
        // arrive before the palette is opened.
        await page.locator('.tab.active', { hasText: 'crash.lock' }).waitFor({ timeout: 20_000 });
        await runCommand(page, 'Ledgerlock: Reap Lock');
        await dialog(page).waitFor({ timeout: 20_000 });
        const words = await dialog(page).innerText();
        const shown = agesIn(words).sentence;
        const truth = Math.round((Date.now() - ago.getTime()) / 1000);
        await shot('ui-live-ages-3-reap-dialog.png');
        await dialog(page).getByRole('button', { name: 'Cancel' }).click();
        if (shown === undefined || Math.abs(shown - truth) > 3) throw new Error(`the dialog says ${shown} s, the lock is ${truth} s old: ${words}`);
      },
    ],
  ];

  try {
    await runSteps(steps, results, shot, 'ui-live-ages');
  } finally {
    if (results.failed.length > 0) writeFileSync(path.join(resultsDir, 'ui-live-ages-code-server.log'), logLines.join('\n'));
    await browser.close().catch(() => undefined);
    await server.stop({ keepData: results.failed.length > 0 });
  }
  return results;
}
