// Runs the extension-host mocha suite inside code-server: the workbench URL hands VS Code
// the suite (extensionTestsPath); the suite writes its results to a file we wait for.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, root, startCodeServer } from './codeServer.mjs';

export async function runExtensionHostSuite({ name, workspace, files, trusted, resultsDir, timeoutMs = 240_000 }) {
  const resultsFile = path.join(resultsDir, `${name}.results.json`);
  rmSync(resultsFile, { force: true });
  const logLines = [];
  const server = await startCodeServer({
    trusted,
    env: { LEDGERLOCK_TEST_RESULTS: resultsFile, LEDGERLOCK_TEST_FILES: files.join(',') },
    log: (line) => logLines.push(line),
  });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  let outcome;
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.on('console', (m) => logLines.push(`[browser ${m.type()}] ${m.text()}`));
    await page.goto(server.workbenchUrl(workspace, { extensionTestsPath: path.join(root, 'test/vscode/suite/index.js') }));
    const deadline = Date.now() + timeoutMs;
    while (!existsSync(resultsFile) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    await page.screenshot({ path: path.join(resultsDir, `${name}.png`) }).catch(() => undefined);
    if (!existsSync(resultsFile)) {
      outcome = { passed: [], failed: [{ title: `${name}: suite produced no results within ${timeoutMs / 1000} s`, error: 'see the code-server log' }], metrics: [] };
    } else {
      outcome = JSON.parse(readFileSync(resultsFile, 'utf8'));
    }
    return outcome;
  } finally {
    await browser.close().catch(() => undefined);
    await server.stop({ keepData: !outcome || outcome.failed.length > 0 });
    writeFileSync(path.join(resultsDir, `${name}.code-server.log`), logLines.join('\n') + '\n');
  }
}
