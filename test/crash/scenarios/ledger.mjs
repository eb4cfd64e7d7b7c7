// Ledger protocols: single and grouped appends, appends onto a torn tail, repair, compaction.
import * as fs from 'node:fs';
import { appendSetupEvents, LEDGER, ledgerPath, payload, recoverAndCheck } from './ledger-recovery.mjs';
import * as path from 'node:path';
import { lastAck, listFiles } from './checks.mjs';

const keys = (prefix, n) => Array.from({ length: n }, (_, i) => `${prefix}${i + 1}`);
const SETUP = keys('s', 3);
const OPEN = { lockTimeoutMs: 3000 };

function ackOf(rec, event) {
  rec.ack('appended', { key: event.data.key, id: event.id, end: event.offset + event.length });
}

/** What the check expects, from the acknowledgements recorded before the crash point. */
function expectation(ctx, { setupKeys = SETUP, issuedKeys }) {
  const acked = ctx.acks.filter((a) => a.label === 'appended').map((a) => a.value);
  const setupBytes = ctx.recording.snapshot.inodes.get(ctx.recording.snapshot.lookup(LEDGER.join('/')))?.data.length ?? 0;
  return {
    setupKeys,
    issuedKeys,
    ackedKeys: acked,
    durableEnd: Math.max(setupBytes, ...acked.map((a) => a.end)),
  };
}

/** A record cut short by a crash: the start of a plausible line with no newline. */
function tornTail() {
  const line = JSON.stringify({ id: 4, ts: new Date(0).toISOString(), type: 'lost', data: payload('lost', 900) });
  return line.slice(0, 700);
}

/** The torn bytes were never acknowledged, but they never vanish: still in the ledger, or in a quarantine file. */
function tornTailKept(root) {
  const torn = tornTail();
  const places = [ledgerPath(root), ...listFiles(path.join(root, '.ledgerlock', 'quarantine'))].filter((f) => fs.existsSync(f));
  return places.some((f) => fs.readFileSync(f, 'latin1').includes(torn)) ? [] : ['the torn tail is gone from the ledger but in no quarantine file'];
}

/** The damaged line as the snapshot holds it. */
function damagedLine(ctx) {
  const snap = ctx.recording.snapshot;
  const text = snap.inodes.get(snap.lookup(LEDGER.join('/'))).data.toString('latin1');
  return text.split('\n').find((l) => l.includes('s2:X'));
}

/**
 * A scenario that appends onto the setup ledger: `run` acknowledges what it appended, and the
 * check expects every acknowledged key, and only issued ones, after recovery.
 */
function appendScenario({ name, protocol, issuedKeys, run }) {
  return {
    name,
    protocol,
    requires: ['openLedger'],
    setup: (root, engine) => appendSetupEvents(root, engine, SETUP),
    run,
    check: (root, ctx) => recoverAndCheck(root, ctx.engine, expectation(ctx, { issuedKeys })),
  };
}

/**
 * Two ledger handles appending at once: two descriptors and two fdatasyncs, one lock — how two
 * processes' writers meet in the file. Each flushes after the lock is let go, so one's flush
 * may be running while the other writes; the explorer credits a flush only with the writes
 * made before it started, so the states include a later record on disk above a hole.
 */
function twoWriters(name, { appendFirst = false }) {
  const issuedKeys = [...keys('p', 4), ...keys('q', 4)];
  return {
    name,
    protocol: 'ledger append (flush outside the lock)',
    requires: ['openLedger'],
    setup: (root, engine) => appendSetupEvents(root, engine, SETUP),
    async run(root, engine, rec) {
      const a = await engine.openLedger(ledgerPath(root), OPEN);
      const b = await engine.openLedger(ledgerPath(root), OPEN);
      const writer = async (ledger, prefix) => {
        for (const key of keys(prefix, 4)) ackOf(rec, await ledger.append('test', payload(key)));
      };
      await Promise.all([writer(a, 'p'), writer(b, 'q')]);
      await a.close();
      await b.close();
    },
    check: (root, ctx) => recoverAndCheck(root, ctx.engine, { ...expectation(ctx, { issuedKeys }), appendFirst }),
  };
}

