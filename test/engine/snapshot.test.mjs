import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { storeWorkspace, tempDir } from '../fixtures/workspace.mjs';

const require = createRequire(import.meta.url);
const e = require('../../dist/engine.js');

const workspace = async (docs = { 'a.json': '{"a":1}\n', 'b.json': '{"b":2}\n' }) => (await storeWorkspace({ prefix: 'll-snap-', docs })).root;
const statePath = (root, name) => path.join(root, '.ledgerlock', 'state', name);
const read = (file) => fs.readFileSync(file, 'utf8');

async function events(root) {
  const ledger = await e.openLedger(path.join(root, '.ledgerlock', 'ledgers', 'events.jsonl'), { create: false, telemetry: false });
  try {
    return await ledger.tail(100);
  } finally {
    await ledger.close();
  }
}

test('a snapshot captures the state documents and ledger positions into a manifest, and becomes current', async () => {
  const root = await workspace();
  const ledger = await e.openLedger(path.join(root, '.ledgerlock', 'ledgers', 'events.jsonl'), { telemetry: false });
  await ledger.append('HELLO', { n: 1 });
  const last = await ledger.append('HELLO', { n: 2 });
  await ledger.close();

  const { manifest, path: file } = await e.createSnapshot(root, { label: 'first' });
  assert.deepEqual(manifest.files.map((f) => f.path), ['.ledgerlock/state/a.json', '.ledgerlock/state/b.json']);
  assert.equal(file, path.join(root, '.ledgerlock', 'snapshots', `${manifest.id}.json`));
  assert.deepEqual(e.parseManifest(fs.readFileSync(file)), manifest);
  const events = manifest.ledgers.find((l) => l.name === 'events');
  assert.equal(events.lastId, last.id);
  assert.equal(events.crc, last.crc);
  assert.equal(await e.readCurrent(e.snapshotPaths(root)), manifest.id);
  const { snapshots } = await e.listSnapshots(e.snapshotPaths(root));
  assert.deepEqual(snapshots.map((s) => [s.id, s.label, s.files, s.current]), [[manifest.id, 'first', 2, true]]);
});

test('extra globs capture workspace files; ".." and absolute globs are refused with E_PATH_TRAVERSAL', async () => {
  const root = await workspace();
  fs.mkdirSync(path.join(root, 'config', 'deep'), { recursive: true });
  fs.writeFileSync(path.join(root, 'config', 'app.yaml'), 'x: 1\n');
  fs.writeFileSync(path.join(root, 'config', 'deep', 'more.yaml'), 'y: 2\n');
  const { manifest } = await e.createSnapshot(root, { include: ['config/**/*.yaml'] });
  assert.deepEqual(manifest.files.map((f) => f.path).filter((p) => p.startsWith('config')), ['config/app.yaml', 'config/deep/more.yaml']);
  for (const bad of ['../outside/*.json', '/etc/*', 'config/../../x']) {
    await assert.rejects(e.createSnapshot(root, { include: [bad] }), { code: 'E_PATH_TRAVERSAL' }, bad);
  }
});

test('a symlink that leaves the workspace is refused with E_PATH_OUTSIDE_ROOT and no snapshot is written', async () => {
  const root = await workspace();
  const outside = tempDir(undefined, 'll-outside-');
  fs.writeFileSync(path.join(outside, 'secret.json'), '{"secret":true}');
  fs.symlinkSync(path.join(outside, 'secret.json'), statePath(root, 'link.json'));
  await assert.rejects(e.createSnapshot(root), { code: 'E_PATH_OUTSIDE_ROOT' });
  assert.deepEqual((await e.listSnapshots(e.snapshotPaths(root))).snapshots, []);
});

test('the store\'s own ledgers, blobs and manifests are never captured by a broad glob', async () => {
  const root = await workspace();
  await e.createSnapshot(root);
  const { manifest } = await e.createSnapshot(root, { include: ['**/*'] });
  assert.ok(manifest.files.every((f) => !f.path.startsWith('.ledgerlock/') || f.path.startsWith('.ledgerlock/state/')), JSON.stringify(manifest.files));
});

test('diff against now reports modified, removed and added files and appended ledgers', async () => {
  const root = await workspace();
  const before = await e.openLedger(path.join(root, '.ledgerlock', 'ledgers', 'events.jsonl'), { telemetry: false });
  await before.append('EARLIER', {});
  await before.close();
  const { manifest } = await e.createSnapshot(root);
  assert.deepEqual((await e.diffSnapshot(root, 'current')).files, []);
  fs.writeFileSync(statePath(root, 'a.json'), '{"a":99}\n');
  fs.unlinkSync(statePath(root, 'b.json'));
  fs.writeFileSync(statePath(root, 'c.json'), '{}');
  const ledger = await e.openLedger(path.join(root, '.ledgerlock', 'ledgers', 'events.jsonl'), { telemetry: false });
  await ledger.append('LATER', {});
  await ledger.close();
  const audit = await e.openLedger(path.join(root, '.ledgerlock', 'ledgers', 'audit.jsonl'), { telemetry: false });
  await audit.append('NEW', {});
  await audit.close();
  const diff = await e.diffSnapshot(root, manifest.id);
  assert.deepEqual(diff.files.map((f) => [f.path, f.change]), [
    ['.ledgerlock/state/a.json', 'modified'],
    ['.ledgerlock/state/b.json', 'removed'],
    ['.ledgerlock/state/c.json', 'added'],
  ]);
  assert.equal(diff.unchangedFiles, 0);
  assert.deepEqual(diff.ledgers.map((l) => [l.name, l.change]), [['events', 'appended'], ['audit', 'new']]);
});

