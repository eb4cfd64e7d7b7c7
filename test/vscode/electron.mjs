// `npm run test:electron`: the same extension-host suite in desktop VS Code, through
// @vscode/test-electron. It downloads VS Code from Microsoft's update servers, so it needs a
// desktop with network access (and a display, or xvfb-run); on machines that reach only npm
// and Debian, use `npm run test:vscode` (code-server) instead.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runTests } from '@vscode/test-electron';
import { root } from './codeServer.mjs';
import { makeWorkspace } from './fixture.mjs';

execFileSync(process.execPath, ['esbuild.mjs', '--only=engine,server,extension'], { cwd: root, stdio: 'inherit' });
const version = process.env.VSCODE_VERSION ?? '1.100.3';
const scratch = mkdtempSync(path.join(os.tmpdir(), 'ledgerlock-electron-'));
const resultsDir = path.join(root, 'test-results', 'electron');
mkdirSync(resultsDir, { recursive: true });

async function suite(name, { trusted, files }) {
  const ws = await makeWorkspace(path.join(scratch, name));
  const userDataDir = path.join(scratch, `${name}-user-data`);
  mkdirSync(path.join(userDataDir, 'User'), { recursive: true });
  writeFileSync(path.join(userDataDir, 'User', 'settings.json'), JSON.stringify({ 'security.workspace.trust.startupPrompt': 'never', 'workbench.startupEditor': 'none' }));
  const resultsFile = path.join(resultsDir, `${name}.results.json`);
  rmSync(resultsFile, { force: true });
  const launchArgs = [ws.dir, '--disable-extensions', `--user-data-dir=${userDataDir}`];
  if (trusted) launchArgs.push('--disable-workspace-trust');
  try {
    await runTests({
      version,
      extensionDevelopmentPath: root,
      extensionTestsPath: path.join(root, 'test/vscode/suite/index.js'),
      launchArgs,
      extensionTestsEnv: { LEDGERLOCK_TEST_FILES: files.join(','), LEDGERLOCK_TEST_RESULTS: resultsFile },
    });
  } catch (err) {
    console.error(`electron (${name}): ${err.message ?? err}`);
  }
  try {
    return JSON.parse(readFileSync(resultsFile, 'utf8'));
  } catch {
    return { passed: [], failed: [{ title: `${name}: no results (could VS Code ${version} be downloaded and started?)` }] };
  }
}

let passed = 0;
let failed = 0;
try {
  for (const [name, options] of [
    ['trusted', { trusted: true, files: ['workspace.test.js'] }],
    ['restricted', { trusted: false, files: ['restricted.test.js'] }],
  ]) {
    const result = await suite(name, options);
    for (const t of result.passed) console.log(`  ✔ ${name}: ${t.title}`);
    for (const t of result.failed) console.log(`  ✘ ${name}: ${t.title}${t.error ? `\n${t.error}` : ''}`);
    passed += result.passed.length;
    failed += result.failed.length;
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
console.log(`electron: ${passed} passed, ${failed} failed`);
process.exitCode = failed > 0 || passed === 0 ? 1 : 0;
