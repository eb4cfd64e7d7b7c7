// The Ledgers view's reads through the real language server on another tool's 300,000-line
// log: the first page says how many events there are and which is the newest; Load more's next
// page goes on below it; eventsSince answers only what another process wrote after an id
// (newest first, the count kept up) and says when there was more than asked; eventRaw answers
// the line exactly as the file holds it and nothing for a place that is not a record's start or
// a file that is not a ledger of the workspace; a bad afterId is refused with E_BAD_OPTION.
// Times are reported, never asserted tightly (docs/ARCHITECTURE.md, "Ledgers view: pages and Follow").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startServer } from '../fixtures/lsp-client.mjs';
import { tempDir } from '../fixtures/workspace.mjs';

const BIG = 300_000;
const TYPES = ['agent.spawn', 'task.complete', 'memory.store'];

function bigLog(t) {
  const ws = tempDir(t, 'll-event-pages-');
  fs.mkdirSync(path.join(ws, 'logs'));
  const file = path.join(ws, 'logs', 'agent.jsonl');
  const t0 = Date.parse('2026-01-01T00:00:00Z');
  const lines = [];
  for (let i = 0; i < BIG; i++) lines.push(`{"ts":"${new Date(t0 + i * 10).toISOString()}","type":"${TYPES[i % 3]}","n":${i + 1}}\n`);
  fs.writeFileSync(file, lines.join(''));
  return { ws, file };
}

/** Another process appends `lines` to the file, as a tool's writer would. */
function appendFromAnotherProcess(file, lines) {
  const r = spawnSync(process.execPath, ['-e', `require('fs').appendFileSync(process.argv[1], process.argv[2])`, file, lines.join('')]);
  assert.equal(r.status, 0, String(r.stderr));
}

