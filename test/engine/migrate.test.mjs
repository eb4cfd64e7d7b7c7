import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempDir } from '../fixtures/workspace.mjs';

const require = createRequire(import.meta.url);
const e = require('../../dist/engine.js');
const CHILD = fileURLToPath(new URL('../fixtures/snapshot-child/run.cjs', import.meta.url));

/** A store as the first Ledgerlock release wrote it: format 1, no blobs, no snapshots. */
async function storeV1() {
  const root = tempDir(undefined, 'll-migrate-');
  const dir = path.join(root, '.ledgerlock');
  for (const sub of ['locks', 'ledgers', 'state', 'quarantine', 'tmp']) fs.mkdirSync(path.join(dir, sub), { recursive: true });
  fs.writeFileSync(path.join(dir, 'store.json'), JSON.stringify({ format: 'ledgerlock', version: 1, createdAt: '2025-01-01T00:00:00.000Z', note: 'kept' }, null, 2) + '\n');
  fs.writeFileSync(path.join(dir, 'state', 'doc.json'), '{"doc":1}');
  return root;
}
const manifestOf = (root) => JSON.parse(fs.readFileSync(path.join(root, '.ledgerlock', 'store.json'), 'utf8'));

test('a format 1 store is migrated step by step to the current version, keeping its other fields', async () => {
  const root = await storeV1();
  const result = await e.migrateStore(root);
  assert.equal(result.from, 1);
  assert.equal(result.to, e.STORE_VERSION);
  assert.deepEqual(result.steps.map((s) => [s.from, s.to]), [[1, 2]]);
  assert.equal(result.resumed, false);
  const manifest = manifestOf(root);
  assert.equal(manifest.version, e.STORE_VERSION);
  assert.equal(manifest.note, 'kept');
  assert.equal(manifest.createdAt, '2025-01-01T00:00:00.000Z');
  assert.ok(fs.statSync(path.join(root, '.ledgerlock', 'snapshots')).isDirectory());
  assert.equal(fs.existsSync(path.join(root, '.ledgerlock', 'migration.json')), false);
  assert.deepEqual((await e.migrateStore(root)).steps, [], 'a current store needs no steps');
});

test('a dry run reports the steps and writes nothing', async () => {
  const root = await storeV1();
  const before = fs.readFileSync(path.join(root, '.ledgerlock', 'store.json'));
  const result = await e.migrateStore(root, { dryRun: true });
  assert.deepEqual(result.steps.map((s) => s.from), [1]);
  assert.deepEqual(fs.readFileSync(path.join(root, '.ledgerlock', 'store.json')), before);
});

test('taking a snapshot of an older store migrates it first', async () => {
  const root = await storeV1();
  const { manifest } = await e.createSnapshot(root);
  assert.deepEqual(manifest.files.map((f) => f.path), ['.ledgerlock/state/doc.json']);
  assert.equal(manifestOf(root).version, e.STORE_VERSION);
});

test('a store newer than this code is refused with E_STORE_TOO_NEW and never rewritten', async () => {
  const root = await storeV1();
  const file = path.join(root, '.ledgerlock', 'store.json');
  fs.writeFileSync(file, JSON.stringify({ format: 'ledgerlock', version: e.STORE_VERSION + 1, createdAt: '2030-01-01T00:00:00.000Z' }));
  const before = fs.readFileSync(file);
  const mtime = fs.statSync(file).mtimeMs;
  await assert.rejects(e.migrateStore(root), { code: 'E_STORE_TOO_NEW' });
  await assert.rejects(e.createSnapshot(root), { code: 'E_STORE_TOO_NEW' });
  await assert.rejects(e.collectGarbage(root), { code: 'E_STORE_TOO_NEW' });
  assert.deepEqual(fs.readFileSync(file), before);
  assert.equal(fs.statSync(file).mtimeMs, mtime);
  assert.equal(fs.existsSync(path.join(root, '.ledgerlock', 'snapshots')), false);
});

test('kill -9 at every disk mutation of a migration, then a re-run: the store ends current and nothing is lost', async () => {
  const run = (root, killAfter) => spawnSync(process.execPath, [CHILD, JSON.stringify({ op: 'migrate', root, killAfter })], { encoding: 'utf8', timeout: 30_000 });
  const probe = run(await storeV1());
  const total = JSON.parse(probe.stdout.trim()).mutations;
  assert.ok(total > 3, probe.stdout + probe.stderr);
  let resumedSeen = false;
  for (let n = 1; n <= total; n++) {
    const root = await storeV1();
    const r = run(root, n);
    assert.equal(r.signal, 'SIGKILL', `killed before mutation ${n}`);
    const old = new Date(Date.now() - 60_000);
    for (const lock of fs.readdirSync(path.join(root, '.ledgerlock', 'locks'))) {
      const file = path.join(root, '.ledgerlock', 'locks', lock);
      if (fs.statSync(file).size === 0) fs.utimesSync(file, old, old); // an empty lock from a crash is reaped once 10 s old
    }
    // At the crash point the manifest is one whole version or the next, never a mix.
    assert.ok([1, 2].includes(manifestOf(root).version), `store.json readable after a kill before mutation ${n}`);
    const result = await e.migrateStore(root);
    resumedSeen ||= result.resumed;
    assert.equal(manifestOf(root).version, e.STORE_VERSION);
    assert.equal(manifestOf(root).note, 'kept');
    assert.equal(fs.readFileSync(path.join(root, '.ledgerlock', 'state', 'doc.json'), 'utf8'), '{"doc":1}');
    assert.equal(fs.existsSync(path.join(root, '.ledgerlock', 'migration.json')), false);
    assert.ok(fs.statSync(path.join(root, '.ledgerlock', 'snapshots')).isDirectory());
  }
  assert.ok(resumedSeen, 'some crash points left a migration that the re-run reported as resumed');
});
