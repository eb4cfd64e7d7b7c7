import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { engine, fixturesDir, workspace, withLedger } from '../fixtures/ledger-helpers.mjs';

const appender = path.join(fixturesDir, 'ledger-appender.cjs');
const range = (a, b) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

function runAppender(file, count, durability = 'fsync', inflight = 4, mode = 'async') {
  const child = spawn(process.execPath, [appender, file, String(count), durability, String(inflight), mode], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const done = new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, ids: out.split('\n').filter(Boolean).map(Number), err })));
  // Resolves once the child has printed its first id (or ended), so a kill lands mid-stream, not at start-up.
  const started = new Promise((resolve) => {
    child.stdout.on('data', resolve);
    child.on('close', resolve);
  });
  return { child, done, started };
}

function readIds(file) {
  return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l).id);
}

// The sync form (appendSync) and the async one share the lock and the ids across processes.
const MIXES = [
  { name: '4 processes with append', modes: ['async', 'async', 'async', 'async'] },
  { name: '2 processes with appendSync and 2 with append', modes: ['sync', 'async', 'sync', 'async'] },
];

for (const { name, modes } of MIXES) {
  test(`${name}, 2,000 appends each to one ledger: ids 1..8000, contiguous, none lost, none duplicated`, { timeout: 90_000 }, async () => {
    const ws = workspace();
    fs.mkdirSync(path.dirname(ws.ledger), { recursive: true });
    const runs = await Promise.all(modes.map((mode) => runAppender(ws.ledger, 2000, 'fsync', 8, mode).done));
    for (const r of runs) {
      assert.equal(r.code, 0, r.err);
      assert.equal(r.ids.length, 2000);
    }
    const printed = runs.flatMap((r) => r.ids).sort((a, b) => a - b);
    assert.deepEqual(printed, range(1, 8000), 'every process got distinct ids');
    assert.deepEqual(readIds(ws.ledger), range(1, 8000), 'the file holds them in order');
    const report = await withLedger(ws.ledger, {}, (l) => l.verify());
    assert.equal(report.health, 'ok');
    assert.equal(report.events, 8000);
  });
}

test('group commit: concurrent appends in one process share writes and fsyncs, ids stay contiguous', async () => {
  const ws = workspace();
  let datasyncs = 0;
  let writes = 0;
  // Every write on an O_DSYNC descriptor is a flush, like write + fdatasync.
  const counted = (p, options, file) => {
    if (p !== ws.ledger) return file;
    const dsync = options?.dsync === true;
    return Object.assign(Object.create(Object.getPrototypeOf(file)), file, {
      async write(...a) { writes++; if (dsync) datasyncs++; return file.write(...a); },
      writeSync(...a) { writes++; if (dsync) datasyncs++; return file.writeSync(...a); },
      async datasync() { datasyncs++; return file.datasync(); },
      datasyncSync() { datasyncs++; return file.datasyncSync(); },
    });
  };
  const restore = engine.useFileSystem({
    ...engine.nodeFileSystem,
    async open(p, flags, mode, options) { return counted(p, options, await engine.nodeFileSystem.open(p, flags, mode, options)); },
    openSync(p, flags, mode, options) { return counted(p, options, engine.nodeFileSystem.openSync(p, flags, mode, options)); },
  });
  try {
    await withLedger(ws.ledger, { telemetry: false }, async (ledger) => {
      const events = await Promise.all(range(1, 300).map((i) => ledger.append('burst', { i })));
      assert.deepEqual(events.map((e) => e.id), range(1, 300));
      assert.deepEqual(events.map((e) => e.data.i), range(1, 300), 'each caller gets its own event back');
      assert.ok(datasyncs >= 1 && datasyncs < 300 / 10, `${datasyncs} fsyncs for 300 appends`);
      assert.ok(writes < 300 / 10, `${writes} writes for 300 appends`);
      const more = await Promise.all(range(1, 50).map(() => ledger.append('again')));
      assert.deepEqual(more.map((e) => e.id), range(301, 350));
    });
  } finally {
    restore();
  }
  assert.deepEqual(readIds(ws.ledger), range(1, 350));
});

