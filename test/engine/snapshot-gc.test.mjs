import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { storeWorkspace } from '../fixtures/workspace.mjs';

const require = createRequire(import.meta.url);
const e = require('../../dist/engine.js');
const CHILD = fileURLToPath(new URL('../fixtures/snapshot-child/run.cjs', import.meta.url));

const workspace = async () => (await storeWorkspace({ prefix: 'll-gc-', docs: { 'a.json': '{"a":1}' } })).root;
const ago = (ms) => new Date(Date.now() - ms);

function runChildAsync(spec) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CHILD, JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (status) => resolve({ status, out: out.trim() ? JSON.parse(out.trim().split('\n').pop()) : null, err }));
  });
}

test('GC sweeps old unreferenced blobs and keeps referenced ones and those inside the grace period', async () => {
  const root = await workspace();
  const { manifest } = await e.createSnapshot(root);
  const blobs = await e.openBlobStore(e.snapshotPaths(root));
  const oldOrphan = await blobs.put(Buffer.from('old orphan'));
  const youngOrphan = await blobs.put(Buffer.from('young orphan'));
  const referenced = blobs.pathOf(manifest.files[0].sha256);
  fs.utimesSync(oldOrphan.path, ago(2 * 3600_000), ago(2 * 3600_000));
  fs.utimesSync(referenced, ago(2 * 3600_000), ago(2 * 3600_000));

  const dry = await e.collectGarbage(root, { dryRun: true });
  assert.deepEqual(dry.swept.map((b) => b.hash), [oldOrphan.hash]);
  assert.ok(fs.existsSync(oldOrphan.path), 'a dry run removes nothing');

  const result = await e.collectGarbage(root);
  assert.deepEqual(result.swept.map((b) => b.hash), [oldOrphan.hash]);
  assert.equal(result.young, 1);
  assert.equal(fs.existsSync(oldOrphan.path), false);
  assert.ok(fs.existsSync(youngOrphan.path));
  assert.ok(fs.existsSync(referenced));
});

test('a deleted snapshot\'s blobs are swept, and blobs another snapshot shares are kept', async () => {
  const root = await workspace();
  const first = await e.createSnapshot(root);
  fs.writeFileSync(path.join(root, '.ledgerlock', 'state', 'b.json'), '{"b":2}');
  const second = await e.createSnapshot(root);
  fs.writeFileSync(path.join(root, '.ledgerlock', 'state', 'a.json'), '{"a":"later"}');
  const third = await e.createSnapshot(root);
  await e.deleteSnapshot(root, second.manifest.id);
  await e.deleteSnapshot(root, third.manifest.id);
  const result = await e.collectGarbage(root, { graceMs: 0 });
  assert.equal(result.swept.length, 2, 'b.json and the later a.json were only in deleted snapshots');
  assert.equal((await e.verifySnapshots(root)).ok, true);
  await e.restoreSnapshot(root, first.manifest.id, { backup: false });
  assert.equal(fs.readFileSync(path.join(root, '.ledgerlock', 'state', 'a.json'), 'utf8'), '{"a":1}');
});

test('GC refuses to sweep anything while a manifest cannot be read', async () => {
  const root = await workspace();
  await e.createSnapshot(root);
  const blobs = await e.openBlobStore(e.snapshotPaths(root));
  const orphan = await blobs.put(Buffer.from('orphan'));
  fs.writeFileSync(path.join(root, '.ledgerlock', 'snapshots', 'broken.json'), '{"format":"ledgerlock-snapshot", "files": [');
  await assert.rejects(e.collectGarbage(root, { graceMs: 0 }), { code: 'E_GC_REFUSED' });
  assert.ok(fs.existsSync(orphan.path));
});

test('GC running again and again beside snapshots being created never loses a referenced blob', async () => {
  const root = await workspace();
  const [creates, gcs] = await Promise.all([
    runChildAsync({ op: 'createMany', root, count: 12 }),
    runChildAsync({ op: 'gcMany', root, count: 12, options: { graceMs: 0 } }),
  ]);
  assert.equal(creates.out?.ok, true, creates.err);
  assert.equal(gcs.out?.ok, true, gcs.err);
  const verify = await e.verifySnapshots(root);
  assert.equal(verify.ok, true, JSON.stringify(verify.problems));
  assert.equal(verify.snapshots.length, 12);
});