test('restore brings back every file, removes files the snapshot lacked, backs up the current state, and records SNAPSHOT_RESTORED', async () => {
  const root = await workspace();
  fs.chmodSync(statePath(root, 'a.json'), 0o600);
  const { manifest } = await e.createSnapshot(root);
  fs.writeFileSync(statePath(root, 'a.json'), '{"a":"changed"}\n');
  fs.unlinkSync(statePath(root, 'b.json'));
  fs.writeFileSync(statePath(root, 'new.json'), '{"new":1}\n');

  const result = await e.restoreSnapshot(root, manifest.id);
  assert.deepEqual(result.written.sort(), ['.ledgerlock/state/a.json', '.ledgerlock/state/b.json']);
  assert.deepEqual(result.removed, ['.ledgerlock/state/new.json']);
  assert.equal(read(statePath(root, 'a.json')), '{"a":1}\n');
  assert.equal(read(statePath(root, 'b.json')), '{"b":2}\n');
  assert.equal(fs.statSync(statePath(root, 'a.json')).mode & 0o777, 0o600);
  assert.equal(fs.existsSync(statePath(root, 'new.json')), false);
  assert.equal(await e.readCurrent(e.snapshotPaths(root)), manifest.id);

  const recorded = (await events(root)).filter((ev) => ev.type === 'SNAPSHOT_RESTORED');
  assert.equal(recorded.length, 1);
  assert.equal(recorded[0].id, result.eventId);
  assert.equal(recorded[0].data.snapshot, manifest.id);

  // The backup holds the state before the restore, so the restore itself can be undone.
  assert.ok(result.backup);
  await e.restoreSnapshot(root, result.backup);
  assert.equal(read(statePath(root, 'a.json')), '{"a":"changed"}\n');
  assert.equal(read(statePath(root, 'new.json')), '{"new":1}\n');
  assert.equal(fs.existsSync(statePath(root, 'b.json')), false);
});

test('restoring a snapshot with a corrupt blob changes nothing and names the blob', async () => {
  const root = await workspace();
  const { manifest } = await e.createSnapshot(root);
  fs.writeFileSync(statePath(root, 'a.json'), '{"a":"now"}\n');
  fs.writeFileSync(statePath(root, 'b.json'), '{"b":"now"}\n');
  const blobs = await e.openBlobStore(e.snapshotPaths(root), { telemetry: false });
  const victim = blobs.pathOf(manifest.files[1].sha256);
  const bytes = fs.readFileSync(victim);
  bytes[0] ^= 0x80;
  fs.writeFileSync(victim, bytes);
  await assert.rejects(e.restoreSnapshot(root, manifest.id, { telemetry: false }), (err) => err.code === 'E_BLOB_CORRUPT' && err.details.path === victim);
  assert.equal(read(statePath(root, 'a.json')), '{"a":"now"}\n');
  assert.equal(read(statePath(root, 'b.json')), '{"b":"now"}\n');
});

test('verify re-hashes every referenced blob and reports missing and corrupt ones with the files that need them', async () => {
  const root = await workspace({ 'a.json': 'A', 'b.json': 'B', 'c.json': 'C' });
  const { manifest } = await e.createSnapshot(root);
  assert.equal((await e.verifySnapshots(root)).ok, true);
  const blobs = await e.openBlobStore(e.snapshotPaths(root));
  const [a, b] = manifest.files;
  fs.unlinkSync(blobs.pathOf(a.sha256));
  const bytes = fs.readFileSync(blobs.pathOf(b.sha256));
  bytes[0] ^= 0x04;
  fs.writeFileSync(blobs.pathOf(b.sha256), bytes);
  const result = await e.verifySnapshots(root, { telemetry: false });
  assert.equal(result.ok, false);
  assert.equal(result.blobsChecked, 3);
  assert.deepEqual(result.problems.map((p) => [p.problem, p.path, p.usedBy[0].path]).sort(), [
    ['corrupt', blobs.pathOf(b.sha256), b.path],
    ['missing', blobs.pathOf(a.sha256), a.path],
  ].sort());
});

test('a snapshot id with path characters is refused before any file is touched', async () => {
  const root = await workspace();
  await assert.rejects(e.restoreSnapshot(root, '../../etc'), { code: 'E_PATH_TRAVERSAL' });
  await assert.rejects(e.diffSnapshot(root, 'a/b'), { code: 'E_PATH_TRAVERSAL' });
});

test('restore writes through a symlink inside the workspace but refuses one swapped to point outside', async () => {
  const root = await workspace();
  const { manifest } = await e.createSnapshot(root);
  const outside = tempDir(undefined, 'll-outside-');
  fs.writeFileSync(path.join(outside, 'a.json'), 'outside, untouched');
  fs.unlinkSync(statePath(root, 'a.json'));
  fs.symlinkSync(path.join(outside, 'a.json'), statePath(root, 'a.json'));
  await assert.rejects(e.restoreSnapshot(root, manifest.id), { code: 'E_PATH_OUTSIDE_ROOT' });
  assert.equal(read(path.join(outside, 'a.json')), 'outside, untouched');
});
