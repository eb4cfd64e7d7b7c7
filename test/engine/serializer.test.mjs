// MutationSerializer: per-key order, independence across keys, rejections that surface to their
// own caller without poisoning the queue, and idle keys forgotten.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';

const require = createRequire(import.meta.url);
const { MutationSerializer } = require(process.env.LEDGERLOCK_ENGINE ?? '../../dist/engine.js');
const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

test('tasks with the same key run one at a time, in call order', async () => {
  const s = new MutationSerializer();
  const log = [];
  let running = 0;
  const task = (i) => async () => {
    running++;
    assert.equal(running, 1, 'never two at once for one key');
    log.push(`start ${i}`);
    await tick(Math.random() * 5);
    log.push(`end ${i}`);
    running--;
    return i;
  };
  const results = await Promise.all([0, 1, 2, 3, 4].map((i) => s.run('k', task(i))));
  assert.deepEqual(results, [0, 1, 2, 3, 4]);
  assert.deepEqual(log, [0, 1, 2, 3, 4].flatMap((i) => [`start ${i}`, `end ${i}`]));
});

test('different keys do not wait for each other', { timeout: 5_000 }, async () => {
  const s = new MutationSerializer();
  let releaseA;
  const a = s.run('a', () => new Promise((r) => { releaseA = r; }));
  const b = await s.run('b', async () => 'b done');
  assert.equal(b, 'b done');
  assert.equal(s.activeKeys, 1);
  releaseA('a done');
  assert.equal(await a, 'a done');
});

test('a rejected task rejects to its own caller and never blocks the tasks queued behind it', { timeout: 5_000 }, async () => {
  const s = new MutationSerializer();
  const order = [];
  const first = s.run('k', async () => { order.push(1); throw new Error('first failed'); });
  const sync = s.run('k', () => { order.push(2); throw new Error('thrown synchronously'); });
  const third = s.run('k', async () => { order.push(3); return 'third ok'; });
  await assert.rejects(first, /first failed/);
  await assert.rejects(sync, /thrown synchronously/);
  assert.equal(await third, 'third ok');
  assert.deepEqual(order, [1, 2, 3]);
});

test('idle keys are dropped: activeKeys returns to 0, after successes and failures alike', async () => {
  const s = new MutationSerializer();
  assert.equal(s.activeKeys, 0);
  const runs = [];
  for (let k = 0; k < 100; k++) {
    runs.push(s.run(`key-${k}`, async () => { await tick(); if (k % 3 === 0) throw new Error('x'); return k; }).catch(() => 'failed'));
  }
  assert.equal(s.activeKeys, 100);
  await Promise.all(runs);
  await tick();
  assert.equal(s.activeKeys, 0);
  // A key used again after going idle works as new.
  assert.equal(await s.run('key-1', async () => 'again'), 'again');
  await tick();
  assert.equal(s.activeKeys, 0);
});

test('a task queued while the key is busy keeps the key alive until it finishes', async () => {
  const s = new MutationSerializer();
  let release;
  const a = s.run('k', () => new Promise((r) => { release = r; }));
  const b = s.run('k', async () => 'b');
  await tick();
  assert.equal(s.activeKeys, 1);
  release('a');
  assert.deepEqual(await Promise.all([a, b]), ['a', 'b']);
  await tick();
  assert.equal(s.activeKeys, 0);
});
