import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { engine, lineStarts, makeLedger, quarantineFiles, telemetryEvents, workspace, withLedger } from '../fixtures/ledger-helpers.mjs';

const opts = { durability: 'none' };
const ids = (events) => events.map((e) => e.id);
const range = (a, b) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

async function allPages(ledger, limit) {
  const seen = [];
  let cursor = null;
  let pages = 0;
  do {
    const page = await ledger.page({ cursor, limit });
    assert.ok(page.events.length <= limit);
    seen.push(...page.events);
    cursor = page.next;
    pages++;
  } while (cursor !== null && pages < 10_000);
  return { seen, pages };
}

test('tail returns the last n events oldest to newest; page walks the whole ledger newest first by cursor', async () => {
  const ws = workspace();
  await makeLedger(ws.ledger, 1000);
  await withLedger(ws.ledger, opts, async (ledger) => {
    assert.deepEqual(ids(await ledger.tail(5)), [996, 997, 998, 999, 1000]);
    assert.deepEqual(ids(await ledger.tail(0)), []);
    assert.deepEqual(ids(await ledger.tail(5000)), range(1, 1000));
    const { seen, pages } = await allPages(ledger, 37);
    assert.deepEqual(ids(seen), range(1, 1000).reverse());
    assert.equal(pages, Math.ceil(1000 / 37));
    const first = await ledger.page({ limit: 1000 });
    assert.equal(first.next, null, 'no cursor once the first event was returned');
  });
});

test('a cursor stays valid while the ledger grows, and is re-anchored by id after compaction rewrote the offsets', async () => {
  const ws = workspace();
  await makeLedger(ws.ledger, 100);
  await withLedger(ws.ledger, opts, async (ledger) => {
    const p1 = await ledger.page({ limit: 10 });
    assert.deepEqual(ids(p1.events), range(91, 100).reverse());
    await ledger.appendMany([{ type: 'later' }, { type: 'later' }]);
    const p2 = await ledger.page({ cursor: p1.next, limit: 10 });
    assert.deepEqual(ids(p2.events), range(81, 90).reverse());
    await ledger.compact({ keep: 50 });
    const p3 = await ledger.page({ cursor: p2.next, limit: 10 });
    assert.deepEqual(ids(p3.events), range(71, 80).reverse());
    await assert.rejects(ledger.page({ cursor: 'not-a-cursor', limit: 10 }), { code: 'E_BAD_OPTION' });
  });
});

test('paging and tail work on lines larger than the 64 KiB backward read chunk', async () => {
  const ws = workspace();
  await withLedger(ws.ledger, opts, async (ledger) => {
    for (let i = 1; i <= 12; i++) await ledger.append('big', { i, blob: 'x'.repeat(i % 3 === 0 ? 200_000 : 10 + i) });
    assert.deepEqual((await ledger.tail(3)).map((e) => e.data.i), [10, 11, 12]);
    assert.equal((await ledger.tail(1))[0].data.blob.length, 200_000);
    const { seen } = await allPages(ledger, 2);
    assert.deepEqual(ids(seen), range(1, 12).reverse());
    assert.deepEqual(seen.map((e) => e.data.blob.length), range(1, 12).reverse().map((i) => (i % 3 === 0 ? 200_000 : 10 + i)));
  });
});

test('range by id and by time returns inclusive bounds oldest first, with line numbers', async () => {
  const ws = workspace();
  await makeLedger(ws.ledger, 3000);
  await withLedger(ws.ledger, opts, async (ledger) => {
    const r = await ledger.range({ fromId: 1500, toId: 1510 });
    assert.deepEqual(ids(r), range(1500, 1510));
    assert.deepEqual(r.map((e) => e.line), range(1500, 1510));
    assert.deepEqual(ids(await ledger.range({ fromId: 2995 })), range(2995, 3000));
    assert.deepEqual(ids(await ledger.range({ fromId: 10, limit: 3 })), [10, 11, 12]);
    assert.deepEqual(ids(await ledger.range({ fromId: 5000 })), []);
    const all = await ledger.tail(1);
    assert.equal((await ledger.range({ fromTime: '2000-01-01T00:00:00Z', toTime: all[0].ts })).length, 3000);
    assert.equal((await ledger.range({ fromTime: '2999-01-01T00:00:00Z' })).length, 0);
    await assert.rejects(ledger.range({ fromTime: 'yesterday' }), { code: 'E_BAD_OPTION' });
  });
});

