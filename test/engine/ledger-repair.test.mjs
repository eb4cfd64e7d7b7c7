import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { engine, lineStarts, makeLedger, quarantineFiles, telemetryEvents, workspace, withLedger } from '../fixtures/ledger-helpers.mjs';

const opts = { durability: 'none' };

// Each shape: what a crash (or a stray write) can leave at the end of a ledger of 5 records.
const tornShapes = {
  'a partial line': (good) => good.subarray(0, lineStarts(good)[4] + 30),
  'a last record without its newline': (good) => good.subarray(0, good.length - 1),
  'a NUL-filled tail': (good) => Buffer.concat([good, Buffer.alloc(4096)]),
  'a last record whose checksum fails': (good) => {
    const bytes = Buffer.from(good);
    bytes[lineStarts(good)[4] + 20] ^= 0x01;
    return bytes;
  },
  'a garbage last line': (good) => Buffer.concat([good, Buffer.from('}}not json at all{{\n')]),
};

for (const [shape, damage] of Object.entries(tornShapes)) {
  test(`${shape}: verify says torn, repair quarantines exactly the cut bytes, truncates, records it, and a second repair is a no-op`, async () => {
    const ws = workspace();
    const good = await makeLedger(ws.ledger, 5);
    const damaged = damage(good);
    fs.writeFileSync(ws.ledger, damaged);
    await withLedger(ws.ledger, opts, async (ledger) => {
      const report = await ledger.verify();
      assert.equal(report.health, 'torn');
      assert.ok(report.problems.length >= 1);
      const validBytes = report.validBytes;
      assert.equal(lineStarts(good).includes(validBytes) || validBytes === good.length, true, 'the cut is at a record boundary');
      assert.deepEqual(damaged.subarray(0, validBytes), good.subarray(0, validBytes));

      const repaired = await ledger.repair();
      assert.equal(repaired.repaired, true);
      assert.equal(repaired.truncatedAt, validBytes);
      assert.equal(repaired.bytesRemoved, damaged.length - validBytes);
      assert.deepEqual(fs.readFileSync(ws.ledger), damaged.subarray(0, validBytes), 'the ledger is cut at the last valid record');
      assert.equal(path.dirname(repaired.quarantine), ws.quarantine);
      assert.deepEqual(fs.readFileSync(repaired.quarantine), damaged.subarray(validBytes), 'quarantine holds exactly the cut bytes');
      assert.equal((await ledger.verify()).health, 'ok');

      const recoveries = telemetryEvents(ws.telemetry).filter((e) => e.type === 'CORRUPT_TAIL_RECOVERY');
      assert.equal(recoveries.length, 1);
      assert.equal(recoveries[0].data.ledger, ws.ledger);
      assert.equal(recoveries[0].data.truncatedAt, validBytes);
      assert.equal(recoveries[0].data.bytesRemoved, repaired.bytesRemoved);
      assert.equal(recoveries[0].data.quarantine, repaired.quarantine);

      const again = await ledger.repair();
      assert.equal(again.repaired, false);
      assert.equal(again.bytesRemoved, 0);
      assert.equal(quarantineFiles(ws.quarantine).length, 1, 'nothing more is quarantined');
      assert.equal(telemetryEvents(ws.telemetry).filter((e) => e.type === 'CORRUPT_TAIL_RECOVERY').length, 1);
    });
  });
}

test('an append onto a torn tail cuts the tail first and never glues a record onto a partial line', async () => {
  const ws = workspace();
  const good = await makeLedger(ws.ledger, 5);
  const torn = good.subarray(0, lineStarts(good)[4] + 17);
  fs.writeFileSync(ws.ledger, torn);
  await withLedger(ws.ledger, opts, async (ledger) => {
    const e = await ledger.append('after-crash', { ok: true });
    assert.equal(e.id, 5, 'the torn record 5 never counted; the new record takes its id');
    assert.equal(e.offset, lineStarts(good)[4]);
    const report = await ledger.verify();
    assert.equal(report.health, 'ok');
    assert.deepEqual((await ledger.tail(10)).map((x) => x.id), [1, 2, 3, 4, 5]);
  });
  const [q] = quarantineFiles(ws.quarantine);
  assert.deepEqual(fs.readFileSync(q), torn.subarray(lineStarts(good)[4]));
  assert.equal(telemetryEvents(ws.telemetry).filter((e) => e.type === 'CORRUPT_TAIL_RECOVERY').length, 1);
});

test('a damaged record followed by valid ones is corruption: verify says corrupt, repair cuts nothing, quarantineRecord removes exactly that record', async () => {
  const ws = workspace();
  const good = await makeLedger(ws.ledger, 6);
  const starts = lineStarts(good);
  const damaged = Buffer.from(good);
  damaged[starts[2] + 25] ^= 0x04; // record 3
  fs.writeFileSync(ws.ledger, damaged);
  await withLedger(ws.ledger, opts, async (ledger) => {
    const report = await ledger.verify();
    assert.equal(report.health, 'corrupt');
    assert.equal(report.problems.length, 1);
    assert.equal(report.problems[0].kind, 'checksum-mismatch');
    assert.equal(report.problems[0].line, 3);
    assert.equal(report.problems[0].offset, starts[2]);

    const untouched = await ledger.repair();
    assert.equal(untouched.repaired, false, 'damage followed by valid records is not a torn tail');
    assert.equal(untouched.tail.health, 'ok');
    assert.deepEqual(fs.readFileSync(ws.ledger), damaged, 'repair never cuts corruption');
    await assert.rejects(ledger.quarantineRecord(starts[1]), { code: 'E_BAD_INPUT' }, 'a valid record is never quarantined');
    await assert.rejects(ledger.quarantineRecord(starts[2] + 1), { code: 'E_BAD_INPUT' }, 'an offset inside a line is refused');

    const q = await ledger.quarantineRecord(starts[2]);
    assert.equal(q.removedBytes, starts[3] - starts[2]);
    assert.deepEqual(fs.readFileSync(q.quarantine), damaged.subarray(starts[2], starts[3]), 'the original bytes are kept');
    assert.deepEqual(fs.readFileSync(ws.ledger), Buffer.concat([good.subarray(0, starts[2]), good.subarray(starts[3])]));
    assert.equal((await ledger.verify()).health, 'ok');
    assert.deepEqual((await ledger.tail(10)).map((e) => e.id), [1, 2, 4, 5, 6]);
    assert.equal((await ledger.append('next')).id, 7);
  });
  const events = telemetryEvents(ws.telemetry).filter((e) => e.type === 'CORRUPT_RECORD_QUARANTINED');
  assert.equal(events.length, 1);
  assert.equal(events[0].data.line, 3);
  assert.equal(events[0].data.reason, 'checksum-mismatch');
});

