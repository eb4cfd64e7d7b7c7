// The language server's Timeline answers on a ledger that keeps growing: the first answer says
// how far the counting is and already spans the ledger's whole time; a zoom is answered with the
// range asked for; each type keeps its colour slot (its first appearance in the file) as other
// types arrive; appended lines are counted from the new bytes only, and a rewritten file is
// counted again; the answer names the lock that guards the ledger.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { startServer } from '../fixtures/lsp-client.mjs';

const require = createRequire(import.meta.url);
const engine = require('../../dist/engine.js');

async function bigLedger(t, events) {
  const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'll-timeline-'));
  t.after(() => fs.rmSync(ws, { recursive: true, force: true }));
  const store = await engine.ensureStore(ws);
  const file = path.join(store.ledgers, 'agent.jsonl');
  const ledger = await engine.openLedger(file, { create: true, durability: 'none', telemetry: false });
  const types = ['job.started', 'job.finished', 'metric.sample', 'cache.miss'];
  const batch = [];
  for (let i = 0; i < 5000; i++) batch.push({ type: types[i % 7 === 0 ? 3 : i % 3], data: { n: i } });
  for (let written = 0; written < events; written += batch.length) await ledger.appendMany(batch.slice(0, Math.min(batch.length, events - written)));
  await ledger.close();
  return { ws, store, file };
}

/** The timeline, once the server knows the ledger (its first scan may still be running). */
async function timeline(server, params) {
  for (let i = 0; ; i++) {
    try {
      return await server.request('ledgerlock/timeline', params);
    } catch (err) {
      if (i > 100 || !/not a ledger of this workspace/.test(err.message)) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

async function whole(server, params) {
  for (;;) {
    const r = await timeline(server, params);
    if (!r.partial) return r;
    await new Promise((res) => setTimeout(res, 200));
  }
}

test('server timeline: a 300,000-event ledger answers at once with its progress and its whole time span', async (t) => {
  const { ws, file } = await bigLedger(t, 300_000);
  const server = await startServer(t, { folders: [ws], trusted: true });
  const started = Date.now();
  const first = await timeline(server, { ledger: file, bins: 120 });
  const firstMs = Date.now() - started;
  assert.equal(first.partial, true, 'counted 300,000 events before the first answer');
  assert.ok(first.total > 0, `the first answer holds no events: ${first.total}`);
  assert.ok(first.progress.bytesRead > 0 && first.progress.bytesRead < first.progress.bytesTotal);
  assert.equal(first.progress.bytesTotal, fs.statSync(file).size);
  const done = await whole(server, { ledger: file, bins: 120 });
  const wholeMs = Date.now() - started;
  assert.equal(done.total, 300_000);
  // The axis did not move: the first answer already spanned the ledger's first to last event.
  assert.equal(first.viewFrom, done.viewFrom);
  assert.equal(first.viewTo, done.viewTo);
  assert.equal(done.progress, undefined);
  t.diagnostic(`first answer ${firstMs} ms (${first.total} events counted), whole ${wholeMs} ms`);
});

test('server timeline: appends are counted from the new bytes, a zoom is kept, colour slots stay, a rewrite is counted again', async (t) => {
  const { ws, store, file } = await bigLedger(t, 50_000);
  const server = await startServer(t, { folders: [ws], trusted: true });
  const before = await whole(server, { ledger: file, bins: 120 });
  assert.equal(before.total, 50_000);
  assert.deepEqual(before.guards, [path.join(store.locks, 'agent.lock')]);
  const slotOf = (r) => Object.fromEntries(r.types.map((type, i) => [type, r.slots[i]]));
  const slots = slotOf(before);
  // Another process appends a new type; the zoom asked for comes back as it was asked.
  const ledger = await engine.openLedger(file, { telemetry: false });
  const zoom = { from: before.viewFrom, to: before.viewFrom + Math.max(2, Math.floor((before.viewTo - before.viewFrom) / 2)) };
  for (let round = 1; round <= 5; round++) {
    await ledger.appendMany(Array.from({ length: 10 }, (_, i) => ({ type: 'tick', data: { i } })));
    const started = Date.now();
    const r = await timeline(server, { ledger: file, bins: 120, ...zoom });
    const ms = Date.now() - started;
    assert.equal(r.partial, false, 'ten new lines are counted within the first answer');
    assert.equal(r.total, 50_000 + round * 10);
    assert.equal(r.viewFrom, zoom.from);
    assert.equal(r.viewTo, zoom.to);
    for (const [type, slot] of Object.entries(slotOf(r))) if (type in slots) assert.equal(slot, slots[type], `${type} changed slot`);
    t.diagnostic(`answer after 10 appended events: ${ms} ms`);
  }
  const grown = await whole(server, { ledger: file, bins: 120 });
  assert.equal(slotOf(grown).tick, 4, 'the new type takes the next slot');
  for (const [type, slot] of Object.entries(slots)) assert.equal(slotOf(grown)[type], slot);
  // Compaction writes a new file: it is counted again, not extended.
  await ledger.compact({ keep: 100 });
  await ledger.close();
  const compacted = await whole(server, { ledger: file, bins: 120 });
  assert.equal(compacted.total, 100);
});
