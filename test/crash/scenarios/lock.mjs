// Locks and the JSON documents updated under them: whatever a crash leaves, the next process
// gets the lock within a short timeout (the holder is dead), and a document is never torn.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { lastAck, listFiles, readOrUndefined, show } from './checks.mjs';

const require = createRequire(import.meta.url);
const { z } = require('zod');

const lockPath = (root) => path.join(root, '.ledgerlock', 'locks', 'work.lock');
// Short waits: a lock that only a stale rule can free must be freed at once, never waited out.
const RECOVER = { timeoutMs: 3000, staleMs: 1000, telemetry: false };
const HOLD = { heartbeatMs: 600_000, telemetry: false };

async function lockIsFree(file, engine) {
  const handle = await engine.acquireLock(file, RECOVER);
  await handle.release();
  return [];
}

/** Leaves a lock held by a process that was then killed -9, as a crash would. */
function lockOfKilledHolder(file, engine) {
  const dist = require.resolve('../../../dist/engine.js');
  const script = `require(${JSON.stringify(dist)}).acquireLock(${JSON.stringify(file)}, { telemetry: false }).then(() => process.kill(process.pid, 'SIGKILL'))`;
  const child = spawnSync(process.execPath, ['-e', script]);
  if (child.signal !== 'SIGKILL' || !fs.existsSync(file)) throw new Error(`could not leave a crashed holder's lock: ${child.stderr}`);
  void engine;
}

/**
 * The same crashed holder's lock as Ledgerlock wrote it before locks named their pid namespace,
 * uid, platform and heartbeat: both record formats must be read and judged after a crash.
 */
function oldFormatLockOfKilledHolder(file, engine) {
  lockOfKilledHolder(file, engine);
  const record = JSON.parse(fs.readFileSync(file, 'utf8'));
  for (const field of ['pidns', 'uid', 'platform', 'heartbeatMs']) {
    if (!(field in record)) throw new Error(`a new lock record lacks ${field}: ${JSON.stringify(record)}`);
    delete record[field];
  }
  fs.writeFileSync(file, JSON.stringify(record) + '\n');
}

/** The killed holder's lock is moved aside when reaped, never deleted: its bytes are still somewhere in the store. */
function reapedLockKept(root, { recording }) {
  const snap = recording.snapshot;
  const original = snap.inodes.get(snap.lookup('.ledgerlock/locks/work.lock')).data;
  const kept = listFiles(path.join(root, '.ledgerlock')).some((f) => fs.readFileSync(f).equals(original));
  return kept ? [] : ["the reaped holder's lock file is gone: neither in locks/ nor in quarantine/"];
}

/** A crashed holder's lock (left by `leave`) is taken over by the next acquire, its bytes kept. */
function acquireOverStale(name, leave) {
  return {
    name,
    protocol: 'lock break (reap)',
    requires: ['acquireLock'],
    async setup(root, engine) {
      await engine.ensureStore(root);
      leave(lockPath(root), engine);
    },
    async run(root, engine, rec) {
      const handle = await engine.acquireLock(lockPath(root), { ...HOLD, timeoutMs: 3000 });
      rec.ack('acquired', true);
      await handle.release();
      rec.ack('released', true);
    },
    check: async (root, ctx) => [...reapedLockKept(root, ctx), ...(await lockIsFree(lockPath(root), ctx.engine))],
  };
}

const RegistrySchema = z.object({ entries: z.array(z.string()) });
const registry = (root) => path.join(root, '.ledgerlock', 'state', 'registry.json');