for (const durability of ['batch', 'none']) {
  test(`durability "${durability}": appends resolve with contiguous ids and close() waits for them`, async () => {
    const ws = workspace();
    const ledger = await engine.openLedger(ws.ledger, { durability, telemetry: false });
    const pending = range(1, 100).map((i) => ledger.append('d', { i }));
    await ledger.close();
    assert.deepEqual((await Promise.all(pending)).map((e) => e.id), range(1, 100));
    assert.deepEqual(readIds(ws.ledger), range(1, 100));
  });
}

for (const sync of [false, true]) {
test(`kill -9 torture${sync ? ' with appendSync writers among them' : ''}: every id a writer saw resolve is present exactly once, ids increase, and the ledger verifies after repair`, { timeout: 60_000 }, async () => {
  const ws = workspace();
  fs.mkdirSync(path.dirname(ws.ledger), { recursive: true });
  const acknowledged = [];
  const rounds = 5;
  for (let round = 0; round < rounds; round++) {
    const writers = range(1, 3).map((w) => runAppender(ws.ledger, 0, round % 2 ? 'batch' : 'fsync', 4, sync && (w + round) % 2 ? 'sync' : 'async'));
    await Promise.all(writers.map((w) => w.started));
    await new Promise((r) => setTimeout(r, 20 + Math.random() * 300));
    for (const w of writers) {
      await new Promise((r) => setTimeout(r, Math.random() * 20));
      w.child.kill('SIGKILL');
    }
    for (const r of await Promise.all(writers.map((w) => w.done))) {
      assert.equal(r.signal, 'SIGKILL', r.err);
      acknowledged.push(...r.ids);
    }
    // Between rounds, a reader repairs whatever the kill left behind.
    await withLedger(ws.ledger, { lockTimeoutMs: 30_000 }, async (ledger) => {
      await ledger.repair();
      assert.equal((await ledger.verify()).health, 'ok');
    });
  }
  const ids = readIds(ws.ledger);
  for (let i = 1; i < ids.length; i++) assert.ok(ids[i] > ids[i - 1], `id ${ids[i]} after ${ids[i - 1]}`);
  const present = new Set(ids);
  assert.equal(present.size, ids.length, 'no duplicate id');
  const missing = acknowledged.filter((id) => !present.has(id));
  assert.deepEqual(missing, [], 'no acknowledged append was lost');
  assert.equal(new Set(acknowledged).size, acknowledged.length, 'no id was handed to two writers');
  assert.ok(acknowledged.length > 50, `only ${acknowledged.length} appends were acknowledged`);
  assert.deepEqual(ids, range(1, ids.length), 'ids are contiguous: a torn record never consumed an id');
});
}

test('appends take the store lock locks/<ledger>.lock inside a store, and <ledger>.lock beside a ledger outside one', async () => {
  const ws = workspace();
  const outside = path.join(ws.root, 'plain', 'audit.jsonl');
  for (const [ledgerPath, lockPath] of [
    [ws.ledger, path.join(ws.store, 'locks', 'events.lock')],
    [outside, `${outside}.lock`],
  ]) {
    await withLedger(ledgerPath, { telemetry: false, lockTimeoutMs: 300 }, async (ledger) => {
      assert.equal((await ledger.append('free')).id, 1);
      const held = await engine.acquireLock(lockPath, { tool: 'test-holder', telemetry: false });
      try {
        await assert.rejects(ledger.append('blocked'), { code: 'E_LOCK_TIMEOUT' });
      } finally {
        await held.release();
      }
      assert.equal((await ledger.append('free again')).id, 2, 'the refused append consumed no id');
    });
  }
});

test('a ledger in a store written by a newer Ledgerlock is refused', async () => {
  const ws = workspace();
  fs.mkdirSync(ws.store, { recursive: true });
  fs.writeFileSync(path.join(ws.store, 'store.json'), JSON.stringify({ format: 'ledgerlock', version: 999, createdAt: new Date().toISOString() }));
  await assert.rejects(engine.openLedger(ws.ledger), { code: 'E_STORE_TOO_NEW' });
});
