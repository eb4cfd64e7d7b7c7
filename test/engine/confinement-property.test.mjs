// Property: whatever a cloned workspace holds — symlinks pointing inside, outside, nowhere or
// in loops, FIFOs, sockets, huge sparse files, garbage where the store expects documents —
// every read and repair path of the engine returns (or refuses) within a bound, and no byte
// outside the workspace changes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { engine } from '../fixtures/ledger-helpers.mjs';

const CALL_BOUND_MS = 20_000;

/** Where things may sit in a workspace: the store's own places and ordinary folders. */
const PLACES = [
  '.ledgerlock', '.ledgerlock/store.json', '.ledgerlock/ledgers', '.ledgerlock/ledgers/events.jsonl', '.ledgerlock/ledgers/other.jsonl',
  '.ledgerlock/ledgers/events.idx', '.ledgerlock/locks', '.ledgerlock/locks/build.lock', '.ledgerlock/locks/events.lock',
  '.ledgerlock/state', '.ledgerlock/state/doc.json', '.ledgerlock/quarantine', '.ledgerlock/tmp', '.ledgerlock/telemetry.jsonl',
  '.ledgerlock/snapshots', '.ledgerlock/blobs.json',
  'logs', 'logs/app.jsonl', 'logs/app.lock', 'run', 'run/job.lock', 'data.ndjson',
];

const OUTSIDE_TARGETS = ['victim.txt', 'victim.jsonl', 'victimdir', 'victimdir/x.lock', 'victimdir/ledgers', 'nothing-here'];

const kind = fc.oneof(
  fc.record({ type: fc.constant('ledger'), records: fc.integer({ min: 0, max: 5 }), damage: fc.constantFrom('none', 'torn', 'flip-first', 'garbage') }),
  fc.record({ type: fc.constant('garbage'), bytes: fc.uint8Array({ maxLength: 300 }) }),
  fc.record({ type: fc.constant('dir') }),
  fc.record({ type: fc.constant('link-inside'), to: fc.constantFrom(...PLACES) }),
  fc.record({ type: fc.constant('link-outside'), to: fc.constantFrom(...OUTSIDE_TARGETS) }),
  fc.record({ type: fc.constant('link-dangling') }),
  fc.record({ type: fc.constant('link-loop') }),
  fc.record({ type: fc.constant('fifo') }),
  fc.record({ type: fc.constant('socket') }),
  fc.record({ type: fc.constant('sparse'), megabytes: fc.integer({ min: 17, max: 100 }) }),
);

const tree = fc.uniqueArray(fc.record({ place: fc.constantFrom(...PLACES), what: kind }), { selector: (e) => e.place, maxLength: 10 });

let template = Buffer.alloc(0);
let templateStarts = [0];

/** The first `n` records of a real native ledger (written once by the engine). */
function nativeLines(n) {
  return template.subarray(0, templateStarts[Math.min(n, templateStarts.length - 1)]);
}

async function makeTemplate() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'll-prop-template-'));
  const file = path.join(dir, '.ledgerlock', 'ledgers', 'events.jsonl');
  const ledger = await engine.openLedger(file, { telemetry: false, durability: 'none' });
  await ledger.appendMany(Array.from({ length: 5 }, (_, i) => ({ type: 'test', data: { n: i + 1 } })));
  await ledger.close();
  template = fs.readFileSync(file);
  templateStarts = [0];
  for (let i = 0; i < template.length; i++) if (template[i] === 0x0a) templateStarts.push(i + 1);
  fs.rmSync(dir, { recursive: true, force: true });
}

function outsideTree(dir) {
  fs.mkdirSync(path.join(dir, 'victimdir', 'ledgers'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'victim.txt'), 'root:x:0:0:root:/root:/bin/bash\n'.repeat(20));
  fs.writeFileSync(path.join(dir, 'victim.jsonl'), Buffer.concat([nativeLines(3), Buffer.from('{"id":4,"ts":"tor')]));
  fs.writeFileSync(path.join(dir, 'victimdir', 'x.lock'), '');
  const old = new Date(Date.now() - 3_600_000);
  fs.utimesSync(path.join(dir, 'victimdir', 'x.lock'), old, old);
  fs.utimesSync(path.join(dir, 'victimdir'), old, old);
}

/** Names, types, sizes, bytes and mtimes of everything under `dir`, without following links. */
function fingerprint(dir) {
  const out = [];
  const walk = (d) => {
    for (const name of fs.readdirSync(d).sort()) {
      const p = path.join(d, name);
      const st = fs.lstatSync(p);
      const rel = path.relative(dir, p);
      if (st.isDirectory()) {
        out.push(`${rel}/ ${st.mtimeMs}`);
        walk(p);
      } else if (st.isFile()) {
        out.push(`${rel} ${st.size} ${st.mtimeMs} ${createHash('sha256').update(fs.readFileSync(p)).digest('hex')}`);
      } else {
        out.push(`${rel} ${st.isSymbolicLink() ? `-> ${fs.readlinkSync(p)}` : 'special'}`);
      }
    }
  };
  walk(dir);
  return out;
}

const sockets = [];

