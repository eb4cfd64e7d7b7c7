// Snapshots, GC, relocation and store migration: whatever a durable manifest references is
// never lost, a restore leaves each file whole (old or snapshot version), and a crashed
// operation completes when run again.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { documentOf, lastAck, readOrUndefined, show } from './checks.mjs';

const A1 = documentOf('a1', 5000);
const B1 = documentOf('b1', 600);
const A2 = documentOf('a2', 1500);
const C2 = documentOf('c2', 900);
const LOCK = { lockTimeoutMs: 3000 };
const stateFile = (root, name) => path.join(root, '.ledgerlock', 'state', name);

async function storeWithState(root, engine, files) {
  await engine.ensureStore(root);
  for (const [name, bytes] of Object.entries(files)) fs.writeFileSync(stateFile(root, name), bytes);
}

/** Every manifest that can be read must have all its blobs, intact. */
async function snapshotsIntact(root, engine) {
  const v = await engine.verifySnapshots(root, LOCK);
  const out = v.problems.map((p) => `blob ${p.hash.slice(0, 12)} referenced by ${p.usedBy.map((u) => `${u.snapshot}:${u.path}`).join(', ')} is ${p.problem}`);
  for (const u of v.unreadable) out.push(`snapshot manifest ${path.basename(u.path)} is unreadable: ${u.message}`);
  return { out, ids: v.snapshots };
}

/** The snapshot the restore scenario restores (the restore's own backup snapshot moves `current`). */
async function goodSnapshot(root, engine) {
  const { snapshots } = await engine.listSnapshots(engine.snapshotPaths(root));
  const good = snapshots.find((s) => s.label === 'good');
  if (!good) throw new Error('the snapshot taken before the crash is gone');
  return good.id;
}