/** A request that waits until the server's first scan knows the ledger. */
async function ask(server, method, params) {
  for (let i = 0; ; i++) {
    try {
      return await server.request(method, params);
    } catch (err) {
      if (i > 150 || !/not a ledger of this workspace/.test(err.message)) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

test('server event pages: the first page of a 300,000-line log says its count and newest id, and Load more goes on below it', async (t) => {
  const { ws, file } = bigLog(t);
  const server = await startServer(t, { folders: [ws], trusted: true });
  await server.waitForState((s) => s.folders?.some((f) => f.ledgers?.some((l) => l.path === file)));
  const started = Date.now();
  const first = await ask(server, 'ledgerlock/eventsPage', { ledger: file, cursor: null, limit: 50 });
  const firstMs = Date.now() - started;
  assert.deepEqual(
    first.events.map((e) => e.id),
    Array.from({ length: 50 }, (_, i) => BIG - i),
  );
  assert.equal(first.total, BIG);
  assert.equal(first.newestId, BIG);
  assert.ok(first.next !== null);
  const times = [];
  let cursor = first.next;
  let expectTop = BIG - 50;
  for (let p = 0; p < 5; p++) {
    const t1 = Date.now();
    const next = await ask(server, 'ledgerlock/eventsPage', { ledger: file, cursor, limit: 50 });
    times.push(Date.now() - t1);
    assert.equal(next.events[0].id, expectTop, 'the next page starts right below the last one');
    assert.equal(next.events.length, 50);
    expectTop -= 50;
    cursor = next.next;
  }
  t.diagnostic(`first page ${firstMs} ms; next page median ${median(times)} ms, max ${Math.max(...times)} ms`);
  assert.ok(median(times) < 5000, `a next page took ${median(times)} ms (median)`);
});

test('server eventsSince: only what another process wrote after the id, newest first, with the count kept up; more when over the limit', async (t) => {
  const { ws, file } = bigLog(t);
  const server = await startServer(t, { folders: [ws], trusted: true });
  await server.waitForState((s) => s.folders?.some((f) => f.ledgers?.some((l) => l.path === file)));
  const first = await ask(server, 'ledgerlock/eventsPage', { ledger: file, cursor: null, limit: 50 });
  let newest = first.newestId;
  const times = [];
  for (let round = 1; round <= 7; round++) {
    appendFromAnotherProcess(file, [`{"type":"tick","round":${round},"k":1}\n`, `{"type":"tick","round":${round},"k":2}\n`]);
    const t1 = Date.now();
    const since = await ask(server, 'ledgerlock/eventsSince', { ledger: file, afterId: newest, limit: 500 });
    times.push(Date.now() - t1);
    assert.deepEqual(
      since.events.map((e) => [e.id, e.data.k]),
      [
        [newest + 2, 2],
        [newest + 1, 1],
      ],
    );
    assert.equal(since.more, false);
    assert.equal(since.newestId, newest + 2);
    assert.equal(since.total, BIG + round * 2, 'the count is kept up with the events read');
    newest = since.newestId;
  }
  // Nothing new: nothing read, the same newest id.
  const none = await ask(server, 'ledgerlock/eventsSince', { ledger: file, afterId: newest, limit: 500 });
  assert.deepEqual(none.events, []);
  assert.equal(none.newestId, newest);
  // A burst bigger than asked: `more`, and the newest id read so far.
  appendFromAnotherProcess(
    file,
    Array.from({ length: 30 }, (_, i) => `{"type":"burst","i":${i}}\n`),
  );
  const burst = await ask(server, 'ledgerlock/eventsSince', { ledger: file, afterId: newest, limit: 10 });
  assert.equal(burst.more, true);
  assert.equal(burst.events.length, 10);
  assert.equal(burst.events[0].id, newest + 10);
  t.diagnostic(`eventsSince after 2 new lines on a ${BIG.toLocaleString('en')}-line log: median ${median(times)} ms, max ${Math.max(...times)} ms`);
  assert.ok(median(times) < 5000, `eventsSince took ${median(times)} ms (median)`);
});

test('server eventsSince: an afterId that is not an event id is refused with E_BAD_OPTION', async (t) => {
  const ws = tempDir(t, 'll-event-since-bad-');
  const file = path.join(ws, 'events.jsonl');
  fs.writeFileSync(file, '{"type":"a"}\n{"type":"b"}\n');
  const server = await startServer(t, { folders: [ws], trusted: true });
  await ask(server, 'ledgerlock/eventsPage', { ledger: file, cursor: null, limit: 50 });
  for (const afterId of ['abc', -5]) {
    const err = await ask(server, 'ledgerlock/eventsSince', { ledger: file, afterId, limit: 10 }).then(
      () => assert.fail(`afterId ${afterId} was accepted`),
      (e) => e,
    );
    assert.equal(err.rpc?.data?.code, 'E_BAD_OPTION', JSON.stringify(err.rpc));
  }
});

test('server eventRaw: the line exactly as the file holds it; nothing for a place that is not a record, or a file that is not a ledger here', async (t) => {
  const ws = tempDir(t, 'll-event-raw-');
  const file = path.join(ws, 'events.ndjson');
  // Spacing, key order, escapes and a UUID as another tool wrote them: a rebuilt object would differ.
  const lines = [
    '{"type":"agent.spawn",  "id":"e4465a9d-6af8-4c1e-9d2b-000000000001","note":"caf\\u00e9"}',
    '{ "z": 1, "type": "task.complete", "a": [1,2 ,3] }',
    '{"type":"memory.store","text":"ünïcode ✓"}',
  ];
  fs.writeFileSync(file, lines.map((l) => `${l}\n`).join(''));
  const server = await startServer(t, { folders: [ws], trusted: true });
  const page = await ask(server, 'ledgerlock/eventsPage', { ledger: file, cursor: null, limit: 50 });
  assert.equal(page.events.length, 3);
  for (const e of page.events) {
    const raw = await server.request('ledgerlock/eventRaw', { ledger: file, offset: e.offset, length: e.length });
    assert.equal(raw.text, lines[e.id - 1], `event #${e.id}`);
  }
  const second = page.events.find((e) => e.id === 2);
  const inside = await server.request('ledgerlock/eventRaw', { ledger: file, offset: second.offset + 3, length: 5 });
  assert.equal(inside.text, null, 'a place inside a line is not a record');
  const past = await server.request('ledgerlock/eventRaw', { ledger: file, offset: second.offset, length: 10_000 });
  assert.equal(past.text, null, 'past the end of the file');
  const secret = path.join(tempDir(t, 'll-event-raw-outside-'), 'secret.jsonl');
  fs.writeFileSync(secret, '{"type":"secret"}\n');
  const outside = await server.request('ledgerlock/eventRaw', { ledger: secret, offset: 0, length: 17 });
  assert.equal(outside.text, null, 'a file that is not a ledger of the workspace');
});

test('server eventsSince: Follow skips no event written while it reads (a writer appending every millisecond)', async (t) => {
  const ws = tempDir(t, 'll-event-since-race-');
  const file = path.join(ws, 'events.jsonl');
  fs.writeFileSync(file, '{"type":"start","n":0}\n');
  const server = await startServer(t, { folders: [ws], trusted: true });
  const first = await ask(server, 'ledgerlock/eventsPage', { ledger: file, cursor: null, limit: 50 });
  const writer = spawn(process.execPath, [
    '-e',
    `const fs = require('fs'); let n = 0; const t = setInterval(() => { for (let i = 0; i < 3; i++) fs.appendFileSync(process.argv[1], JSON.stringify({ type: 'tick', n: ++n }) + '\\n'); if (n >= 3000) clearInterval(t); }, 1);`,
    file,
  ]);
  t.after(() => writer.kill());
  const seen = first.events.map((e) => e.id);
  let newest = first.newestId;
  const done = new Promise((resolve) => writer.on('exit', resolve));
  let finished = false;
  void done.then(() => (finished = true));
  for (let last = false; !last;) {
    last = finished;
    const since = await ask(server, 'ledgerlock/eventsSince', { ledger: file, afterId: newest, limit: 1000 });
    assert.equal(since.more, false);
    seen.push(...since.events.map((e) => e.id).reverse());
    newest = since.newestId;
  }
  const want = Array.from({ length: 3001 }, (_, i) => i + 1);
  const missing = want.filter((id) => !seen.includes(id));
  assert.deepEqual(missing, [], `Follow skipped ${missing.length} events`);
  assert.deepEqual(seen, want, 'each event once, in order');
});
