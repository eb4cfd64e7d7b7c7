// UI tests for this workspace's agent sessions (README "Agent sessions"): code-server runs with
// HOME pointing at a temporary folder whose ~/.claude holds a Claude Code transcript of the
// workspace, written in Claude Code's public line format and torn by a crash with the next
// record glued onto the torn one. The tool root is turned on in the user settings of that
// code-server profile. The summary on open names the damaged session; one Repair keeps the glued
// record (checked on disk: every line parses, the glued record present, the torn bytes in
// quarantine). A second workspace whose own settings try to add a tool root gets nothing from it.
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, startCodeServer } from '../codeServer.mjs';
import { engine } from '../fixture.mjs';
import { openLedgerlockContainer, runSteps, until, waitForWorkbench } from './workbench.mjs';

const SESSION_ID = '6b0f3c1e-2f4a-4d2b-9a51-0c9e7d1a2b3c';

/** A Claude Code transcript line: a conversation entry as Claude Code writes it (one JSON object per line). */
function entry(cwd, sessionId, i, uuid, parentUuid, type) {
  const timestamp = new Date(Date.UTC(2025, 5, 1, 12, 0, i)).toISOString();
  const message =
    type === 'user'
      ? { role: 'user', content: `step ${i}: run the tests` }
      : { role: 'assistant', content: [{ type: 'text', text: `step ${i}: the tests pass` }] };
  return { parentUuid, isSidechain: false, userType: 'external', cwd, sessionId, version: '1.0.44', gitBranch: 'main', type, message, uuid, timestamp };
}

/**
 * Lines 1–10 whole records (u1…u10); line 11 the first bytes of an assistant record t11 cut by a
 * kill, with the next append (u11, whose parent was t11) glued onto it; lines 12–14 whole (u12…u14).
 */
function tornTranscript(cwd, sessionId) {
  const lines = [];
  let parent = null;
  for (let i = 1; i <= 10; i++) {
    const uuid = `u${i}`;
    lines.push(JSON.stringify(entry(cwd, sessionId, i, uuid, parent, i % 2 ? 'user' : 'assistant')));
    parent = uuid;
  }
  const torn = JSON.stringify(entry(cwd, sessionId, 11, 't11', 'u10', 'assistant'));
  const tornPrefix = torn.slice(0, Math.floor(torn.length / 2));
  const glued = JSON.stringify(entry(cwd, sessionId, 11, 'u11', 't11', 'user'));
  lines.push(tornPrefix + glued);
  parent = 'u11';
  for (let i = 12; i <= 14; i++) {
    lines.push(JSON.stringify(entry(cwd, sessionId, i, `u${i}`, parent, i % 2 ? 'user' : 'assistant')));
    parent = `u${i}`;
  }
  return { text: `${lines.join('\n')}\n`, tornPrefix };
}

function sessionFile(claudeRoot, workspace, sessionId) {
  const dir = path.join(claudeRoot, 'projects', engine().claudeProjectKey(workspace));
  mkdirSync(dir, { recursive: true });
  return path.join(dir, `${sessionId}.jsonl`);
}

function filesUnder(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true })
    .map((f) => path.join(dir, String(f)))
    .filter((f) => statSync(f).isFile());
}