test('the sparse index is written beside the ledger, rebuilt when it is garbage or stale, and never trusted blindly', async () => {
  const ws = workspace();
  await makeLedger(ws.ledger, 5000);
  const idx = path.join(path.dirname(ws.ledger), 'events.idx');
  await withLedger(ws.ledger, opts, async (ledger) => {
    assert.deepEqual(ids(await ledger.range({ fromId: 4000, toId: 4002 })), [4000, 4001, 4002]);
  });
  const index = JSON.parse(fs.readFileSync(idx, 'utf8'));
  assert.ok(index.entries.length > 3, 'more than a few entries over a ~450 KB ledger');
  assert.equal(index.size, fs.statSync(ws.ledger).size);

  // Garbage index: rebuilt, answers stay right.
  fs.writeFileSync(idx, '{"format":"ledgerlock-idx", garbage');
  await withLedger(ws.ledger, opts, async (ledger) => {
    assert.deepEqual(ids(await ledger.range({ fromId: 4000, toId: 4001 })), [4000, 4001]);
  });
  assert.equal(JSON.parse(fs.readFileSync(idx, 'utf8')).size, fs.statSync(ws.ledger).size);

  // A lying index (well-formed, but pointing at the wrong records) is caught by its checks.
  const lying = JSON.parse(fs.readFileSync(idx, 'utf8'));
  lying.entries = lying.entries.map(([id, offset, line, crc]) => [id - 500, offset, line, crc]);
  fs.writeFileSync(idx, JSON.stringify(lying));
  await withLedger(ws.ledger, opts, async (ledger) => {
    assert.deepEqual(ids(await ledger.range({ fromId: 3000, toId: 3002 })), [3000, 3001, 3002]);
  });

  // Stale: the ledger was replaced by a different one of the same shape (compaction by another process).
  const indexBefore = fs.readFileSync(idx, 'utf8');
  await withLedger(ws.ledger, opts, (ledger) => ledger.compact({ keep: 2500 }));
  fs.writeFileSync(idx, indexBefore);
  await withLedger(ws.ledger, opts, async (ledger) => {
    assert.deepEqual(ids(await ledger.range({ fromId: 2400, toId: 2502 })), [2501, 2502]);
    assert.deepEqual(ids(await ledger.range({ fromId: 4000, toId: 4001 })), [4000, 4001]);
  });
  assert.notEqual(fs.readFileSync(idx, 'utf8'), indexBefore, 'the stale index was rebuilt');
});

test('compaction keeps the newest N with their ids, rewrites atomically, and records LEDGER_COMPACTED', async () => {
  const ws = workspace();
  const before = await makeLedger(ws.ledger, 200);
  await withLedger(ws.ledger, opts, async (ledger) => {
    const r = await ledger.compact({ keep: 30 });
    assert.deepEqual(r, { kept: 30, removed: 170, bytesBefore: before.length, bytesAfter: before.length - lineStarts(before)[170] });
    assert.deepEqual(fs.readFileSync(ws.ledger), before.subarray(lineStarts(before)[170]), 'kept records are byte-identical');
    const report = await ledger.verify();
    assert.equal(report.health, 'ok');
    assert.equal(report.firstId, 171);
    assert.equal(report.lastId, 200);
    assert.equal((await ledger.append('after')).id, 201);
    assert.deepEqual(await ledger.compact({ keep: 100 }), { kept: 31, removed: 0, bytesBefore: fs.statSync(ws.ledger).size, bytesAfter: fs.statSync(ws.ledger).size });
    const byId = await ledger.compact({ afterId: 195 });
    assert.equal(byId.kept, 6);
    assert.deepEqual(ids(await ledger.tail(100)), range(196, 201));
  });
  const compactions = telemetryEvents(ws.telemetry).filter((e) => e.type === 'LEDGER_COMPACTED');
  assert.deepEqual(compactions.map((e) => [e.data.kept, e.data.removed]), [[30, 170], [6, 25]]);
  assert.deepEqual(fs.readdirSync(path.join(ws.store, 'tmp')), [], 'no temp file is left');
});

test('compaction refuses a damaged ledger rather than hide the damage', async () => {
  const ws = workspace();
  const good = await makeLedger(ws.ledger, 10);
  fs.writeFileSync(ws.ledger, Buffer.concat([good, Buffer.from('{"id":11,"ts"')]));
  await withLedger(ws.ledger, opts, async (ledger) => {
    await assert.rejects(ledger.compact({ keep: 2 }), { code: 'E_LEDGER_TORN' });
    await assert.rejects(ledger.compact({}), { code: 'E_BAD_OPTION' });
  });
});

