// The same fixture opened in restricted mode: browsing works, destructive commands are
// refused in code (the manifest also disables them) and nothing on disk changes.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const vscode = require('vscode');
const path = require('node:path');
const { api, workspacePaths, engine } = require('./helpers');

describe('Ledgerlock in an untrusted workspace', () => {
  let ll;
  const paths = workspacePaths();

  before(async () => {
    ll = await api();
  });

  it('runs in restricted mode', () => {
    assert.equal(vscode.workspace.isTrusted, false);
  });

  it('still lists locks and ledgers', async () => {
    const state = await ll.state.waitFor((s) => s.folders.some((f) => f.locks.some((l) => l.path === paths.deadLock) && f.ledgers.some((l) => l.path === paths.tornLedger && l.health === 'torn') && f.ledgers.some((l) => l.path === paths.pagedLedger)));
    assert.equal(state.folders[0].locks.find((l) => l.path === paths.deadLock).state, 'stale');
  });

  it('refuses Repair Tail and leaves the ledger as it was', async () => {
    const before = fs.readFileSync(paths.tornLedger);
    const result = await vscode.commands.executeCommand('ledgerlock.repairTail', paths.tornLedger, { confirmed: true });
    assert.equal(result.ok, false);
    assert.equal(result.code, 'E_UNTRUSTED');
    assert.deepEqual(fs.readFileSync(paths.tornLedger), before);
  });

  it('refuses Reap Lock and Compact Ledger and leaves the files as they were', async () => {
    const reap = await vscode.commands.executeCommand('ledgerlock.reapLock', paths.deadLock, { confirmed: true });
    assert.equal(reap.code, 'E_UNTRUSTED');
    assert.ok(fs.existsSync(paths.deadLock));
    const before = fs.readFileSync(paths.pagedLedger);
    const compact = await vscode.commands.executeCommand('ledgerlock.compactLedger', paths.pagedLedger, 10, { confirmed: true });
    assert.equal(compact.code, 'E_UNTRUSTED');
    assert.deepEqual(fs.readFileSync(paths.pagedLedger), before);
  });

  it('refuses Remove Lock Anyway… before it asks anything, and the lock stays', async () => {
    const removed = await vscode.commands.executeCommand('ledgerlock.removeUnknownLock', paths.deadLock, { confirmed: true });
    assert.equal(removed.code, 'E_UNTRUSTED');
    assert.ok(fs.existsSync(paths.deadLock));
  });

  it('the server refuses destructive requests too, whoever sends them', async () => {
    const client = ll.client();
    const repair = await client.sendRequest('ledgerlock/repairTail', { ledger: paths.tornLedger });
    assert.equal(repair.code, 'E_UNTRUSTED');
    const reap = await client.sendRequest('ledgerlock/reapLock', { lock: paths.deadLock });
    assert.equal(reap.code, 'E_UNTRUSTED');
    const anyway = await client.sendRequest('ledgerlock/reapLock', { lock: paths.deadLock, confirmUnknown: true });
    assert.equal(anyway.code, 'E_UNTRUSTED');
    assert.ok(fs.existsSync(paths.deadLock));
    assert.ok(!fs.readFileSync(paths.tornLedger, 'utf8').endsWith('\n'), 'still torn');
  });

  it('lists snapshots but refuses to create or restore one, in the command and in the server', async () => {
    const folder = vscode.workspace.workspaceFolders[0].uri.toString();
    const stateFile = path.join(paths.store, 'state', 'settings.json');
    fs.mkdirSync(path.dirname(stateFile), { recursive: true });
    fs.writeFileSync(stateFile, '{"theme":"dark"}\n');
    const { manifest } = await engine().createSnapshot(paths.dir, { label: 'made outside the editor' });
    fs.writeFileSync(stateFile, '{"theme":"light"}\n');
    await ll.state.waitForSnapshots((s) => s.folders.some((f) => f.snapshots.some((x) => x.id === manifest.id)), 20_000);
    const restore = await vscode.commands.executeCommand('ledgerlock.restoreSnapshot', { folder, id: manifest.id }, { confirmed: true });
    assert.equal(restore.code, 'E_UNTRUSTED');
    const direct = await ll.client().sendRequest('ledgerlock/restoreSnapshot', { folder, id: manifest.id });
    assert.equal(direct.ok, false);
    assert.equal(direct.code, 'E_UNTRUSTED');
    assert.equal(fs.readFileSync(stateFile, 'utf8'), '{"theme":"light"}\n', 'the file is unchanged');
    const create = await ll.client().sendRequest('ledgerlock/createSnapshot', { folder, label: 'x' });
    assert.equal(create.code, 'E_UNTRUSTED');
    const created = await vscode.commands.executeCommand('ledgerlock.createSnapshot', folder, 'x');
    assert.equal(created.code, 'E_UNTRUSTED');
    assert.equal((await engine().listSnapshots(engine().snapshotPaths(paths.dir))).snapshots.length, 1, 'no snapshot was added');
  });

  it('declares the destructive commands disabled in restricted mode', () => {
    const manifest = vscode.extensions.getExtension('ledgerlock.ledgerlock').packageJSON;
    for (const id of ['ledgerlock.repairTail', 'ledgerlock.reapLock', 'ledgerlock.removeUnknownLock', 'ledgerlock.compactLedger', 'ledgerlock.quarantineRecord', 'ledgerlock.createSnapshot', 'ledgerlock.restoreSnapshot']) {
      const command = manifest.contributes.commands.find((c) => c.command === id);
      assert.equal(command.enablement, 'isWorkspaceTrusted', id);
    }
    assert.equal(manifest.capabilities.untrustedWorkspaces.supported, 'limited');
  });
});