export default [
  {
    name: 'snapshot/create',
    protocol: 'snapshot create',
    requires: ['createSnapshot', 'verifySnapshots', 'openLedger', 'withLock'],
    setup: (root, engine) => storeWithState(root, engine, { 'a.json': A1, 'b.json': B1 }),
    async run(root, engine, rec) {
      const r = await engine.createSnapshot(root, LOCK);
      rec.ack('created', r.manifest.id);
    },
    async check(root, { engine, acks }) {
      const { out, ids } = await snapshotsIntact(root, engine);
      const created = lastAck(acks, 'created');
      if (created) {
        if (!ids.includes(created.value)) out.push(`acknowledged snapshot ${created.value} is gone`);
        const current = await engine.readCurrent(engine.snapshotPaths(root));
        if (current !== created.value) out.push(`current names ${current}, not the acknowledged snapshot ${created.value}`);
      }
      const again = await engine.createSnapshot(root, LOCK); // the store lock and the store must not be wedged
      // GC right after the crash sweeps the crashed create's orphans, never a durable manifest's blobs.
      await engine.collectGarbage(root, { ...LOCK, graceMs: 0 });
      out.push(...(await snapshotsIntact(root, engine)).out);
      if (!again.manifest.files.some((f) => f.path.endsWith('a.json'))) out.push('a snapshot taken after recovery misses state/a.json');
      return out;
    },
  },
  {
    name: 'snapshot/restore',
    protocol: 'snapshot restore',
    requires: ['createSnapshot', 'restoreSnapshot', 'verifySnapshots', 'openLedger', 'withLock'],
    async setup(root, engine) {
      await storeWithState(root, engine, { 'a.json': A1, 'b.json': B1 });
      await engine.createSnapshot(root, { ...LOCK, label: 'good' });
      fs.writeFileSync(stateFile(root, 'a.json'), A2);
      fs.writeFileSync(stateFile(root, 'c.json'), C2);
    },
    async run(root, engine, rec) {
      const r = await engine.restoreSnapshot(root, await goodSnapshot(root, engine), LOCK);
      rec.ack('restored', r.snapshot);
    },
    async check(root, { engine, acks }) {
      const restored = lastAck(acks, 'restored') !== undefined;
      const out = [];
      // File by file: the version before the restore or the snapshot's, never torn, never missing.
      const expect = { 'a.json': restored ? [A1] : [A2, A1], 'b.json': [B1], 'c.json': restored ? [undefined] : [C2, undefined] };
      for (const [name, allowed] of Object.entries(expect)) {
        const bytes = readOrUndefined(stateFile(root, name));
        const ok = allowed.some((v) => (v === undefined ? bytes === undefined : bytes?.equals(Buffer.from(v))));
        if (!ok) out.push(`state/${name} is ${show(bytes, { A1, A2, B1, C2 })} ${restored ? 'after' : 'during'} the restore`);
      }
      out.push(...(await snapshotsIntact(root, engine)).out);
      await engine.restoreSnapshot(root, await goodSnapshot(root, engine), LOCK); // re-running finishes the job
      if (!readOrUndefined(stateFile(root, 'a.json'))?.equals(Buffer.from(A1))) out.push('re-running the restore did not bring state/a.json back');
      if (fs.existsSync(stateFile(root, 'c.json'))) out.push('re-running the restore left state/c.json, which the snapshot did not have');
      return out;
    },
  },
  {
    name: 'snapshot/gc',
    protocol: 'snapshot GC',
    requires: ['createSnapshot', 'collectGarbage', 'deleteSnapshot', 'verifySnapshots', 'openLedger', 'withLock'],
    async setup(root, engine) {
      await storeWithState(root, engine, { 'a.json': A1, 'b.json': B1 });
      const first = await engine.createSnapshot(root, LOCK);
      fs.writeFileSync(stateFile(root, 'a.json'), A2);
      await engine.createSnapshot(root, LOCK);
      await engine.deleteSnapshot(root, first.manifest.id, LOCK); // A1's blob is garbage now
    },
    async run(root, engine, rec) {
      const r = await engine.collectGarbage(root, { ...LOCK, graceMs: 0 });
      rec.ack('swept', r.swept.length);
    },
    async check(root, { engine }) {
      const { out, ids } = await snapshotsIntact(root, engine);
      if (ids.length !== 1) out.push(`expected the one remaining snapshot, found ${ids.length}`);
      await engine.collectGarbage(root, { ...LOCK, graceMs: 0 });
      out.push(...(await snapshotsIntact(root, engine)).out);
      return out;
    },
  },
  {
    name: 'snapshot/relocate',
    protocol: 'blob relocation',
    requires: ['createSnapshot', 'relocateBlobs', 'resumeRelocation', 'verifySnapshots', 'openLedger', 'withLock'],
    async setup(root, engine) {
      await storeWithState(root, engine, { 'a.json': A1, 'b.json': B1 });
      await engine.createSnapshot(root, LOCK);
      fs.mkdirSync(path.join(root, 'elsewhere'));
    },
    async run(root, engine, rec) {
      await engine.relocateBlobs(root, path.join(root, 'elsewhere', 'blobs'), { ...LOCK, removeSource: true });
      rec.ack('relocated', true);
    },
    async check(root, { engine, acks }) {
      const { out } = await snapshotsIntact(root, engine);
      const paths = engine.snapshotPaths(root);
      const target = path.join(root, 'elsewhere', 'blobs');
      if (lastAck(acks, 'relocated')) {
        const config = await engine.readBlobsConfig(paths);
        if (config.root !== target || config.relocation) out.push(`relocation was acknowledged, but blobs.json says root ${config.root}${config.relocation ? ` with a relocation in phase ${config.relocation.phase}` : ''}`);
      }
      await engine.resumeRelocation(root, LOCK); // start-up finishes whatever was interrupted
      out.push(...(await snapshotsIntact(root, engine)).out);
      return out;
    },
  },
  {
    name: 'store/migrate',
    protocol: 'store migration',
    requires: ['migrateStore', 'withLock'],
    async setup(root, engine) {
      await engine.ensureStore(root);
      const manifest = path.join(root, '.ledgerlock', 'store.json');
      fs.writeFileSync(manifest, JSON.stringify({ ...JSON.parse(fs.readFileSync(manifest, 'utf8')), version: 1 }, null, 2) + '\n');
      for (const d of ['blobs', 'snapshots']) fs.rmSync(path.join(root, '.ledgerlock', d), { recursive: true, force: true });
    },
    async run(root, engine, rec) {
      await engine.migrateStore(root, LOCK);
      rec.ack('migrated', engine.STORE_VERSION);
    },
    async check(root, { engine, acks }) {
      const out = [];
      const paths = engine.storePaths(root);
      const before = await engine.readStoreManifest(paths);
      if (lastAck(acks, 'migrated') && before?.version !== engine.STORE_VERSION) out.push(`migration was acknowledged, but store.json says version ${before?.version}`);
      await engine.migrateStore(root, LOCK);
      const after = await engine.readStoreManifest(paths);
      if (after?.version !== engine.STORE_VERSION) out.push(`re-running the migration left version ${after?.version}`);
      for (const d of ['blobs/sha256', 'snapshots']) if (!fs.existsSync(path.join(paths.dir, d))) out.push(`.ledgerlock/${d} is missing after the migration completed`);
      return out;
    },
  },
];