test('automatic compaction runs on its timer and keeps the newest events', async () => {
  const ws = workspace();
  await makeLedger(ws.ledger, 50);
  await withLedger(ws.ledger, { ...opts, autoCompact: { keep: 10, everyMs: 20 } }, async (ledger) => {
    for (let i = 0; i < 100 && fs.statSync(ws.ledger).size > 2000; i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(ids(await ledger.tail(100)), range(41, 50));
  });
});

test('stats are cheap and say what they know', async () => {
  const ws = workspace();
  const good = await makeLedger(ws.ledger, 20);
  await withLedger(ws.ledger, opts, async (ledger) => {
    const s = await ledger.stats();
    assert.equal(s.lastId, 20);
    assert.equal(s.bytes, good.length);
    assert.equal(s.format, 'ledgerlock');
    await ledger.verify();
    assert.deepEqual(await ledger.stats(), { path: ws.ledger, format: 'ledgerlock', bytes: good.length, events: 20, lastId: 20, health: 'ok' });
  });
});

test('a foreign JSONL ledger is read as it is: line numbers are ids, ts and type come from its fields', async () => {
  const ws = workspace();
  const file = path.join(ws.root, 'agent-log.jsonl');
  const lines = [
    JSON.stringify({ timestamp: '2024-01-01T00:00:00.000Z', event: 'start', n: 1 }),
    JSON.stringify({ ts: '2024-01-01T00:00:01.000Z', type: 'step', n: 2 }),
    '',
    JSON.stringify({ kind: 'k', time: '2024-01-01T00:00:02.000Z', n: 4 }),
    JSON.stringify([1, 2, 3]),
  ];
  fs.writeFileSync(file, lines.join('\n') + '\n');
  await withLedger(file, opts, async (ledger) => {
    assert.equal(ledger.format, 'foreign');
    const tail = await ledger.tail(10);
    assert.deepEqual(tail.map((e) => [e.id, e.type, e.ts]), [
      [1, 'start', '2024-01-01T00:00:00.000Z'],
      [2, 'step', '2024-01-01T00:00:01.000Z'],
      [4, 'k', '2024-01-01T00:00:02.000Z'],
      [5, 'line', null],
    ]);
    assert.deepEqual(tail[3].data, [1, 2, 3]);
    assert.deepEqual(ids((await ledger.page({ limit: 2 })).events), [5, 4]);
    const p = await ledger.page({ limit: 2 });
    assert.deepEqual(ids((await ledger.page({ cursor: p.next, limit: 2 })).events), [2, 1]);
    assert.deepEqual(ids(await ledger.range({ fromId: 2, toId: 4 })), [2, 4]);
    assert.equal((await ledger.verify()).health, 'ok');
    await assert.rejects(ledger.append('x'), { code: 'E_FOREIGN_READ_ONLY' });
    await assert.rejects(ledger.compact({ keep: 1 }), { code: 'E_FOREIGN_READ_ONLY' });
  });
  assert.ok(!fs.existsSync(path.join(ws.root, 'agent-log.idx')), 'no index is written into another tool\'s folder');
});

test('a foreign ledger with a torn last line: verify says torn, repair keeps every complete valid line and quarantines the rest beside it', async () => {
  const ws = workspace('ll-foreign-');
  const file = path.join(ws.root, 'log.ndjson');
  const complete = '{"a":1}\n{"a":2}\n{"a":3}\n';
  fs.writeFileSync(file, complete + '{"a":4,"b":');
  await withLedger(file, opts, async (ledger) => {
    assert.equal(ledger.format, 'foreign');
    const report = await ledger.verify();
    assert.equal(report.health, 'torn');
    assert.equal(report.problems[0].kind, 'torn-tail');
    assert.deepEqual(ids(await ledger.tail(5)), [1, 2, 3]);
    const r = await ledger.repair();
    assert.equal(r.truncatedAt, complete.length);
    assert.equal(path.dirname(r.quarantine), `${file}.quarantine`, 'outside any store, quarantine sits beside the ledger');
    assert.equal(fs.readFileSync(r.quarantine, 'utf8'), '{"a":4,"b":');
    assert.equal(fs.readFileSync(file, 'utf8'), complete);
    assert.equal((await ledger.repair()).repaired, false);
  });
  assert.equal(quarantineFiles(`${file}.quarantine`).length, 1);
});

test('a JSONL file whose lines have id and ts but no checksum is foreign, not a corrupt native ledger', async () => {
  const ws = workspace();
  const file = path.join(ws.root, 'x.jsonl');
  fs.writeFileSync(file, '{"id":1,"ts":"2024-01-01T00:00:00Z","type":"a"}\n{"id":2,"ts":"2024-01-01T00:00:00Z","type":"b"}\n');
  await withLedger(file, opts, async (ledger) => {
    assert.equal(ledger.format, 'foreign');
    assert.equal((await ledger.verify()).health, 'ok');
  });
});

test('verify streams with progress and can be cancelled', async () => {
  const ws = workspace();
  const good = await makeLedger(ws.ledger, 30_000);
  await withLedger(ws.ledger, opts, async (ledger) => {
    const progress = [];
    const report = await ledger.verify({ onProgress: (b, t) => progress.push([b, t]) });
    assert.equal(report.events, 30_000);
    assert.ok(progress.length >= 2);
    assert.deepEqual(progress.at(-1), [good.length, good.length]);
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(ledger.verify({ signal: ac.signal }), { code: 'E_ABORTED' });
  });
});
