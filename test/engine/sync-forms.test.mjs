// The sync forms keep every guarantee of the async ones: the same lock file and rules, stale
// locks broken and live ones waited for, documents replaced atomically. (Sync and async
// appenders across processes, and kill -9 among them: ledger-concurrency.test.mjs.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { engine, fixturesDir, workspace, quarantineFiles } from '../fixtures/ledger-helpers.mjs';
import { deadPid, firstLine, nativeLock, startHolder, tempDir, writeLock } from '../fixtures/lock-helpers.mjs';

const { z } = createRequire(import.meta.url)('zod');
const range = (a, b) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

test("appendSync hands back the caller's data, continues the ids of async appends, and cuts a torn tail into quarantine first", async () => {
  const ws = workspace();
  const ledger = await engine.openLedger(ws.ledger, { telemetry: false });
  try {
    await ledger.appendMany([
      { type: 'a', data: { n: 1 } },
      { type: 'a', data: { n: 2 } },
    ]);
    const data = { n: 3, nested: { list: [1, 2] } };
    const event = ledger.appendSync('b', data);
    assert.equal(event.id, 3);
    assert.equal(event.data, data, 'the very object passed in, not a re-parsed copy');
    assert.equal(ledger.appendSync('c').data, null, 'no data is null, as on disk');
    // A writer that died mid-record (after our lock, lingering for the next append, was let go).
    await new Promise((r) => setImmediate(r));
    fs.appendFileSync(ws.ledger, '{"id":5,"ts":"2026-01-01T00:00:00.000Z","type":"cut sh');
    const [after] = ledger.appendManySync([{ type: 'd', data: { n: 5 } }]);
    assert.equal(after.id, 5, 'the torn record never got its id');
    assert.equal((await ledger.verify()).health, 'ok');
    assert.ok(
      quarantineFiles(ws.quarantine).some((f) => fs.readFileSync(f, 'utf8').includes('cut sh')),
      'the torn bytes are in quarantine',
    );
    assert.deepEqual(
      (await ledger.range({})).map((e) => e.id),
      range(1, 5),
    );
  } finally {
    await ledger.close();
  }
});

test('appendSync is refused while an async append of this process holds the ledger lock, and works once it settled', async () => {
  const ws = workspace();
  // Holds the async append's write until released, so the refusal is certain.
  let letGo;
  const gate = new Promise((r) => (letGo = r));
  let writing;
  const entered = new Promise((r) => (writing = r));
  const held = (p, file) =>
    p !== ws.ledger
      ? file
      : Object.assign(Object.create(Object.getPrototypeOf(file)), file, {
          async write(...a) {
            writing();
            await gate;
            return file.write(...a);
          },
        });
  const restore = engine.useFileSystem({
    ...engine.nodeFileSystem,
    openSync: (p, ...rest) => held(p, engine.nodeFileSystem.openSync(p, ...rest)),
  });
  const ledger = await engine.openLedger(ws.ledger, { telemetry: false });
  try {
    // Over 64 KiB: written by the async write (smaller batches are written inline under the lock).
    const pending = ledger.append('a', { pad: 'x'.repeat(70_000) });
    await entered;
    assert.throws(
      () => ledger.appendSync('b', {}),
      (err) => err.code === 'E_BAD_INPUT' && err.message.includes('await it'),
    );
    letGo();
    assert.equal((await pending).id, 1);
    assert.equal(ledger.appendSync('c', {}).id, 2);
  } finally {
    letGo();
    restore();
    await ledger.close();
  }
});

