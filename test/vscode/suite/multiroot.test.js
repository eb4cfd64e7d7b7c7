// The extension in a multi-root workspace: two folders, each with a dead holder's lock and a
// torn ledger. Every view groups by folder, the status bar counts both, and a fix in one
// folder changes nothing in the other.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const vscode = require('vscode');
const { api, until } = require('./helpers');

function folderPaths(folder) {
  const store = path.join(folder.uri.fsPath, '.ledgerlock');
  return {
    name: folder.name,
    dir: folder.uri.fsPath,
    deadLock: path.join(store, 'locks', 'build.lock'),
    tornLedger: path.join(store, 'ledgers', 'events.jsonl'),
    quarantine: path.join(store, 'quarantine'),
  };
}

describe('Ledgerlock in a multi-root workspace', () => {
  let ll;
  let alpha;
  let beta;

  before(async () => {
    const folders = vscode.workspace.workspaceFolders ?? [];
    assert.equal(folders.length, 2, 'two workspace folders are open');
    [alpha, beta] = folders.map(folderPaths);
    ll = await api();
    await ll.state.waitFor((s) => s.folders.length === 2 && s.folders.every((f) => f.locks.some((l) => l.reapable) && f.ledgers.some((l) => l.health === 'torn')), 30_000);
  });

  it('judges each folder on its own: one group per folder in the Locks and Ledgers views', async () => {
    const lockGroups = ll.locks.getChildren();
    assert.deepEqual(lockGroups.map((n) => ll.locks.getTreeItem(n).label), [alpha.name, beta.name]);
    for (const [group, folder] of lockGroups.map((g, i) => [g, [alpha, beta][i]])) {
      const items = ll.locks.getChildren(group).map((n) => ll.locks.getTreeItem(n));
      const build = items.find((i) => String(i.label).includes('build.lock'));
      assert.ok(build, `${folder.name} lists its build.lock`);
      assert.match(build.contextValue, /\breapable\b/);
      assert.equal(build.id, `lock:${folder.deadLock}`, 'each row is its own folder\'s file');
    }
    const ledgerGroups = await ll.ledgers.getChildren();
    assert.equal(ledgerGroups.length, 2);
  });

  it('counts the problems of both folders in the status bar, each sentence naming its folder', async () => {
    await until(`status bar counts both folders (last: ${ll.status.text})`, () => ll.status.text === '$(error) 2 torn ledgers, 2 stale locks');
    const tooltip = ll.status.tooltip.value;
    for (const name of [alpha.name, beta.name]) {
      assert.match(tooltip, new RegExp(`${name}: events\\\\\\.jsonl is torn`), tooltip);
      assert.match(tooltip, new RegExp(`${name}: build\\\\\\.lock`), tooltip);
    }
  });

  it('reaping a lock in one folder leaves the other folder\'s lock and state alone', async () => {
    const betaLock = fs.readFileSync(beta.deadLock);
    const result = await vscode.commands.executeCommand('ledgerlock.reapLock', alpha.deadLock, { confirmed: true });
    assert.equal(result.ok, true, result.message);
    assert.equal(fs.existsSync(alpha.deadLock), false);
    assert.deepEqual(fs.readFileSync(beta.deadLock), betaLock, 'beta\'s lock file is untouched');
    const state = await ll.state.waitFor((s) => !s.folders[0].locks.some((l) => l.path === alpha.deadLock), 15_000);
    const betaState = state.folders.find((f) => f.locks.some((l) => l.path === beta.deadLock));
    assert.ok(betaState, 'beta still lists its lock');
    assert.equal(betaState.locks.find((l) => l.path === beta.deadLock).reapable, true);
    // The reap is recorded in alpha's own store, not in beta's.
    assert.ok(fs.readFileSync(path.join(alpha.dir, '.ledgerlock', 'telemetry.jsonl'), 'utf8').includes('STALE_LOCK_RECOVERY'));
    const betaTelemetry = path.join(beta.dir, '.ledgerlock', 'telemetry.jsonl');
    assert.ok(!fs.existsSync(betaTelemetry) || !fs.readFileSync(betaTelemetry, 'utf8').includes(alpha.deadLock));
  });

  it('repairing a ledger in one folder cuts nothing in the other, and quarantines in its own store', async () => {
    const betaBefore = fs.readFileSync(beta.tornLedger);
    const result = await vscode.commands.executeCommand('ledgerlock.repairTail', alpha.tornLedger, { confirmed: true });
    assert.equal(result.ok, true, result.message);
    assert.ok(fs.readFileSync(alpha.tornLedger, 'utf8').endsWith('\n'));
    assert.ok(fs.readdirSync(alpha.quarantine).length > 0, 'alpha\'s cut bytes are in alpha\'s quarantine');
    assert.deepEqual(fs.readFileSync(beta.tornLedger), betaBefore, 'beta\'s torn ledger is untouched');
    const state = await ll.state.waitFor((s) => s.folders.find((f) => f.ledgers.some((l) => l.path === alpha.tornLedger))?.ledgers.find((l) => l.path === alpha.tornLedger)?.health === 'ok', 15_000);
    const betaLedger = state.folders.flatMap((f) => f.ledgers).find((l) => l.path === beta.tornLedger);
    assert.equal(betaLedger.health, 'torn');
    await until(`status bar shows only beta's problems (last: ${ll.status.text})`, () => ll.status.text === '$(error) 1 torn ledger, 1 stale lock');
  });
});
