// Playwright helpers that drive the VS Code workbench the way a person does: the activity
// bar, tree rows, the command palette and modal dialogs.

export async function waitForWorkbench(page) {
  await page.locator('.monaco-workbench').waitFor({ timeout: 90_000 });
  await page.locator('.statusbar').waitFor({ timeout: 60_000 });
}

export async function openLedgerlockContainer(page) {
  const icon = page.locator('.activitybar .action-item a[aria-label^="Ledgerlock"], .composite-bar .action-item a[aria-label^="Ledgerlock"]').first();
  const locks = page.locator('.pane-header[aria-label*="Locks"], .pane-header:has-text("Locks")').first();
  await icon.waitFor({ timeout: 60_000 });
  // Clicking the entry of the container already shown hides the side bar. Right after a reload
  // the workbench may still be restoring it when the icon is read, so a click can hide what
  // was about to show: look again, and click again, until the Locks view is there.
  for (let attempt = 1; ; attempt++) {
    if (await locks.isVisible()) return;
    const expanded = await icon.getAttribute('aria-expanded');
    const selected = await icon.locator('..').getAttribute('class');
    // The view badge sits on top of the icon, so click the whole activity-bar entry.
    if (expanded !== 'true' && !/checked/.test(selected ?? '')) await icon.locator('..').click();
    try {
      await locks.waitFor({ timeout: 10_000 });
      return;
    } catch (err) {
      if (attempt >= 3) throw err;
      // Shown as selected with no side bar: a click shows it.
      if (!(await locks.isVisible()) && (expanded === 'true' || /checked/.test(selected ?? ''))) await icon.locator('..').click();
    }
  }
}

/** The tree row whose label is `label` inside the view titled `viewTitle`. */
export function treeRow(page, viewTitle, label) {
  const pane = page.locator('.pane').filter({ has: page.locator(`.pane-header:has-text("${viewTitle}")`) });
  return pane
    .locator('.monaco-list-row')
    .filter({ has: page.locator('.label-name', { hasText: label }) })
    .first();
}

/**
 * Opens the command palette and types `text` into it. An editor that a click just started
 * opening takes the focus when it arrives, which closes a palette opened in between: open it
 * again rather than type into a closed one.
 */
export async function typeInPalette(page, text) {
  const input = page.locator('.quick-input-widget input');
  for (let attempt = 1; ; attempt++) {
    await page.keyboard.press('F1');
    try {
      await input.waitFor({ timeout: 15_000 });
      await input.fill(text, { timeout: 5_000 });
      return;
    } catch (err) {
      if (attempt >= 3) throw err;
      await page.keyboard.press('Escape');
    }
  }
}

/**
 * Runs a command from the palette by clicking its row: Enter would run whichever row is on top
 * (a recently used command that also matches), and a palette that closed meanwhile (an editor
 * arriving takes the focus) would send it to the editor. A palette that closed is opened again;
 * when the command is never offered, the error says what the palette showed.
 */
export async function runCommand(page, title) {
  const startsWith = new RegExp(`^\\s*${title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`);
  const row = page
    .locator('.quick-input-list .monaco-list-row')
    .filter({ has: page.locator('.label-name', { hasText: startsWith }) })
    .first();
  for (let attempt = 1; ; attempt++) {
    await typeInPalette(page, `>${title}`);
    try {
      await row.waitFor({ timeout: attempt < 3 ? 5_000 : 15_000 });
      await row.click({ timeout: 5_000 });
      return;
    } catch {
      const open = await page
        .locator('.quick-input-widget')
        .isVisible()
        .catch(() => false);
      const typed = await page
        .locator('.quick-input-widget input')
        .inputValue({ timeout: 1_000 })
        .catch(() => '');
      const offered = await page
        .locator('.quick-input-list .monaco-list-row')
        .allInnerTexts()
        .catch(() => []);
      if (attempt >= 3)
        throw new Error(`"${title}" was not offered in the command palette (open: ${open}, typed: "${typed}", rows: ${JSON.stringify(offered.slice(0, 5))})`);
      await page.keyboard.press('Escape');
    }
  }
}

/**
 * Hovers `target` until a hover holding `hasText` shows (a tree row's tooltip is resolved on
 * hover, and a hover already open elsewhere must be left first), and reads it.
 */
export async function hoverText(page, target, hasText, { away = [10, 10] } = {}) {
  const hover = page.locator('.monaco-hover, .workbench-hover').filter({ hasText });
  await until(
    `a hover with ${hasText}`,
    async () => {
      await page.mouse.move(...away);
      await target.hover();
      return hover
        .first()
        .waitFor({ timeout: 3_000 })
        .then(() => true)
        .catch(() => false);
    },
    30_000,
  );
  return hover.first().innerText();
}

/** A tree row's place in its list (aria-posinset), or null when it is not drawn: it moves when rows come above it. */
export function rowPlace(row) {
  return row.getAttribute('aria-posinset', { timeout: 1_000 }).catch(() => null);
}

export function dialog(page) {
  return page.locator('.monaco-dialog-box');
}

/** Polls `condition` every 200 ms until it is truthy, or throws after `timeoutMs`. */
export async function waitFor(condition, timeoutMs = 20_000, what = 'the condition') {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export const until = (what, probe, timeoutMs) => waitFor(probe, timeoutMs, what);

/** Waits until `probe`'s value has not changed for `quietMs` (toasts done appearing and closing), at most `timeoutMs`. */
export async function quiet(probe, quietMs, timeoutMs = 20_000, what = 'quiet') {
  let value = await probe();
  let since = Date.now();
  await waitFor(
    async () => {
      const now = await probe();
      if (now !== value) [value, since] = [now, Date.now()];
      return Date.now() - since >= quietMs;
    },
    timeoutMs,
    what,
  );
}

/** The notification toasts on screen. */
export const toastCount = (page) => page.locator('.notifications-toasts .notification-toast').count();

/**
 * Runs UI steps in order, as a person would: once one fails, the rest are reported as not
 * run (they would only fail for the same reason), with a screenshot of the failure.
 */
export async function runSteps(steps, results, shot, prefix) {
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
      await shot(`${prefix}-failure-${results.failed.length}.png`).catch(() => undefined);
      results.failed.push({ title, error: String(err.stack ?? err) });
    }
  }
}
