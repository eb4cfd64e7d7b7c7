import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { storeWorkspace, tempDir } from '../fixtures/workspace.mjs';

const require = createRequire(import.meta.url);
const e = require('../../dist/engine.js');
const CHILD = fileURLToPath(new URL('../fixtures/snapshot-child/run.cjs', import.meta.url));

async function workspace() {
  const { root } = await storeWorkspace({ prefix: 'll-reloc-' });
  const ids = [];
  for (let i = 0; i < 3; i++) {
    fs.writeFileSync(path.join(root, '.ledgerlock', 'state', `doc${i}.json`), JSON.stringify({ i, body: 'z'.repeat(100 * i) }));
    ids.push((await e.createSnapshot(root)).manifest.id);
  }
  const target = path.join(tempDir(undefined, 'll-reloc-target-'), 'blobs');
  return { root, ids, target, source: path.join(root, '.ledgerlock', 'blobs') };
}
const config = (root) => e.readBlobsConfig(e.snapshotPaths(root));
const blobCount = async (dir) => (await new e.BlobStore(dir).list()).length;

function runChild(spec) {
  const r = spawnSync(process.execPath, [CHILD, JSON.stringify(spec)], { encoding: 'utf8', timeout: 30_000 });
  const line = r.stdout.trim().split('\n').filter(Boolean).pop();
  return { signal: r.signal, out: line ? JSON.parse(line) : null, stderr: r.stderr };
}
function runChildAsync(spec) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CHILD, JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('close', () => resolve(JSON.parse(out.trim().split('\n').pop())));
  });
}
function ageEmptyLocks(root) {
  const dir = path.join(root, '.ledgerlock', 'locks');
  const old = new Date(Date.now() - 60_000);
  for (const name of fs.readdirSync(dir)) {
    if (fs.statSync(path.join(dir, name)).size === 0) fs.utimesSync(path.join(dir, name), old, old);
  }
}

test('relocation copies and verifies every blob, then flips the config; snapshots restore from the new place', async () => {
  const { root, ids, target, source } = await workspace();
  const count = await blobCount(source);
  const result = await e.relocateBlobs(root, target);
  assert.equal(result.copied, count);
  assert.equal(result.verified, count);
  assert.equal((await config(root)).root, target);
  assert.equal((await config(root)).relocation, undefined);
  assert.equal(await blobCount(source), count, 'the source is kept unless removal is asked for');
  fs.rmSync(source, { recursive: true });
  assert.equal((await e.verifySnapshots(root)).ok, true);
  await e.restoreSnapshot(root, ids[0], { backup: false });
  assert.deepEqual(fs.readdirSync(path.join(root, '.ledgerlock', 'state')), ['doc0.json']);
  assert.ok((await blobCount(target)) > count - 1);
});

test('relocating again to the same place is a no-op, and removing the source happens only after verification', async () => {
  const { root, target, source } = await workspace();
  await e.relocateBlobs(root, target, { removeSource: true });
  assert.equal(await blobCount(source), 0);
  assert.equal((await e.relocateBlobs(root, target)).alreadyThere, true);
  assert.equal((await e.verifySnapshots(root)).ok, true);
});

test('a corrupt source blob stops the relocation before the flip; relocating back to the source cancels it', async () => {
  const { root, target, source } = await workspace();
  const [victim] = await new e.BlobStore(source).list();
  fs.writeFileSync(victim.path, 'not what it should be');
  await assert.rejects(e.relocateBlobs(root, target, { telemetry: false }), { code: 'E_BLOB_CORRUPT' });
  const pending = await config(root);
  assert.equal(pending.root, source, 'the config has not flipped');
  assert.equal(pending.relocation.to, target);
  await assert.rejects(e.relocateBlobs(root, path.join(target, '..', 'elsewhere')), { code: 'E_RELOCATION_CONFLICT' });
  assert.equal((await e.relocateBlobs(root, source)).cancelled, true);
  assert.deepEqual(await config(root), { format: 'ledgerlock-blobs', version: 1, root: source });
});

test('kill -9 at every disk mutation of a relocation loses nothing referenced, and a re-run finishes it', async () => {
  const probe = await workspace();
  const counted = runChild({ op: 'relocate', root: probe.root, target: probe.target, options: { removeSource: true } });
  assert.equal(counted.out?.ok, true, counted.stderr);
  const total = counted.out.mutations;
  const points = total <= 30 ? Array.from({ length: total }, (_, i) => i + 1) : Array.from({ length: 30 }, (_, i) => 1 + Math.round((i * (total - 1)) / 29));
  for (const n of new Set(points)) {
    const { root, target, source, ids } = await workspace();
    const r = runChild({ op: 'relocate', root, target, options: { removeSource: true }, killAfter: n });
    assert.equal(r.signal, 'SIGKILL', `killed before mutation ${n}/${total}`);
    ageEmptyLocks(root);
    const atCrash = await e.verifySnapshots(root, { telemetry: false });
    assert.equal(atCrash.ok, true, `nothing referenced is lost at mutation ${n}/${total}: ${JSON.stringify(atCrash.problems)}`);
    await e.relocateBlobs(root, target, { removeSource: true });
    assert.deepEqual(await config(root), { format: 'ledgerlock-blobs', version: 1, root: target }, `after mutation ${n}`);
    assert.equal(await blobCount(source), 0);
    assert.equal((await e.verifySnapshots(root)).snapshots.length, ids.length);
    assert.equal((await e.verifySnapshots(root)).ok, true);
  }
});

test('a crashed relocation found at start-up is resumed by exactly one of several processes', async () => {
  const probe = await workspace();
  const total = runChild({ op: 'relocate', root: probe.root, target: probe.target }).out.mutations;
  for (const fraction of [0.3, 0.6]) {
    const { root, target } = await workspace();
    const r = runChild({ op: 'relocate', root, target, killAfter: Math.max(2, Math.floor(total * fraction)) });
    assert.equal(r.signal, 'SIGKILL');
    ageEmptyLocks(root);
    assert.ok((await config(root)).relocation, 'the crash left a relocation pending');
    const results = await Promise.all([1, 2, 3].map(() => runChildAsync({ op: 'resume', root })));
    assert.ok(results.every((x) => x.ok), JSON.stringify(results));
    assert.equal(results.filter((x) => x.result !== null).length, 1, JSON.stringify(results.map((x) => x.result)));
    assert.equal(results.find((x) => x.result !== null).result.resumed, true);
    assert.deepEqual(await config(root), { format: 'ledgerlock-blobs', version: 1, root: target });
    assert.equal((await e.verifySnapshots(root)).ok, true);
  }
});
