// `npm run test:vscode`: builds the bundles, makes sure the VS Code runtime is installed
// (code-server + Chromium, see scripts/setup-vscode-runtime.sh), runs the extension-host
// suite in a trusted and in a restricted workspace, then the UI tests, and ends with the
// line `vscode: N passed, M failed`. Artifacts (screenshots, logs) go to test-results/vscode/.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { root } from './codeServer.mjs';
import { checkBoundary } from './boundary.mjs';
import { runExtensionHostSuite } from './extensionHost.mjs';
import { makeScaleWorkspace, makeWorkspace } from './fixture.mjs';
import { runAgentSessionsUiTests } from './ui/agent-sessions.mjs';
import { runContainerUiTests } from './ui/container.mjs';
import { runEvidenceUiTests } from './ui/evidence.mjs';
import { runInstalledTests } from './ui/installed.mjs';
import { runUiTests } from './ui/run.mjs';
import { runTruthUiTests } from './ui/truth.mjs';
import { runLiveAgesUiTests } from './ui/live-ages.mjs';
import { runLockActionsUiTests } from './ui/lock-actions.mjs';
import { runLedgerTreeUiTests } from './ui/ledger-tree.mjs';
import { runLockWordsUiTests } from './ui/lock-words.mjs';
import { runTimelineLiveUiTests } from './ui/timeline-live.mjs';

const only = process.argv
  .find((a) => a.startsWith('--only='))
  ?.slice('--only='.length)
  .split(',');
const want = (part) => (only ? only.includes(part) : part !== 'scale');
const resultsDir = path.join(root, 'test-results', 'vscode');
mkdirSync(resultsDir, { recursive: true });

const passed = [];
const failed = [];
const metrics = [];
function record(suite, result) {
  for (const t of result.passed) {
    passed.push(`${suite}: ${t.title}`);
    console.log(`  ✔ ${suite}: ${t.title}`);
  }
  for (const t of result.failed) {
    failed.push(`${suite}: ${t.title}`);
    console.log(`  ✘ ${suite}: ${t.title}\n${indent(t.error)}`);
  }
  metrics.push(...(result.metrics ?? []).map((m) => ({ suite, ...m })));
}

function indent(text) {
  return String(text)
    .split('\n')
    .slice(0, 25)
    .map((l) => `      ${l}`)
    .join('\n');
}