function build(ws, outside, entries) {
  for (const { place, what } of entries) {
    const p = path.join(ws, place);
    try {
      fs.mkdirSync(path.dirname(p), { recursive: true });
      if (fs.existsSync(p) || isLink(p)) continue; // an earlier entry made it (as a parent)
      switch (what.type) {
        case 'ledger': {
          let bytes = nativeLines(what.records);
          if (what.damage === 'torn') bytes = Buffer.concat([bytes, Buffer.from('{"id":99,"ts":"x')]);
          if (what.damage === 'flip-first' && bytes.length > 20) bytes[15] ^= 1;
          if (what.damage === 'garbage') bytes = Buffer.concat([bytes, Buffer.from('not json\n')]);
          fs.writeFileSync(p, bytes);
          break;
        }
        case 'garbage': fs.writeFileSync(p, what.bytes); break;
        case 'dir': fs.mkdirSync(p); break;
        case 'link-inside': fs.symlinkSync(path.join(ws, what.to), p); break;
        case 'link-outside': fs.symlinkSync(path.join(outside, what.to), p); break;
        case 'link-dangling': fs.symlinkSync(path.join(ws, 'no', 'such', 'thing'), p); break;
        case 'link-loop': fs.symlinkSync(p, p); break;
        case 'fifo': execFileSync('mkfifo', [p]); break;
        case 'socket': {
          const server = net.createServer();
          server.listen(p);
          sockets.push(server);
          break;
        }
        case 'sparse': fs.writeFileSync(p, ''); fs.truncateSync(p, what.megabytes * 1024 * 1024); break;
      }
    } catch {
      // A place under something that is not a folder (a file, a FIFO): that entry is skipped.
    }
  }
}

function isLink(p) {
  try { return fs.lstatSync(p).isSymbolicLink(); } catch { return false; }
}

/** Runs `fn`; a rejection is fine (a refusal), a non-Ledgerlock failure or an overrun is not. */
async function bounded(label, fn, failures) {
  let timer;
  const overrun = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${label} did not return within ${CALL_BOUND_MS} ms`)), CALL_BOUND_MS); });
  try {
    await Promise.race([fn(), overrun]);
  } catch (err) {
    if (/did not return within/.test(err.message)) throw err;
    if (typeof err?.code !== 'string' || !err.code.startsWith('E')) failures.push(`${label}: ${err?.stack ?? err}`);
  } finally {
    clearTimeout(timer);
  }
}

async function everyPath(ws) {
  const failures = [];
  const ledgers = ['.ledgerlock/ledgers/events.jsonl', '.ledgerlock/ledgers/other.jsonl', '.ledgerlock/telemetry.jsonl', 'logs/app.jsonl', 'data.ndjson'].map((p) => path.join(ws, p));
  const locks = ['.ledgerlock/locks/build.lock', '.ledgerlock/locks/events.lock', 'logs/app.lock', 'run/job.lock'].map((p) => path.join(ws, p));
  await engine.withinRoot(ws, async () => {
    await bounded('readStoreManifest', () => engine.readStoreManifest(engine.storePaths(ws)), failures);
    await bounded('discoverLedgers', () => engine.discoverLedgers(ws), failures);
    await bounded('listLocks', () => engine.listLocks(ws), failures);
    await bounded('readJsonFile', () => engine.readJsonFile(path.join(ws, '.ledgerlock/state/doc.json'), { parse: (v) => v, safeParse: (v) => ({ success: true, data: v }) }), failures);
    await bounded('listSnapshots', () => engine.listSnapshots(engine.snapshotPaths(ws)), failures);
    for (const file of ledgers) {
      await bounded(`ledger ops on ${path.relative(ws, file)}`, async () => {
        const ledger = await engine.openLedger(file, { create: false, telemetry: false, durability: 'none', lockTimeoutMs: 2_000 });
        try {
          for (const op of [() => ledger.stats(), () => ledger.tail(3), () => ledger.page({ limit: 3 }), () => ledger.range({}), () => ledger.verify(), () => ledger.repair(), () => ledger.append('t', { x: 1 }), () => ledger.compact({ keep: 1 })]) {
            await bounded(`${path.relative(ws, file)} ${op.toString().slice(12, 40)}`, op, failures);
          }
        } finally {
          await ledger.close();
        }
      }, failures);
    }
    for (const lock of locks) {
      await bounded(`inspectLock ${path.relative(ws, lock)}`, () => engine.inspectLock(lock), failures);
      await bounded(`reapLock ${path.relative(ws, lock)}`, () => engine.reapLock(lock, { force: true, staleMs: 1, guardTimeoutMs: 1_000 }), failures);
    }
    await bounded('ensureStore', () => engine.ensureStore(ws), failures);
    await bounded('append creating a ledger', async () => {
      const ledger = await engine.openLedger(path.join(ws, '.ledgerlock/ledgers/new.jsonl'), { telemetry: false, durability: 'none', lockTimeoutMs: 2_000 });
      try { await ledger.append('t', 1); } finally { await ledger.close(); }
    }, failures);
  });
  return failures;
}

test('property: on any hostile workspace every read and repair path returns within a bound and no byte outside changes', { timeout: 600_000 }, async () => {
  await makeTemplate();
  await fc.assert(
    fc.asyncProperty(tree, async (entries) => {
      const base = fs.mkdtempSync(path.join(os.tmpdir(), 'll-prop-'));
      const ws = path.join(base, 'ws');
      const outside = path.join(base, 'outside');
      fs.mkdirSync(ws);
      fs.mkdirSync(outside);
      try {
        outsideTree(outside);
        build(ws, outside, entries);
        const before = fingerprint(outside);
        const failures = await everyPath(ws);
        assert.deepEqual(fingerprint(outside), before, 'nothing outside the workspace changed');
        assert.deepEqual(failures, [], 'every failure is a refusal with a stable code');
      } finally {
        for (const s of sockets.splice(0)) s.close();
        fs.rmSync(base, { recursive: true, force: true });
      }
    }),
    { numRuns: Number(process.env.LEDGERLOCK_PROPERTY_RUNS ?? 40), seed: Number(process.env.LEDGERLOCK_PROPERTY_SEED ?? 9) },
  );
});
