// `.ledgerlock/blobs.json` is workspace content, so a cloned repository may name any directory
// as its blob store. A blob root outside the workspace is used only when its owner file (written
// by `relocate`, a person's act) names this workspace; GC, snapshots, restores and relocations
// never read, write or remove blobs anywhere else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const require = createRequire(import.meta.url);
const e = require('../../dist/engine.js');

function tempRoot(t, prefix) {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), prefix)));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A workspace with two snapshots whose blobs live in its own store. */
async function project(t, prefix) {
  const root = tempRoot(t, prefix);
  await e.ensureStore(root);
  for (let i = 0; i < 2; i++) {
    fs.writeFileSync(path.join(root, '.ledgerlock', 'state', `doc${i}.json`), JSON.stringify({ i }));
    await e.createSnapshot(root, { telemetry: false });
  }
  return { root, blobs: path.join(root, '.ledgerlock', 'blobs') };
}

/** Every file under `dir` with its bytes, to prove nothing there changed. */
function tree(dir) {
  const out = {};
  const walk = (d) => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, entry.name);
      if (entry.isDirectory()) walk(p);
      else out[path.relative(dir, p)] = fs.readFileSync(p).toString('base64');
    }
  };
  walk(dir);
  return out;
}

function writeConfig(root, config) {
  fs.writeFileSync(path.join(root, '.ledgerlock', 'blobs.json'), JSON.stringify({ format: 'ledgerlock-blobs', version: 1, ...config }));
}

test('a blobs.json naming another project\'s blob store: GC, snapshot, verify, restore and relocate are refused with E_PATH_OUTSIDE_ROOT, and that store is untouched', async (t) => {
  const victim = await project(t, 'll-victim-');
  const before = tree(victim.blobs);
  const hostile = tempRoot(t, 'll-hostile-');
  await e.ensureStore(hostile);
  writeConfig(hostile, { root: victim.blobs });
  // With no snapshots of its own, every blob of the victim would be "unreferenced".
  const err = await e.collectGarbage(hostile, { graceMs: 0, telemetry: false }).catch((x) => x);
  assert.equal(err.code, 'E_PATH_OUTSIDE_ROOT');
  assert.match(err.message, /outside the workspace/);
  assert.match(err.message, /blobs\.json/);
  await assert.rejects(e.createSnapshot(hostile, { telemetry: false }), { code: 'E_PATH_OUTSIDE_ROOT' });
  await assert.rejects(e.verifySnapshots(hostile, { telemetry: false }), { code: 'E_PATH_OUTSIDE_ROOT' });
  await assert.rejects(e.relocateBlobs(hostile, path.join(hostile, 'elsewhere'), { removeSource: true, telemetry: false }), { code: 'E_PATH_OUTSIDE_ROOT' });
  assert.deepEqual(tree(victim.blobs), before);
  // The victim itself is unaffected.
  assert.equal((await e.verifySnapshots(victim.root, { telemetry: false })).ok, true);
});

test('a recorded relocation whose source is another project\'s blob store is never resumed: nothing there is removed', async (t) => {
  const victim = await project(t, 'll-victim-');
  const before = tree(victim.blobs);
  const hostile = tempRoot(t, 'll-hostile-');
  await e.ensureStore(hostile);
  // The target holds a copy of every blob, so "removing-source" would delete the victim's.
  const target = path.join(hostile, '.ledgerlock', 'blobs');
  fs.cpSync(victim.blobs, target, { recursive: true });
  writeConfig(hostile, {
    root: target,
    relocation: { from: victim.blobs, to: target, phase: 'removing-source', removeSource: true, startedAt: new Date().toISOString() },
  });
  // Any mutating operation resumes an unfinished relocation first.
  await assert.rejects(e.createSnapshot(hostile, { telemetry: false }), { code: 'E_PATH_OUTSIDE_ROOT' });
  await assert.rejects(e.resumeRelocation(hostile, { telemetry: false }), { code: 'E_PATH_OUTSIDE_ROOT' });
  assert.deepEqual(tree(victim.blobs), before);
});