test('an append onto a ledger with a corrupt middle is allowed: it needs only a valid tail', async () => {
  const ws = workspace();
  const good = await makeLedger(ws.ledger, 4);
  const damaged = Buffer.from(good);
  damaged[lineStarts(good)[1] + 3] = 0x7e;
  fs.writeFileSync(ws.ledger, damaged);
  await withLedger(ws.ledger, opts, async (ledger) => {
    assert.equal((await ledger.append('t')).id, 5);
    assert.equal((await ledger.verify()).health, 'corrupt');
  });
  assert.deepEqual(quarantineFiles(ws.quarantine), [], 'nothing was cut');
});

test('a 20 MB line and invalid UTF-8 get stable codes, no crash, and no valid record is lost', async () => {
  const ws = workspace();
  const good = await makeLedger(ws.ledger, 3);
  const huge = Buffer.alloc(20 * 1024 * 1024, 0x61);
  const badUtf8 = Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]);
  const tail = await makeLedger(path.join(ws.root, 'other.jsonl'), 5);
  const after = tail.subarray(lineStarts(tail)[3]); // records 4 and 5
  fs.writeFileSync(ws.ledger, Buffer.concat([good, huge, Buffer.from('\n'), badUtf8, Buffer.from('\n'), after]));
  await withLedger(ws.ledger, opts, async (ledger) => {
    const report = await ledger.verify();
    assert.equal(report.health, 'corrupt');
    assert.deepEqual(report.problems.map((p) => [p.kind, p.code, p.line]), [
      ['line-too-long', 'E_LINE_TOO_LONG', 4],
      ['invalid-utf8', 'E_INVALID_UTF8', 5],
    ]);
    assert.equal(report.events, 5);
    assert.deepEqual((await ledger.tail(10)).map((e) => e.id), [1, 2, 3, 4, 5]);
    assert.deepEqual((await ledger.page({ limit: 10 })).events.map((e) => e.id), [5, 4, 3, 2, 1]);
    assert.deepEqual((await ledger.range({ fromId: 1 })).map((e) => e.id), [1, 2, 3, 4, 5]);
    assert.equal((await ledger.repair()).repaired, false, 'repair leaves damage that valid records follow');
  });
  // The same damage at the end is a torn tail; repair keeps every valid record before it.
  fs.writeFileSync(ws.ledger, Buffer.concat([good, huge, Buffer.from('\n'), badUtf8]));
  await withLedger(ws.ledger, opts, async (ledger) => {
    const r = await ledger.repair();
    assert.equal(r.tail.health, 'torn');
    assert.deepEqual(r.tail.problems.map((p) => p.kind), ['line-too-long', 'torn-tail'], 'the unterminated last line is torn');
    assert.equal(r.truncatedAt, good.length);
    assert.deepEqual(fs.readFileSync(ws.ledger), good);
  });
});

test('a huge unterminated line at the end is read backwards without holding it', async () => {
  const ws = workspace();
  const good = await makeLedger(ws.ledger, 3);
  fs.writeFileSync(ws.ledger, Buffer.concat([good, Buffer.alloc(3 * 1024 * 1024, 0x62)]));
  await withLedger(ws.ledger, { ...opts, maxLineBytes: 1024 * 1024 }, async (ledger) => {
    assert.deepEqual((await ledger.tail(2)).map((e) => e.id), [2, 3]);
    const s = await ledger.stats();
    assert.equal(s.health, 'torn');
    assert.equal(s.lastId, 3);
    assert.equal((await ledger.append('x')).id, 4);
  });
});

test('property: arbitrary bytes after valid records never make repair drop a valid record before the damage, nor throw a foreign error', async () => {
  const ws = workspace();
  const good = await makeLedger(ws.ledger, 4);
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 300 }), fc.boolean(), async (junk, withNewline) => {
      const damaged = Buffer.concat([good, Buffer.from(junk), withNewline ? Buffer.from('\n') : Buffer.alloc(0)]);
      fs.writeFileSync(ws.ledger, damaged);
      const ledger = await engine.openLedger(ws.ledger, { ...opts, telemetry: false });
      try {
        const report = await ledger.verify();
        assert.ok(report.validBytes >= good.length, 'verify counts every original record as valid');
        const r = await ledger.repair(); // only ever cuts after the newest valid record
        assert.ok(r.truncatedAt >= good.length);
        const bytes = fs.readFileSync(ws.ledger);
        assert.deepEqual(bytes.subarray(0, good.length), good, 'the valid prefix is intact');
        assert.deepEqual((await ledger.range({ fromId: 1, toId: 4 })).map((e) => e.id), [1, 2, 3, 4]);
      } finally {
        await ledger.close();
      }
    }),
    { numRuns: 200 },
  );
});