test('withLockSync and acquireLock from 6 processes, with stale locks to break on the way, never have two holders', { timeout: 60_000 }, async (t) => {
  const dir = tempDir(t);
  const lockPath = path.join(dir, 'counter.lock');
  const counter = path.join(dir, 'counter');
  const inside = path.join(dir, 'inside');
  fs.writeFileSync(counter, '0');
  const dead = await deadPid();
  writeLock(lockPath, nativeLock({ pid: dead, owner: 'crashed-at-start' }));
  const children = range(1, 6).map((i) => {
    const env = { ...process.env, LEDGERLOCK_LOCK_SYNC: i % 2 ? '1' : '0' };
    const child = spawn(process.execPath, [path.join(fixturesDir, 'lock-counter.mjs'), lockPath, counter, inside, '30', '{}', '0.15', String(dead)], {
      stdio: ['pipe', 'pipe', 'inherit'],
      env,
    });
    t.after(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    return child;
  });
  await new Promise((r) => setTimeout(r, 300));
  const reports = children.map((c) => firstLine(c));
  for (const child of children) child.stdin.write('go\n');
  const results = (await Promise.all(reports)).map((line) => JSON.parse(line));
  assert.equal(Number(fs.readFileSync(counter, 'utf8')), 6 * 30, 'no increment lost');
  assert.deepEqual(
    results.map((r) => r.violations),
    Array(6).fill(0),
    'never two inside at once',
  );
  assert.deepEqual(
    results.map((r) => r.unexpectedCompromises),
    Array(6).fill(0),
    'no live holder lost its lock',
  );
});

test("withLockSync waits out a live holder and times out with E_LOCK_TIMEOUT naming it; a killed holder's lock is broken", { timeout: 30_000 }, async (t) => {
  const dir = tempDir(t);
  const lockPath = path.join(dir, 'work.lock');
  const holder = await startHolder(t, lockPath, { telemetry: false });
  const seen = [];
  assert.throws(
    () =>
      engine.withLockSync(lockPath, () => assert.fail('ran without the lock'), {
        timeoutMs: 300,
        contentionMs: 100,
        telemetry: (e) => {
          seen.push(e.type);
        },
      }),
    (err) => err.code === 'E_LOCK_TIMEOUT' && err.details.holder?.pid === holder.child.pid && err.message.includes(String(holder.child.pid)),
  );
  assert.deepEqual(seen, ['LOCK_CONTENDED', 'LOCK_CONTENTION_TIMEOUT'], 'contention is recorded as by the async form');
  holder.child.kill('SIGKILL');
  await new Promise((r) => holder.child.once('exit', r));
  const value = engine.withLockSync(
    lockPath,
    (lock) => {
      assert.equal(lock.held, true);
      return 42;
    },
    { timeoutMs: 5000, telemetry: false },
  );
  assert.equal(value, 42);
  assert.equal(fs.existsSync(lockPath), false, 'released after the task');
});

test('3 processes adding keys with updateJsonFileSync and updateJsonFile lose no entry', { timeout: 60_000 }, async (t) => {
  const dir = tempDir(t);
  const store = await engine.ensureStore(dir);
  const file = path.join(store.state, 'registry.json');
  const children = ['p', 'q', 'r'].map((prefix, i) => {
    const env = { ...process.env, LEDGERLOCK_JSON_SYNC: i === 1 ? '0' : '1' };
    const child = spawn(process.execPath, [path.join(fixturesDir, 'json-adder.mjs'), file, prefix, '30'], { stdio: ['ignore', 'pipe', 'inherit'], env });
    t.after(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    return child;
  });
  assert.deepEqual(await Promise.all(children.map((c) => new Promise((r) => c.once('exit', (code) => r(code))))), [0, 0, 0]);
  const registry = await engine.readJsonFile(file, z.record(z.number()));
  assert.equal(Object.keys(registry).length, 90);
});

test('atomicWriteFileSync applies the mode before the rename, reports durability, and leaves nothing behind when it fails', (t) => {
  const dir = tempDir(t);
  const target = path.join(dir, 'secret.json');
  const result = engine.atomicWriteFileSync(target, '{"a":1}\n', { mode: 0o600, telemetry: false });
  assert.deepEqual(result, { path: target, bytes: 8, durable: true });
  assert.equal(fs.statSync(target).mode & 0o777, 0o600);
  assert.throws(
    () => engine.atomicWriteFileSync(path.join(dir, 'missing', 'x.json'), 'x', { telemetry: false }),
    (err) => err.code === 'E_NOT_FOUND' && err.details.step === 'create temp file',
  );
  engine.atomicWriteFileSync(target, '{"a":2}\n', { telemetry: false });
  assert.equal(fs.statSync(target).mode & 0o777, 0o600, 'a replacement keeps the existing mode');
  assert.deepEqual(fs.readdirSync(dir), ['secret.json'], 'no temp file left');
});

test('an atomic write gets exactly the mode asked for or kept, whatever the umask takes, and the umask alone when there is neither', async (t) => {
  const dir = tempDir(t);
  const old = process.umask(0o077);
  t.after(() => process.umask(old));
  for (const write of [(p, d, o) => engine.atomicWriteFileSync(p, d, o), (p, d, o) => engine.atomicWriteFile(p, d, o)]) {
    const wide = path.join(dir, `wide-${fs.readdirSync(dir).length}.json`);
    await write(wide, '{}\n', { mode: 0o644, telemetry: false });
    assert.equal(fs.statSync(wide).mode & 0o7777, 0o644, 'bits the umask takes are put back before the rename');
    const plain = path.join(dir, `plain-${fs.readdirSync(dir).length}.json`);
    await write(plain, '{}\n', { telemetry: false });
    assert.equal(fs.statSync(plain).mode & 0o7777, 0o600, 'a new file with no mode asked for: 0o666 less the umask');
    fs.chmodSync(plain, 0o640);
    await write(plain, '{"b":1}\n', { telemetry: false });
    assert.equal(fs.statSync(plain).mode & 0o7777, 0o640, 'a replacement keeps the mode of the file it replaces');
  }
  assert.ok(fs.readdirSync(dir).every((n) => !n.endsWith('.tmp')), 'no temp file left');
});

test('updateJsonFileSync refuses an async updater and leaves the document and lock as they were', (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'doc.json');
  fs.writeFileSync(file, '{"n":1}\n');
  assert.throws(
    () => engine.updateJsonFileSync(file, z.object({ n: z.number() }), async () => ({ n: 2 }), { telemetry: false }),
    (err) => err.code === 'E_BAD_INPUT',
  );
  assert.equal(fs.readFileSync(file, 'utf8'), '{"n":1}\n');
  assert.deepEqual(fs.readdirSync(dir), ['doc.json']);
});