/** registry.json holds a prefix of the updates in order, at least every acknowledged one, and takes the next update. */
async function checkRegistry(root, { engine, acks }) {
  const out = [];
  const acked = acks.filter((a) => a.label === 'updated').length;
  let doc;
  try {
    doc = await engine.readJsonFile(registry(root), RegistrySchema);
  } catch (err) {
    return [`registry.json cannot be read after the crash (${err.code}): ${show(readOrUndefined(registry(root)))}`];
  }
  const all = ['e0', 'e1', 'e2', 'e3'];
  const n = doc.entries.length;
  if (doc.entries.join() !== all.slice(0, n).join()) out.push(`registry.json holds ${JSON.stringify(doc.entries)}, not a prefix of the updates in order`);
  if (n < 1 + acked) out.push(`registry.json holds ${n - 1} updates, but ${acked} were acknowledged`);
  // The next update must get the lock, whatever the crash left in locks/.
  await engine.updateJsonFile(registry(root), RegistrySchema, (d) => ({ entries: [...d.entries, 'after'] }), RECOVER);
  if (lastAck(acks, 'updated') && !(await engine.readJsonFile(registry(root), RegistrySchema)).entries.includes(lastAck(acks, 'updated').value)) {
    out.push('an acknowledged update was lost by the update after recovery');
  }
  return out;
}

export default [
  {
    name: 'lock/acquire-release',
    protocol: 'lock acquire/release',
    requires: ['acquireLock'],
    setup: (root, engine) => engine.ensureStore(root),
    async run(root, engine, rec) {
      const handle = await engine.acquireLock(lockPath(root), HOLD);
      rec.ack('acquired', true);
      await handle.release();
      rec.ack('released', true);
    },
    check: (root, { engine }) => lockIsFree(lockPath(root), engine),
  },
  {
    name: 'lock/acquire-release-sync',
    protocol: 'lock acquire/release (sync)',
    requires: ['acquireLockSync', 'withLockSync'],
    setup: (root, engine) => engine.ensureStore(root),
    async run(root, engine, rec) {
      const handle = engine.acquireLockSync(lockPath(root), HOLD);
      rec.ack('acquired', true);
      handle.releaseSync();
      rec.ack('released', true);
      engine.withLockSync(lockPath(root), () => rec.ack('inside', true), HOLD);
    },
    check: (root, { engine }) => lockIsFree(lockPath(root), engine),
  },
  {
    name: 'lock/break-stale',
    protocol: 'lock break (reap)',
    requires: ['acquireLock', 'reapLock'],
    async setup(root, engine) {
      await engine.ensureStore(root);
      lockOfKilledHolder(lockPath(root), engine);
    },
    async run(root, engine, rec) {
      const r = await engine.reapLock(lockPath(root), { telemetry: false });
      rec.ack('reaped', r.reaped ?? true);
      const handle = await engine.acquireLock(lockPath(root), HOLD);
      rec.ack('acquired', true);
      await handle.release();
      rec.ack('released', true);
    },
    check: async (root, ctx) => [...reapedLockKept(root, ctx), ...(await lockIsFree(lockPath(root), ctx.engine))],
  },
  acquireOverStale('lock/acquire-over-stale', lockOfKilledHolder),
  acquireOverStale('lock/acquire-over-stale-old-record', oldFormatLockOfKilledHolder),
  {
    name: 'json/update-sync',
    protocol: 'updateJsonFileSync',
    requires: ['updateJsonFileSync', 'readJsonFile'],
    async setup(root, engine) {
      await engine.ensureStore(root);
      fs.writeFileSync(registry(root), JSON.stringify({ entries: ['e0'] }, null, 2) + '\n');
    },
    async run(root, engine, rec) {
      for (const e of ['e1', 'e2', 'e3']) {
        engine.updateJsonFileSync(registry(root), RegistrySchema, (doc) => ({ entries: [...(doc?.entries ?? []), e] }), HOLD);
        rec.ack('updated', e);
      }
    },
    check: (root, ctx) => checkRegistry(root, ctx),
  },
  {
    name: 'json/update',
    protocol: 'updateJsonFile',
    requires: ['updateJsonFile', 'readJsonFile'],
    async setup(root, engine) {
      await engine.ensureStore(root);
      fs.writeFileSync(registry(root), JSON.stringify({ entries: ['e0'] }, null, 2) + '\n');
    },
    async run(root, engine, rec) {
      for (const e of ['e1', 'e2', 'e3']) {
        await engine.updateJsonFile(registry(root), RegistrySchema, (doc) => ({ entries: [...(doc?.entries ?? []), e] }), HOLD);
        rec.ack('updated', e);
      }
    },
    check: (root, ctx) => checkRegistry(root, ctx),
  },
];
