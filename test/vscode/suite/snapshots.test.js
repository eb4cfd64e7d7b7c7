// The Snapshots view in a trusted workspace, run after workspace.test.js on the same fixture:
// take a snapshot, change a state document, compare it in the diff editor, restore it, then
// damage a blob and watch the view, Verify and the status bar report it.
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const vscode = require('vscode');
const { api, workspacePaths, until, metric } = require('./helpers');

describe('Snapshots in a trusted workspace', () => {
  let ll;
  let id;
  const paths = workspacePaths();
  const folder = vscode.workspace.workspaceFolders[0].uri.toString();
  const stateFile = path.join(paths.store, 'state', 'settings.json');
  const original = JSON.stringify({ theme: 'dark', retries: 3 }, null, 2) + '\n';
  const snapshotsOf = (s) => s.folders.find((f) => f.uri === folder)?.snapshots ?? [];

  before(async () => {
    ll = await api();
    fs.mkdirSync(path.dirname(stateFile), { recursive: true });
    fs.writeFileSync(stateFile, original);
  });

  after(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('shows the welcome content (an empty tree) while the folder has no snapshots', async () => {
    await ll.state.waitForSnapshots((s) => s.folders.some((f) => f.uri === folder), 20_000);
    assert.deepEqual(snapshotsOf(ll.state.snapshots), []);
    assert.deepEqual(ll.snapshots.getChildren(), []);
    const welcome = vscode.extensions.getExtension('ledgerlock.ledgerlock').packageJSON.contributes.viewsWelcome.find((w) => w.view === 'ledgerlock.snapshots');
    assert.match(welcome.contents, /\[Create Snapshot\]\(command:ledgerlock\.createSnapshot\)/);
  });

  it('creates a labelled snapshot and lists it, current, with the files it holds', async () => {
    const started = Date.now();
    const result = await vscode.commands.executeCommand('ledgerlock.createSnapshot', folder, 'before the change');
    assert.equal(result.ok, true, result.message);
    id = result.id;
    const state = await ll.state.waitForSnapshots((s) => snapshotsOf(s).some((x) => x.id === id && x.current), 15_000);
    metric('Create Snapshot command until the view lists it', Date.now() - started, 'ms');
    const item = snapshotsOf(state).find((x) => x.id === id);
    assert.equal(item.label, 'before the change');
    assert.deepEqual(item.files.map((f) => f.path), ['.ledgerlock/state/settings.json']);
    const [folderNode] = ll.snapshots.getChildren();
    assert.equal(ll.snapshots.getTreeItem(folderNode).label, vscode.workspace.workspaceFolders[0].name);
    const [snapshotNode] = ll.snapshots.getChildren(folderNode);
    const treeItem = ll.snapshots.getTreeItem(snapshotNode);
    assert.equal(treeItem.label, 'before the change');
    assert.match(treeItem.description, /1 file · current$/);
    assert.equal(treeItem.contextValue, 'snapshot current');
    assert.equal(treeItem.iconPath.id, 'pass-filled');
    const [fileNode] = ll.snapshots.getChildren(snapshotNode);
    const fileItem = ll.snapshots.getTreeItem(fileNode);
    assert.equal(fileItem.label, 'settings.json');
    assert.equal(fileItem.command.command, 'ledgerlock.diffSnapshot');
  });

  it('opens VS Code\'s diff editor between the snapshot\'s copy and the changed file on disk', async () => {
    fs.writeFileSync(stateFile, JSON.stringify({ theme: 'light', retries: 5 }, null, 2) + '\n');
    const [folderNode] = ll.snapshots.getChildren();
    const [fileNode] = ll.snapshots.getChildren(ll.snapshots.getChildren(folderNode)[0]);
    const item = ll.snapshots.getTreeItem(fileNode);
    const left = await vscode.commands.executeCommand(item.command.command, ...item.command.arguments);
    assert.equal(left.scheme, 'ledgerlock-snapshot');
    const tab = await until('a diff editor tab', () => {
      const t = vscode.window.tabGroups.activeTabGroup.activeTab;
      return t && t.input instanceof vscode.TabInputTextDiff ? t : undefined;
    });
    assert.equal(tab.input.original.scheme, 'ledgerlock-snapshot');
    assert.equal(tab.input.modified.fsPath, stateFile);
    const snapshotDoc = await vscode.workspace.openTextDocument(tab.input.original);
    assert.equal(snapshotDoc.getText(), original);
    const editors = vscode.window.visibleTextEditors.map((e) => e.document.uri.toString());
    assert.ok(editors.includes(tab.input.original.toString()) && editors.includes(vscode.Uri.file(stateFile).toString()), `both sides are shown (${editors.join(', ')})`);
  });

  it('restores the snapshot: the old content is back on disk, a backup snapshot holds the new', async () => {
    const result = await vscode.commands.executeCommand('ledgerlock.restoreSnapshot', { folder, id }, { confirmed: true });
    assert.equal(result.ok, true, result.message);
    assert.deepEqual(result.written, ['.ledgerlock/state/settings.json']);
    assert.equal(fs.readFileSync(stateFile, 'utf8'), original);
    const state = await ll.state.waitForSnapshots((s) => snapshotsOf(s).length === 2 && snapshotsOf(s).find((x) => x.id === id)?.current, 15_000);
    const backup = snapshotsOf(state).find((x) => x.id !== id);
    assert.equal(backup.id, result.backup);
    assert.equal(backup.label, `before restoring ${id}`);
    const events = fs.readFileSync(paths.tornLedger, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(events[events.length - 1].type, 'SNAPSHOT_RESTORED');
  });

  it('a flipped byte in a blob is found, shown with an error icon and raises the status-bar error', async () => {
    const hash = crypto.createHash('sha256').update(original).digest('hex');
    const blob = path.join(paths.store, 'blobs', 'sha256', hash.slice(0, 2), hash.slice(2));
    const bytes = fs.readFileSync(blob);
    bytes[5] ^= 0x01;
    fs.chmodSync(blob, 0o644);
    const flipped = Date.now();
    fs.writeFileSync(blob, bytes);
    // The server's own bounded check notices from the watcher event, before anyone asks.
    await ll.state.waitForSnapshots((s) => s.folders.some((f) => f.problems.some((p) => p.hash === hash && p.problem === 'corrupt')), 20_000);
    metric('flipped blob byte until the background check reports it (watcher + debounce + re-hash)', Date.now() - flipped, 'ms');
    const verify = await vscode.commands.executeCommand('ledgerlock.verifySnapshot', { folder, id });
    assert.equal(verify.ok, false);
    assert.equal(verify.code, 'E_BLOB_CORRUPT');
    assert.equal(verify.problems.length, 1);
    assert.equal(verify.problems[0].path, blob);
    assert.deepEqual(verify.problems[0].usedBy, [{ snapshot: id, path: '.ledgerlock/state/settings.json' }]);
    await until(`status bar error (last: ${ll.status.text})`, () => /snapshot blob .* corrupt/.test(ll.status.text));
    assert.equal(ll.status.backgroundColor?.id, 'statusBarItem.errorBackground');
    const [folderNode] = ll.snapshots.getChildren();
    const node = ll.snapshots.getChildren(folderNode).find((n) => n.snapshot?.id === id);
    const item = ll.snapshots.getTreeItem(node);
    assert.equal(item.iconPath.id, 'error');
    assert.match(item.contextValue, /\bdamaged\b/);
    assert.match(item.tooltip.value, /is(&nbsp;| )corrupt/);
    const fileItem = ll.snapshots.getTreeItem(ll.snapshots.getChildren(node)[0]);
    assert.equal(fileItem.iconPath.id, 'error');
    assert.match(fileItem.tooltip, new RegExp(`corrupt.*${hash.slice(0, 12)}|${hash.slice(0, 12)}.*corrupt`));
    assert.equal(ll.snapshots.view.badge?.value, 1);
  });

  it('refuses to restore a snapshot whose blob is corrupt, changing nothing', async () => {
    fs.writeFileSync(stateFile, '{"changed":true}\n');
    const result = await vscode.commands.executeCommand('ledgerlock.restoreSnapshot', { folder, id }, { confirmed: true });
    assert.equal(result.ok, false);
    assert.equal(result.code, 'E_BLOB_CORRUPT');
    assert.equal(fs.readFileSync(stateFile, 'utf8'), '{"changed":true}\n');
  });
});