test('relocate outside the workspace writes an owner file there; the owner uses it, a copy of the workspace may not, and the store cannot be claimed twice', async (t) => {
  const owner = await project(t, 'll-owner-');
  const outside = path.join(tempRoot(t, 'll-shared-'), 'blobs');
  await e.relocateBlobs(owner.root, outside, { telemetry: false });
  const claim = JSON.parse(fs.readFileSync(path.join(outside, e.BLOB_OWNER_FILE), 'utf8'));
  assert.equal(claim.workspace, owner.root);
  assert.equal((await e.verifySnapshots(owner.root, { telemetry: false })).ok, true);
  await e.createSnapshot(owner.root, { telemetry: false });
  assert.deepEqual((await e.collectGarbage(owner.root, { telemetry: false })).swept, []);

  // A copy of the workspace (a clone, a copied folder) carries blobs.json but is not the owner.
  const copy = tempRoot(t, 'll-copy-');
  fs.cpSync(path.join(owner.root, '.ledgerlock'), path.join(copy, '.ledgerlock'), { recursive: true });
  fs.rmSync(path.join(copy, '.ledgerlock', 'snapshots'), { recursive: true });
  const before = tree(outside);
  const err = await e.collectGarbage(copy, { graceMs: 0, telemetry: false }).catch((x) => x);
  assert.equal(err.code, 'E_PATH_OUTSIDE_ROOT');
  assert.match(err.message, new RegExp(`belongs to ${owner.root.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  assert.deepEqual(tree(outside), before);

  // Another workspace may not relocate into a store that already belongs to someone.
  const other = await project(t, 'll-other-');
  await assert.rejects(e.relocateBlobs(other.root, outside, { telemetry: false }), { code: 'E_RELOCATION_CONFLICT' });
  assert.deepEqual(tree(outside), before);
});

test('an outside directory that already holds blobs nobody claimed is not adopted by relocate', async (t) => {
  const a = await project(t, 'll-a-');
  const unclaimed = path.join(tempRoot(t, 'll-unclaimed-'), 'blobs');
  fs.cpSync(a.blobs, unclaimed, { recursive: true });
  const before = tree(unclaimed);
  const b = await project(t, 'll-b-');
  await assert.rejects(e.relocateBlobs(b.root, unclaimed, { removeSource: true, telemetry: false }), { code: 'E_RELOCATION_CONFLICT' });
  assert.deepEqual(tree(unclaimed), before);
  assert.equal((await e.verifySnapshots(b.root, { telemetry: false })).ok, true);
});

test('a blob root inside the workspace needs no owner file, also when reached through a symlink that stays inside', async (t) => {
  const p = await project(t, 'll-inside-');
  const inside = path.join(p.root, 'cache', 'blobs');
  await e.relocateBlobs(p.root, inside, { telemetry: false });
  assert.equal(fs.existsSync(path.join(inside, e.BLOB_OWNER_FILE)), false);
  fs.symlinkSync(path.join(p.root, 'cache'), path.join(p.root, 'cache-link'));
  writeConfig(p.root, { root: path.join(p.root, 'cache-link', 'blobs') });
  assert.equal((await e.verifySnapshots(p.root, { telemetry: false })).ok, true);
  // A symlink inside the workspace that leads out of it does not make an outside store "inside".
  const victim = await project(t, 'll-victim-');
  fs.symlinkSync(victim.root, path.join(p.root, 'escape'));
  writeConfig(p.root, { root: path.join(p.root, 'escape', '.ledgerlock', 'blobs') });
  await assert.rejects(e.collectGarbage(p.root, { graceMs: 0, telemetry: false }), { code: 'E_PATH_OUTSIDE_ROOT' });
});

test('relocate --claim: a moved workspace takes its outside blob store back once every blob its snapshots need is there; never from a workspace that still exists', async (t) => {
  const original = await project(t, 'll-moving-');
  const outside = path.join(tempRoot(t, 'll-store-'), 'blobs');
  await e.relocateBlobs(original.root, outside, { removeSource: true, telemetry: false });
  // A copy of the workspace while the original still exists: refused, nothing written.
  const copy = tempRoot(t, 'll-copied-');
  fs.cpSync(path.join(original.root, '.ledgerlock'), path.join(copy, '.ledgerlock'), { recursive: true });
  const before = tree(outside);
  const err = await e.claimBlobStore(copy, { telemetry: false }).catch((x) => x);
  assert.equal(err.code, 'E_RELOCATION_CONFLICT');
  assert.match(err.message, /still exists/);
  assert.deepEqual(tree(outside), before);
  // The original moved away: its old path is gone, so the copy (the moved workspace) may claim it.
  const moved = `${original.root}-moved`;
  fs.renameSync(original.root, moved);
  t.after(() => fs.rmSync(moved, { recursive: true, force: true }));
  await assert.rejects(e.verifySnapshots(moved, { telemetry: false }), { code: 'E_PATH_OUTSIDE_ROOT' });
  const claimed = await e.claimBlobStore(moved, { telemetry: false });
  assert.equal(claimed.alreadyOurs, false);
  assert.equal(claimed.previousOwner, original.root);
  assert.ok(claimed.verified > 0);
  assert.equal((await e.verifySnapshots(moved, { telemetry: false })).ok, true);
  assert.equal((await e.claimBlobStore(moved, { telemetry: false })).alreadyOurs, true);
  // Now the copy cannot take it: its owner (the moved workspace) exists.
  await assert.rejects(e.claimBlobStore(copy, { telemetry: false }), { code: 'E_RELOCATION_CONFLICT' });
});

test('relocate --claim refuses another workspace\'s own .ledgerlock store, and a store missing a blob the snapshots need', async (t) => {
  const victim = await project(t, 'll-victim-');
  const before = tree(victim.blobs);
  const hostile = tempRoot(t, 'll-hostile-');
  fs.cpSync(path.join(victim.root, '.ledgerlock'), path.join(hostile, '.ledgerlock'), { recursive: true });
  fs.rmSync(path.join(hostile, '.ledgerlock', 'blobs'), { recursive: true });
  writeConfig(hostile, { root: victim.blobs });
  const err = await e.claimBlobStore(hostile, { telemetry: false }).catch((x) => x);
  assert.equal(err.code, 'E_RELOCATION_CONFLICT');
  assert.match(err.message, /another workspace's \.ledgerlock/);
  assert.deepEqual(tree(victim.blobs), before);
  // A store relocated before owner files existed (no owner file), missing one needed blob.
  const legacy = path.join(tempRoot(t, 'll-legacy-'), 'blobs');
  fs.cpSync(victim.blobs, legacy, { recursive: true });
  const [gone] = await new e.BlobStore(legacy).list();
  fs.rmSync(gone.path);
  writeConfig(victim.root, { root: legacy });
  await assert.rejects(e.claimBlobStore(victim.root, { telemetry: false }), { code: 'E_RELOCATION_CONFLICT' });
  assert.equal(fs.existsSync(path.join(legacy, e.BLOB_OWNER_FILE)), false);
  // With the blob back it is claimed, and used.
  fs.cpSync(path.join(victim.blobs, path.relative(legacy, gone.path)), gone.path);
  assert.equal((await e.claimBlobStore(victim.root, { telemetry: false })).verified > 0, true);
  assert.equal((await e.verifySnapshots(victim.root, { telemetry: false })).ok, true);
});