const scratch = mkdtempSync(path.join(os.tmpdir(), 'ledgerlock-vscode-tests-'));
try {
  console.log('vscode: building bundles');
  execFileSync(process.execPath, ['esbuild.mjs', '--only=engine,server,extension,webview'], { cwd: root, stdio: 'inherit' });
  console.log('vscode: checking the VS Code runtime');
  execFileSync('bash', [path.join(root, 'scripts/setup-vscode-runtime.sh')], { cwd: root, stdio: 'inherit' });

  if (want('boundary')) record('boundary', checkBoundary());
  if (want('trusted')) {
    console.log('vscode: extension-host suite, trusted workspace');
    const ws = await makeWorkspace(path.join(scratch, 'trusted-workspace'), { git: true });
    record(
      'extension host',
      await runExtensionHostSuite({
        name: 'extension-host-trusted',
        workspace: ws.dir,
        files: ['workspace.test.js', 'snapshots.test.js'],
        trusted: true,
        resultsDir,
      }),
    );
  }
  if (want('multiroot')) {
    console.log('vscode: extension-host suite, multi-root workspace');
    const dir = path.join(scratch, 'multiroot');
    await makeWorkspace(path.join(dir, 'alpha'), { pagedEvents: 10 });
    await makeWorkspace(path.join(dir, 'beta'), { pagedEvents: 10 });
    const file = path.join(dir, 'two-services.code-workspace');
    writeFileSync(file, JSON.stringify({ folders: [{ path: 'alpha' }, { path: 'beta' }] }, null, 2));
    record(
      'multi-root',
      await runExtensionHostSuite({ name: 'extension-host-multiroot', workspace: file, files: ['multiroot.test.js'], trusted: true, resultsDir }),
    );
  }
  if (want('restricted')) {
    console.log('vscode: extension-host suite, restricted mode');
    const ws = await makeWorkspace(path.join(scratch, 'restricted-workspace'));
    record(
      'restricted mode',
      await runExtensionHostSuite({ name: 'extension-host-restricted', workspace: ws.dir, files: ['restricted.test.js'], trusted: false, resultsDir }),
    );
  }
  if (want('scale')) {
    console.log(`vscode: scale (${process.env.LEDGERLOCK_SCALE_EVENTS ?? 1_000_000}-event ledger, 1,000 lock files)`);
    const started = Date.now();
    const ws = await makeScaleWorkspace(path.join(scratch, 'scale-workspace'), { events: Number(process.env.LEDGERLOCK_SCALE_EVENTS ?? 1_000_000) });
    console.log(`vscode: scale workspace made in ${Math.round((Date.now() - started) / 1000)} s`);
    record(
      'scale',
      await runExtensionHostSuite({ name: 'extension-host-scale', workspace: ws.dir, files: ['scale.test.js'], trusted: true, resultsDir, timeoutMs: 600_000 }),
    );
  }
  if (want('installed')) {
    console.log("vscode: the packaged .vsix, installed, in a folder with only other tools' state");
    record('installed', await runInstalledTests({ scratch, resultsDir }));
  }
  if (want('ui')) {
    console.log('vscode: UI tests');
    record('ui', await runUiTests({ scratch, resultsDir }));
  }
  if (want('evidence')) {
    console.log('vscode: UI tests, locks judged by evidence (flock holder, HardKAS crash)');
    record('ui evidence', await runEvidenceUiTests({ scratch, resultsDir }));
  }
  if (want('truth')) {
    console.log('vscode: UI tests, what the editor shows is true now (flock release and re-take, files in new folders)');
    record('ui truth', await runTruthUiTests({ scratch, resultsDir }));
  }
  if (want('ages')) {
    console.log('vscode: UI tests, ages computed when drawn (a tooltip hovered twice, the Reap dialog)');
    record('ui ages', await runLiveAgesUiTests({ scratch, resultsDir }));
  }
  if (want('actions')) {
    console.log('vscode: UI tests, acting on locks from their rows (Open, Reveal, Copy Path, Reap All Stale Locks, no Compact on a foreign log)');
    record('ui actions', await runLockActionsUiTests({ scratch, resultsDir }));
  }
  if (want('lock-words')) {
    console.log('vscode: UI tests, lock problems that open something actionable, and the words locks are told in');
    record('ui lock words', await runLockWordsUiTests({ scratch, resultsDir }));
  }
  if (want('ledger-tree')) {
    console.log('vscode: UI tests, the Ledgers tree (filter and clear, Follow on a 300,000-event log, Load more, Copy Event JSON, Go to Event Id)');
    record('ui ledger tree', await runLedgerTreeUiTests({ scratch, resultsDir }));
  }
  if (want('timeline-live')) {
    console.log('vscode: UI tests, the Timeline on a ledger written every 100 ms (progress while counting, zoom and colours kept, the guarding lock only)');
    record('ui timeline live', await runTimelineLiveUiTests({ scratch, resultsDir }));
  }
  if (want('sessions')) {
    console.log("vscode: UI tests, this workspace's agent sessions under a temporary HOME (a torn Claude Code transcript, a workspace-level tool root)");
    record('ui sessions', await runAgentSessionsUiTests({ scratch, resultsDir }));
  }
  if (want('container')) {
    console.log('vscode: UI tests, the editor inside a container (code-server in a pid namespace of its own)');
    record('ui container', await runContainerUiTests({ scratch, resultsDir }));
  }
} catch (err) {
  failed.push(`runner: ${err.message}`);
  console.log(`  ✘ runner: ${err.stack ?? err}`);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

for (const m of metrics) console.log(`  metric (${m.suite}): ${m.name}: ${m.value} ${m.unit}`);
console.log(`vscode: ${passed.length} passed, ${failed.length} failed`);
process.exitCode = failed.length > 0 || passed.length === 0 ? 1 : 0;
