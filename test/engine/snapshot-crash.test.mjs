// kill -9 at every point (or an even sample of points) where create, restore and GC touch the
// disk, in a real child process; then check that nothing a snapshot references was lost and
// that running the operation again completes it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { storeWorkspace } from '../fixtures/workspace.mjs';

const require = createRequire(import.meta.url);
const e = require('../../dist/engine.js');
const CHILD = fileURLToPath(new URL('../fixtures/snapshot-child/run.cjs', import.meta.url));
const MAX_POINTS = 24;

export function runChild(spec) {
  const r = spawnSync(process.execPath, [CHILD, JSON.stringify(spec)], { encoding: 'utf8', timeout: 30_000 });
  const line = r.stdout.trim().split('\n').filter(Boolean).pop();
  return { signal: r.signal, status: r.status, out: line ? JSON.parse(line) : null, stderr: r.stderr };
}

/** Every kill point when there are few, else an even spread that includes the first and last. */
function killPoints(total) {
  if (total <= MAX_POINTS) return Array.from({ length: total }, (_, i) => i + 1);
  return [...new Set(Array.from({ length: MAX_POINTS }, (_, i) => 1 + Math.round((i * (total - 1)) / (MAX_POINTS - 1))))];
}

const A = { 'a.json': '{"a":1}\n', 'b.json': '{"b":"two"}\n', 'c.json': JSON.stringify({ c: 'x'.repeat(5000) }) };
const statePath = (root, name) => path.join(root, '.ledgerlock', 'state', name);

const workspace = async (docs = A) => (await storeWorkspace({ prefix: 'll-crash-', docs, seed: 'SEEDED' })).root;

function stateOf(root) {
  const dir = path.join(root, '.ledgerlock', 'state');
  return Object.fromEntries(fs.readdirSync(dir).filter((n) => n.endsWith('.json') && !n.startsWith('.')).sort().map((n) => [n, fs.readFileSync(path.join(dir, n), 'utf8')]));
}

/**
 * A kill between creating a lock file and writing it leaves a zero-byte lock, which is reaped
 * only once it is 10 s old; age such locks instead of waiting.
 */
export function ageEmptyLocks(root) {
  const dir = path.join(root, '.ledgerlock', 'locks');
  const old = new Date(Date.now() - 60_000);
  for (const name of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
    const file = path.join(dir, name);
    if (fs.statSync(file).isFile() && fs.statSync(file).size === 0) fs.utimesSync(file, old, old);
  }
}

async function assertNothingReferencedLost(root, when) {
  const v = await e.verifySnapshots(root, { telemetry: false });
  assert.equal(v.ok, true, `${when}: ${JSON.stringify(v.problems.concat(v.unreadable))}`);
}

async function sweep(name, setup, spec, after) {
  const probe = await setup();
  const counted = runChild({ ...spec(probe), root: probe.root });
  assert.equal(counted.out?.ok, true, `${name} runs cleanly without a kill: ${counted.stderr}${JSON.stringify(counted.out)}`);
  const points = killPoints(counted.out.mutations);
  let killed = 0;
  for (const n of points) {
    const world = await setup();
    const r = runChild({ ...spec(world), root: world.root, killAfter: n });
    if (r.signal === 'SIGKILL') killed++;
    ageEmptyLocks(world.root);
    await after(world, `${name} killed before mutation ${n}/${counted.out.mutations}`);
  }
  assert.ok(killed >= points.length - 1, `the child was really killed (${killed} of ${points.length})`);
}

test('kill -9 during snapshot create loses nothing referenced, and a re-run creates a complete snapshot', async () => {
  await sweep('create', async () => ({ root: await workspace() }), () => ({ op: 'create' }), async ({ root }, when) => {
    await assertNothingReferencedLost(root, when);
    const { manifest } = await e.createSnapshot(root);
    assert.deepEqual(manifest.files.map((f) => f.path.split('/').pop()), Object.keys(A), when);
    await e.collectGarbage(root, { graceMs: 0 }); // a crashed create's unreferenced blobs may go; referenced ones must stay
    await assertNothingReferencedLost(root, `${when}, after GC`);
    assert.deepEqual((await e.diffSnapshot(root, manifest.id)).files, [], when);
  });
});

test('kill -9 during restore loses nothing referenced, and a re-run leaves exactly the snapshot\'s state', async () => {
  const setup = async () => {
    const root = await workspace();
    const { manifest } = await e.createSnapshot(root);
    fs.writeFileSync(statePath(root, 'a.json'), '{"a":"changed"}\n');
    fs.unlinkSync(statePath(root, 'b.json'));
    fs.writeFileSync(statePath(root, 'extra.json'), '{"extra":true}\n');
    return { root, id: manifest.id };
  };
  await sweep('restore', setup, ({ id }) => ({ op: 'restore', snapshot: id }), async ({ root, id }, when) => {
    await assertNothingReferencedLost(root, when);
    await e.restoreSnapshot(root, id);
    assert.deepEqual(stateOf(root), A, when);
    const ledger = await e.openLedger(path.join(root, '.ledgerlock', 'ledgers', 'events.jsonl'), { create: false, telemetry: false });
    try {
      const report = await ledger.verify();
      assert.equal(report.health, 'ok', when);
      assert.ok((await ledger.tail(10)).some((ev) => ev.type === 'SNAPSHOT_RESTORED' && ev.data.snapshot === id), when);
    } finally {
      await ledger.close();
    }
  });
});

test('kill -9 during GC loses nothing referenced, and a re-run sweeps every unreferenced old blob', async () => {
  const setup = async () => {
    const root = await workspace();
    const first = await e.createSnapshot(root);
    fs.writeFileSync(statePath(root, 'a.json'), '{"a":"second"}\n');
    fs.writeFileSync(statePath(root, 'd.json'), '{"d":4}\n');
    await e.createSnapshot(root);
    await e.deleteSnapshot(root, first.manifest.id);
    const blobs = await e.openBlobStore(e.snapshotPaths(root));
    for (let i = 0; i < 4; i++) await blobs.put(Buffer.from(`orphan ${i}`)); // as a crashed create leaves them
    return { root };
  };
  await sweep('gc', setup, () => ({ op: 'gc', options: { graceMs: 0 } }), async ({ root }, when) => {
    await assertNothingReferencedLost(root, when);
    await e.collectGarbage(root, { graceMs: 0 });
    await assertNothingReferencedLost(root, `${when}, after the re-run`);
    const paths = e.snapshotPaths(root);
    const manifests = await Promise.all((await e.listSnapshots(paths)).snapshots.map((s) => e.readSnapshot(paths, s.id)));
    const referenced = new Set(manifests.flatMap((m) => m.files.map((f) => f.sha256)));
    const stored = (await (await e.openBlobStore(e.snapshotPaths(root))).list()).map((b) => b.hash);
    assert.deepEqual(new Set(stored), referenced, when);
  });
});