export default [
  appendScenario({
    name: 'ledger/append',
    protocol: 'ledger append',
    issuedKeys: keys('a', 4),
    async run(root, engine, rec) {
      const ledger = await engine.openLedger(ledgerPath(root), OPEN);
      for (const key of keys('a', 4)) ackOf(rec, await ledger.append('test', payload(key)));
      await ledger.close();
    },
  }),
  {
    name: 'ledger/append-fresh-store',
    protocol: 'ledger append',
    requires: ['openLedger'],
    async run(root, engine, rec) {
      const ledger = await engine.openLedger(ledgerPath(root), OPEN);
      for (const key of keys('a', 2)) ackOf(rec, await ledger.append('test', payload(key)));
      await ledger.close();
    },
    check: (root, ctx) => recoverAndCheck(root, ctx.engine, expectation(ctx, { setupKeys: [], issuedKeys: keys('a', 2) })),
  },
  appendScenario({
    name: 'ledger/group-append',
    protocol: 'ledger append (grouped)',
    issuedKeys: [...keys('g', 6), ...keys('m', 3)],
    async run(root, engine, rec) {
      const ledger = await engine.openLedger(ledgerPath(root), OPEN);
      // Issued in one tick, so the group committer gathers them into shared writes and fsyncs.
      const singles = keys('g', 6).map((key) => ledger.append('test', payload(key)).then((e) => ackOf(rec, e)));
      const many = ledger.appendMany(keys('m', 3).map((key) => ({ type: 'test', data: payload(key) }))).then((es) => es.forEach((e) => ackOf(rec, e)));
      await Promise.all([...singles, many]);
      await ledger.close();
    },
  }),
  twoWriters('ledger/two-writers', {}),
  twoWriters('ledger/two-writers-append-first', { appendFirst: true }),
  appendScenario({
    name: 'ledger/keyed-retry',
    protocol: 'ledger append (keyed)',
    issuedKeys: keys('k', 3),
    async run(root, engine, rec) {
      // A retry with the same key returns the first event: after any crash, each key once.
      const ledger = await engine.openLedger(ledgerPath(root), OPEN);
      for (const key of keys('k', 3)) ackOf(rec, await ledger.append('test', payload(key), { key }));
      const again = await ledger.append('test', payload('k2'), { key: 'k2' });
      rec.ack('retried', { id: again.id });
      await ledger.close();
    },
  }),
  appendScenario({
    name: 'ledger/batch-append',
    protocol: 'ledger append (grouped)',
    issuedKeys: keys('b', 6),
    async run(root, engine, rec) {
      // `batch` resolves after a shared, timer-driven fdatasync: still durable when it resolves.
      const ledger = await engine.openLedger(ledgerPath(root), { ...OPEN, durability: 'batch', batchDelayMs: 5 });
      await Promise.all(keys('b', 5).map((key) => ledger.append('test', payload(key)).then((e) => ackOf(rec, e))));
      ackOf(rec, await ledger.append('test', payload('b6')));
      await ledger.close();
    },
  }),
  appendScenario({
    name: 'ledger/append-sync',
    protocol: 'ledger appendSync',
    issuedKeys: [...keys('a', 3), ...keys('m', 2)],
    async run(root, engine, rec) {
      const ledger = await engine.openLedger(ledgerPath(root), OPEN);
      for (const key of keys('a', 3)) ackOf(rec, ledger.appendSync('test', payload(key)));
      for (const e of ledger.appendManySync(keys('m', 2).map((key) => ({ type: 'test', data: payload(key) })))) ackOf(rec, e);
      await ledger.close();
    },
  }),
  appendScenario({
    name: 'ledger/append-sync-batch',
    protocol: 'ledger appendSync',
    issuedKeys: keys('b', 4),
    async run(root, engine, rec) {
      // `batch` mode: an async append waits for the shared fsync; a sync append is fsynced before it returns.
      const ledger = await engine.openLedger(ledgerPath(root), { ...OPEN, durability: 'batch', batchDelayMs: 5 });
      ackOf(rec, await ledger.append('test', payload('b1')));
      ackOf(rec, ledger.appendSync('test', payload('b2')));
      ackOf(rec, await ledger.append('test', payload('b3')));
      ackOf(rec, ledger.appendSync('test', payload('b4')));
      await ledger.close();
    },
  }),
  {
    name: 'ledger/append-sync-onto-torn-tail',
    protocol: 'ledger appendSync',
    requires: ['openLedger'],
    async setup(root, engine) {
      await appendSetupEvents(root, engine, SETUP);
      fs.appendFileSync(ledgerPath(root), tornTail());
    },
    async run(root, engine, rec) {
      const ledger = await engine.openLedger(ledgerPath(root), OPEN);
      ackOf(rec, ledger.appendSync('test', payload('a1')));
      await ledger.close();
    },
    check: async (root, ctx) => [...tornTailKept(root), ...(await recoverAndCheck(root, ctx.engine, expectation(ctx, { issuedKeys: ['a1'] })))],
  },
  {
    name: 'ledger/append-onto-torn-tail',
    protocol: 'ledger repair',
    requires: ['openLedger'],
    async setup(root, engine) {
      await appendSetupEvents(root, engine, SETUP);
      fs.appendFileSync(ledgerPath(root), tornTail());
    },
    async run(root, engine, rec) {
      const ledger = await engine.openLedger(ledgerPath(root), OPEN);
      ackOf(rec, await ledger.append('test', payload('a1')));
      await ledger.close();
    },
    check: (root, ctx) => recoverAndCheck(root, ctx.engine, expectation(ctx, { issuedKeys: ['a1'] })),
  },
  {
    name: 'ledger/repair',
    protocol: 'ledger repair',
    requires: ['openLedger'],
    async setup(root, engine) {
      await appendSetupEvents(root, engine, SETUP);
      fs.appendFileSync(ledgerPath(root), tornTail());
    },
    async run(root, engine, rec) {
      const ledger = await engine.openLedger(ledgerPath(root), OPEN);
      const result = await ledger.repair();
      rec.ack('repaired', { bytesRemoved: result.bytesRemoved });
      await ledger.close();
    },
    async check(root, ctx) {
      // The torn bytes were never acknowledged, but they must never vanish either: in the
      // crash state they are still in the ledger or already in a quarantine file.
      const torn = tornTail();
      const out = tornTailKept(root);
      if (lastAck(ctx.acks, 'repaired') && fs.existsSync(ledgerPath(root)) && fs.readFileSync(ledgerPath(root), 'latin1').includes(torn))
        out.push('the repair was acknowledged, yet the torn tail is back in the ledger');
      return [...out, ...(await recoverAndCheck(root, ctx.engine, expectation(ctx, { issuedKeys: [] })))];
    },
  },
  {
    name: 'ledger/repair-foreign',
    protocol: 'ledger repair',
    requires: ['openLedger'],
    setup(root) {
      // A plain JSONL log of some other tool, no store anywhere: its quarantine is `<ledger>.quarantine/`.
      fs.mkdirSync(path.join(root, 'logs'));
      const lines = keys('f', 4).map((key) => JSON.stringify({ ts: new Date(0).toISOString(), ...payload(key) }));
      fs.writeFileSync(path.join(root, 'logs', 'app.jsonl'), `${lines.join('\n')}\n${tornTail()}`);
    },
    async run(root, engine, rec) {
      const ledger = await engine.openLedger(path.join(root, 'logs', 'app.jsonl'), OPEN);
      const result = await ledger.repair();
      rec.ack('repaired', { bytesRemoved: result.bytesRemoved });
      await ledger.close();
    },
    async check(root, ctx) {
      const file = path.join(root, 'logs', 'app.jsonl');
      const torn = tornTail();
      const out = listFiles(root).some((f) => fs.readFileSync(f, 'latin1').includes(torn))
        ? []
        : ['the torn tail is gone from the foreign ledger but in no quarantine file'];
      if (lastAck(ctx.acks, 'repaired') && fs.readFileSync(file, 'latin1').includes(torn))
        out.push('the repair was acknowledged, yet the torn tail is back in the ledger');
      const ledger = await ctx.engine.openLedger(file, OPEN);
      try {
        const report = await ledger.verify();
        if (report.health === 'torn') await ledger.repair();
        const keysNow = (await ledger.range({})).map((e) => e.data?.key);
        if (keysNow.join() !== keys('f', 4).join()) out.push(`the foreign ledger holds ${JSON.stringify(keysNow)} after recovery`);
      } finally {
        await ledger.close();
      }
      return out;
    },
  },
  {
    name: 'ledger/quarantine-record',
    protocol: 'ledger repair',
    requires: ['openLedger'],
    async setup(root, engine) {
      await appendSetupEvents(root, engine, keys('s', 5));
      // Flip one payload byte of the second record: its checksum fails, valid records follow.
      const bytes = fs.readFileSync(ledgerPath(root));
      const at = bytes.indexOf('s2:');
      bytes[at + 3] = 'X'.charCodeAt(0);
      fs.writeFileSync(ledgerPath(root), bytes);
    },
    async run(root, engine, rec) {
      const ledger = await engine.openLedger(ledgerPath(root), OPEN);
      const bad = (await ledger.verify()).problems.find((p) => p.kind !== 'torn-tail');
      const r = await ledger.quarantineRecord(bad.offset);
      rec.ack('quarantined', { removedBytes: r.removedBytes });
      await ledger.close();
    },
    async check(root, ctx) {
      const damaged = damagedLine(ctx);
      const places = [ledgerPath(root), ...listFiles(path.join(root, '.ledgerlock', 'quarantine'))].filter((f) => fs.existsSync(f));
      const out = places.some((f) => fs.readFileSync(f, 'latin1').includes(damaged))
        ? []
        : ['the damaged record is gone from the ledger but in no quarantine file'];
      if (lastAck(ctx.acks, 'quarantined') && fs.existsSync(ledgerPath(root)) && fs.readFileSync(ledgerPath(root), 'latin1').includes(damaged))
        out.push('the quarantine of the damaged record was acknowledged, yet the record is back in the ledger');
      const setupKeys = ['s1', 's3', 's4', 's5'];
      return [
        ...out,
        ...(await recoverAndCheck(root, ctx.engine, { ...expectation(ctx, { setupKeys, issuedKeys: [] }), setupIds: [1, 3, 4, 5], durableEnd: 0 })),
      ];
    },
  },
  {
    name: 'ledger/compact-indexed',
    protocol: 'ledger compaction',
    requires: ['openLedger'],
    async setup(root, engine) {
      // Big enough (~240 KiB) for the sparse index to have entries; a read saves it.
      await appendSetupEvents(root, engine, keys('s', 600));
      const ledger = await engine.openLedger(ledgerPath(root), OPEN);
      await ledger.range({ fromId: 450 });
      await ledger.close();
    },
    async run(root, engine, rec) {
      const ledger = await engine.openLedger(ledgerPath(root), OPEN);
      const result = await ledger.compact({ keep: 300 });
      rec.ack('compacted', { kept: result.kept });
      ackOf(rec, await ledger.append('test', payload('a1')));
      await ledger.range({ fromId: 500 });
      await ledger.close();
    },
    check(root, ctx) {
      const compacted = lastAck(ctx.acks, 'compacted') !== undefined;
      const exp = expectation(ctx, { setupKeys: keys('s', 600), issuedKeys: ['a1'] });
      return recoverAndCheck(root, ctx.engine, { ...exp, durableEnd: 0, firstKept: 300, compacted });
    },
  },
  {
    name: 'ledger/compact',
    protocol: 'ledger compaction',
    requires: ['openLedger'],
    setup: (root, engine) => appendSetupEvents(root, engine, keys('s', 12)),
    async run(root, engine, rec) {
      const ledger = await engine.openLedger(ledgerPath(root), OPEN);
      const result = await ledger.compact({ keep: 4 });
      rec.ack('compacted', { kept: result.kept });
      ackOf(rec, await ledger.append('test', payload('a1')));
      await ledger.close();
    },
    check(root, ctx) {
      const compacted = lastAck(ctx.acks, 'compacted') !== undefined;
      const exp = expectation(ctx, { setupKeys: keys('s', 12), issuedKeys: ['a1'] });
      // Before the compaction is acknowledged every event may still be there; after, only the newest 4 must be.
      return recoverAndCheck(root, ctx.engine, { ...exp, durableEnd: 0, firstKept: 8, compacted });
    },
  },
];
