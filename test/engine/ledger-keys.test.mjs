// Exactly-once retries: an append whose key is already among the ledger's recent records
// returns that event and writes nothing, from the same process, another process, or a batch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { storeWorkspace } from '../fixtures/workspace.mjs';

const require = createRequire(import.meta.url);
const engine = require('../../dist/engine.js');
const ENGINE = require.resolve('../../dist/engine.js');

test('a keyed append retried returns the first event (same id, no second record), async and sync', async (t) => {
  const { ledger: file } = await storeWorkspace({ t });
  const ledger = await engine.openLedger(file, { telemetry: false });
  const a = await ledger.append('job', { n: 1 }, { key: 'k-1' });
  const size = statSync(file).size;
  const b = await ledger.append('job', { n: 1 }, { key: 'k-1' });
  const c = ledger.appendSync('job', { n: 1 }, { key: 'k-1' });
  assert.equal(b.id, a.id);
  assert.equal(c.id, a.id);
  assert.equal(b.key, 'k-1');
  assert.equal(statSync(file).size, size, 'nothing was written for the retries');
  const d = await ledger.append('job', { n: 2 }, { key: 'k-2' });
  assert.equal(d.id, a.id + 1);
  assert.deepEqual(
    (await ledger.range({})).map((e) => [e.id, e.key]),
    [
      [1, 'k-1'],
      [2, 'k-2'],
    ],
  );
  await ledger.close();
});

test('the same key twice in one batch, or concurrently, is written once', async (t) => {
  const { ledger: file } = await storeWorkspace({ t });
  const ledger = await engine.openLedger(file, { telemetry: false });
  const many = await ledger.appendMany([
    { type: 'x', data: 1, key: 'dup' },
    { type: 'y', data: 2 },
    { type: 'x', data: 1, key: 'dup' },
  ]);
  assert.deepEqual(
    many.map((e) => e.id),
    [1, 2, 1],
  );
  const concurrent = await Promise.all(Array.from({ length: 8 }, () => ledger.append('z', {}, { key: 'race' })));
  assert.equal(new Set(concurrent.map((e) => e.id)).size, 1);
  assert.equal((await ledger.range({})).length, 3);
  assert.equal((await ledger.verify()).health, 'ok');
  await ledger.close();
});

test("another process's keyed record is found: a retry from a fresh process writes nothing", async (t) => {
  const { ledger: file } = await storeWorkspace({ t });
  const script = `const e=require(${JSON.stringify(ENGINE)});(async()=>{const l=await e.openLedger(${JSON.stringify(file)},{telemetry:false});for(let i=0;i<50;i++)await l.append('noise',{i});const ev=await l.append('job',{},{key:'other-proc'});console.log(ev.id);await l.close()})()`;
  const first = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  assert.equal(first.status, 0, first.stderr);
  const second = spawnSync(process.execPath, ['-e', script.replace('i<50', 'i<0')], { encoding: 'utf8' });
  assert.equal(second.stdout.trim(), first.stdout.trim());
  const keyed = readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.includes('"key":"other-proc"'));
  assert.equal(keyed.length, 1);
});

test('records without a key, written before keys existed, stay valid; a "key" inside data is not taken for one', async (t) => {
  const { ledger: file } = await storeWorkspace({ t, seed: 'old' });
  const ledger = await engine.openLedger(file, { telemetry: false });
  const inData = await ledger.append('t', { key: 'k' });
  const keyed = await ledger.append('t', { v: 1 }, { key: 'k' });
  assert.notEqual(keyed.id, inData.id, 'a data field named key is not an append key');
  assert.equal((await ledger.verify()).health, 'ok');
  await ledger.close();
});

test('a key a record cannot carry is refused with E_BAD_INPUT and nothing is written', async (t) => {
  const { ledger: file } = await storeWorkspace({ t });
  const ledger = await engine.openLedger(file, { telemetry: false });
  for (const key of ['', 'a"b', 'a\\b', 'é', 'x'.repeat(257), 42]) {
    await assert.rejects(ledger.append('t', {}, { key }), (err) => err.code === 'E_BAD_INPUT', `key ${JSON.stringify(key)}`);
    assert.throws(
      () => ledger.appendSync('t', {}, { key }),
      (err) => err.code === 'E_BAD_INPUT',
    );
  }
  assert.equal(statSync(file).size, 0);
  await ledger.close();
});

test('a hole a power loss left before the last record is cut by the first append, into quarantine, before anything is written past it', async (t) => {
  const { ledger: file, store } = await storeWorkspace({ t });
  let ledger = await engine.openLedger(file, { telemetry: false });
  for (let i = 1; i <= 3; i++) await ledger.append('e', { i });
  await ledger.close();
  // Record 4 never reached the disk (zeros), record 5 did: neither was acknowledged.
  const line = (id) => {
    const body = `{"id":${id},"ts":"2026-01-01T00:00:00.000Z","type":"e","data":{"i":${id}}`;
    const crc = require('node:zlib').crc32(Buffer.from(body)).toString(16).padStart(8, '0');
    return `${body},"crc":"${crc}"}\n`;
  };
  appendFileSync(file, Buffer.alloc(line(4).length));
  appendFileSync(file, line(5));
  const holeAt = statSync(file).size - line(5).length - line(4).length;
  const report = await (await engine.openLedger(file, { telemetry: false })).verify();
  assert.equal(report.health, 'torn');
  assert.equal(report.validBytes, holeAt);
  ledger = await engine.openLedger(file, { telemetry: false });
  const next = await ledger.append('e', { i: 'after' });
  assert.equal(next.id, 4, 'ids continue from the last record before the hole');
  assert.deepEqual(
    (await ledger.range({})).map((e) => e.id),
    [1, 2, 3, 4],
  );
  assert.equal((await ledger.verify()).health, 'ok');
  await ledger.close();
  const quarantined = require('node:fs')
    .readdirSync(`${store}/quarantine`)
    .map((f) => readFileSync(`${store}/quarantine/${f}`, 'latin1'));
  assert.ok(
    quarantined.some((q) => q.includes(line(5).trim())),
    'the cut bytes are in quarantine',
  );
});