export async function runAgentSessionsUiTests({ scratch, resultsDir }) {
  const results = { passed: [], failed: [], metrics: [] };
  const home = path.join(scratch, 'agent-home');
  const ws = path.join(scratch, 'agent-workspace');
  mkdirSync(ws, { recursive: true });
  writeFileSync(path.join(ws, 'README.md'), '# a workspace an agent worked in\n');
  const wsReal = realpathSync(ws);
  const claudeRoot = path.join(home, '.claude');
  const session = sessionFile(claudeRoot, wsReal, SESSION_ID);
  const { text, tornPrefix } = tornTranscript(wsReal, SESSION_ID);
  writeFileSync(session, text);

  // A second workspace whose .vscode/settings.json names a tool root of its own (with a damaged
  // session of that workspace in it); the user's root holds a healthy session of it.
  const other = path.join(scratch, 'agent-workspace-settings');
  mkdirSync(path.join(other, '.vscode'), { recursive: true });
  const otherReal = realpathSync(other);
  const planted = path.join(scratch, 'planted-claude');
  const plantedSession = sessionFile(planted, otherReal, 'planted-0000-4000-8000-000000000000');
  writeFileSync(plantedSession, tornTranscript(otherReal, 'planted-0000-4000-8000-000000000000').text);
  const plantedBefore = readFileSync(plantedSession);
  writeFileSync(path.join(other, '.vscode', 'settings.json'), JSON.stringify({ 'ledgerlock.toolRoots': [`claude-code=${planted}`] }, null, 2));
  const userSession = sessionFile(claudeRoot, otherReal, 'user0000-0000-4000-8000-000000000000');
  writeFileSync(
    userSession,
    `${[1, 2, 3].map((i) => JSON.stringify(entry(otherReal, 'user0000', i, `o${i}`, i > 1 ? `o${i - 1}` : null, 'user'))).join('\n')}\n`,
  );

  const logLines = [];
  const server = await startCodeServer({
    trusted: true,
    env: { HOME: home },
    settings: { 'ledgerlock.toolRoots': ['claude-code=~/.claude'] },
    log: (l) => logLines.push(l),
  });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  const page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
  page.on('console', (m) => logLines.push(`[browser ${m.type()}] ${m.text()}`));
  const shot = (name) => page.screenshot({ path: path.join(resultsDir, name) });
  const sessionName = `${SESSION_ID}.jsonl`;
  const pane = () => page.locator('.pane').filter({ has: page.locator('.pane-header:has-text("Agent Sessions")') });
  // The view shows a session by the first part of its id (the file name in its tooltip).
  const sessionRow = (name) =>
    pane()
      .locator('.monaco-list-row')
      .filter({ has: page.locator('.label-name', { hasText: name }) })
      .first();

  const steps = [
    [
      'the summary on open names the damaged Claude Code session and what broke',
      async () => {
        const started = Date.now();
        await page.goto(server.workbenchUrl(ws));
        await waitForWorkbench(page);
        const toast = page.locator('.notification-toast', { hasText: 'agent session of this workspace is damaged' });
        await toast.waitFor({ timeout: 90_000 });
        results.metrics.push({ name: 'page load to the damaged-session summary', value: Date.now() - started, unit: 'ms' });
        const words = await toast.innerText();
        for (const want of [sessionName, 'Claude Code', 'glued record']) if (!words.includes(want)) throw new Error(`the summary lacks "${want}": ${words}`);
      },
    ],
    [
      'the Agent Sessions view lists the session with its health, records, size and last activity',
      async () => {
        await openLedgerlockContainer(page);
        const header = page.locator('.pane-header:has-text("Agent Sessions")').first();
        await header.waitFor({ timeout: 30_000 });
        if ((await header.getAttribute('aria-expanded')) !== 'true') await header.click();
        const row = sessionRow(SESSION_ID.slice(0, 8));
        await row.waitFor({ timeout: 30_000 });
        const rowText = await row.innerText();
        if (!/corrupt|torn/.test(rowText) || !/records/.test(rowText) || !/ago/.test(rowText)) throw new Error(`session row: ${rowText}`);
        await shot('ui-sessions-1-summary.png');
      },
    ],
    [
      'one Repair keeps the glued record: every line parses, u11 on a line of its own, the torn bytes in quarantine',
      async () => {
        const toast = page.locator('.notification-toast', { hasText: 'agent session of this workspace is damaged' });
        await toast.getByRole('button', { name: 'Repair' }).click();
        await until(
          'the session parses line by line',
          () => {
            try {
              readFileSync(session, 'utf8')
                .trimEnd()
                .split('\n')
                .forEach((l) => JSON.parse(l));
              return true;
            } catch {
              return false;
            }
          },
          30_000,
        );
        const records = readFileSync(session, 'utf8')
          .trimEnd()
          .split('\n')
          .map((l) => JSON.parse(l));
        const uuids = records.map((r) => r.uuid);
        const want = Array.from({ length: 14 }, (_, i) => `u${i + 1}`);
        if (uuids.join(',') !== want.join(',')) throw new Error(`records after the repair: ${uuids.join(',')}`);
        // Claude Code's chain: unbroken except at t11, the record truly lost.
        for (let i = 1; i < records.length; i++) {
          const expected = records[i].uuid === 'u11' ? 't11' : records[i - 1].uuid;
          if (records[i].parentUuid !== expected) throw new Error(`${records[i].uuid}'s parent is ${records[i].parentUuid}`);
        }
        const quarantined = filesUnder(path.dirname(session)).filter((f) => f !== session && /quarantine/.test(f));
        if (!quarantined.some((f) => readFileSync(f, 'utf8').includes(tornPrefix)))
          throw new Error(`the torn bytes are not in quarantine (${quarantined.join(', ') || 'no quarantine files'})`);
        await sessionRow(SESSION_ID.slice(0, 8)).filter({ hasNotText: 'corrupt' }).filter({ hasNotText: 'torn' }).waitFor({ timeout: 30_000 });
        await shot('ui-sessions-2-repaired.png');
      },
    ],
    [
      'a session row opens to its records, newest first, told by line',
      async () => {
        await sessionRow(SESSION_ID.slice(0, 8)).click();
        const record = pane().locator('.monaco-list-row', { hasText: 'line 14' }).first();
        await record.waitFor({ timeout: 20_000 });
        await shot('ui-sessions-3-records.png');
      },
    ],
    [
      'a workspace whose own settings add a tool root gets nothing from it; the user root still shows its session',
      async () => {
        await page.goto(server.workbenchUrl(other));
        await waitForWorkbench(page);
        await openLedgerlockContainer(page);
        const header = page.locator('.pane-header:has-text("Agent Sessions")').first();
        await header.waitFor({ timeout: 30_000 });
        if ((await header.getAttribute('aria-expanded')) !== 'true') await header.click();
        await sessionRow('user0000').waitFor({ timeout: 60_000 });
        // Long enough for a search of the planted root and its summary, had it been read.
        await new Promise((r) => setTimeout(r, 5_000));
        const body = await page.locator('.monaco-workbench').innerText();
        if (body.includes(path.basename(plantedSession)) || body.includes(planted)) throw new Error('the planted tool root from workspace settings was read');
        if (!readFileSync(plantedSession).equals(plantedBefore)) throw new Error('the planted session was changed');
        await shot('ui-sessions-4-workspace-setting-ignored.png');
      },
    ],
    [
      'each new window of this remote keeps the user tool root: three reloads, the session each time',
      async () => {
        // code-server is a remote window. A machine-scoped setting from user settings is dropped
        // there, typically from some later window on: the tool root must hold in every one.
        for (let i = 1; i <= 3; i++) {
          await page.reload();
          await waitForWorkbench(page);
          await openLedgerlockContainer(page);
          const header = page.locator('.pane-header:has-text("Agent Sessions")').first();
          await header.waitFor({ timeout: 30_000 });
          if ((await header.getAttribute('aria-expanded')) !== 'true') await header.click();
          try {
            await sessionRow('user0000').waitFor({ timeout: 30_000 });
          } catch (err) {
            throw new Error(`window ${i + 2} of this code-server does not show the user root's session: ${err.message}`);
          }
        }
        await shot('ui-sessions-5-reloaded.png');
      },
    ],
  ];

  try {
    await runSteps(steps, results, shot, 'ui-sessions');
  } finally {
    if (results.failed.length > 0) writeFileSync(path.join(resultsDir, 'ui-sessions-code-server.log'), logLines.join('\n'));
    await browser.close().catch(() => undefined);
    await server.stop({ keepData: results.failed.length > 0 });
  }
  return results;
}
