// `npm run bench`: Ledgerlock against its anchors, measured side by side in one run.
// Prints a table of ratios with each target from issue 2, and writes test-results/bench.json.
// A missed target is reported, never a failure: benchmarks are not tests.
import { fork } from 'node:child_process';
import { closeSync, fdatasyncSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fmt, medianMs, rate } from './measure.mjs';

const require = createRequire(import.meta.url);
const engine = require('../../dist/engine.js');
const Database = require('better-sqlite3');
const properLockfile = require('proper-lockfile');
const writeFileAtomic = require('write-file-atomic');

const quick = process.argv.includes('--quick');
const BIG_BYTES = quick ? 64 * 1024 * 1024 : 1024 * 1024 * 1024;
const root = mkdtempSync(join(process.env.LEDGERLOCK_BENCH_DIR ?? tmpdir(), 'll-bench-'));
const payload = { user: 'bench', action: 'update', value: 'x'.repeat(100) };
const line = Buffer.from(JSON.stringify({ id: 1, ts: new Date().toISOString(), type: 'bench', data: payload, crc: '00000000' }) + '\n');
const rows = [];

/**
 * One table row. `higher` rows compare rates (ratio = value / anchor, target is a minimum);
 * `lower` rows compare times (ratio = value / anchor, target is a maximum).
 */
function row(name, value, unit, anchorName, anchorValue, target, better = 'higher') {
  const ratio = anchorValue === undefined ? undefined : value / anchorValue;
  const met = target === undefined || ratio === undefined ? undefined : better === 'higher' ? ratio >= target : ratio <= target;
  rows.push({ name, value, unit, anchor: anchorName, anchorValue, ratio, target, better, met });
  const bound = better === 'higher' ? '≥' : '≤';
  const r = ratio === undefined ? '' : `  ${fmt(ratio)}× ${anchorName}${target !== undefined ? ` (target ${bound} ${target}×: ${met ? 'met' : 'MISSED'})` : ''}`;
  console.log(`${name.padEnd(44)} ${fmt(value).padStart(12)} ${unit}${r}`);
}

async function freshLedger(name, options = {}) {
  const dir = join(root, name);
  await engine.ensureStore(dir);
  return engine.openLedger(join(dir, '.ledgerlock/ledgers/events.jsonl'), { telemetry: false, ...options });
}

async function rawFdatasyncLoop() {
  const fd = openSync(join(root, 'raw.bin'), 'a');
  try {
    return await rate(() => { writeSync(fd, line); fdatasyncSync(fd); });
  } finally {
    closeSync(fd);
  }
}

/** The same loop through Node's async file API: the ceiling for I/O that never blocks the event loop. */
async function asyncFdatasyncLoop() {
  const { open } = await import('node:fs/promises');
  const handle = await open(join(root, 'raw-async.bin'), 'a');
  try {
    return await rate(async () => { await handle.write(line); await handle.datasync(); });
  } finally {
    await handle.close();
  }
}

function sqliteFull() {
  const db = new Database(join(root, 'anchor.sqlite'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE events (id INTEGER PRIMARY KEY, ts TEXT, type TEXT, data TEXT)');
  const insert = db.prepare('INSERT INTO events (ts, type, data) VALUES (?, ?, ?)');
  const json = JSON.stringify(payload);
  return rate(() => insert.run(new Date().toISOString(), 'bench', json)).finally(() => db.close());
}

async function appendOneProducer() {
  const ledger = await freshLedger('one');
  try {
    return await rate(() => ledger.append('bench', payload));
  } finally {
    await ledger.close();
  }
}

async function appendConcurrent(producers) {
  const ledger = await freshLedger(`many-${producers}`);
  try {
    let done = 0;
    const start = performance.now();
    const until = start + 1500;
    await Promise.all(Array.from({ length: producers }, async () => {
      while (performance.now() < until) {
        await ledger.append('bench', payload);
        done++;
      }
    }));
    return done / ((performance.now() - start) / 1000);
  } finally {
    await ledger.close();
  }
}

/** Appends from `processes` child processes to one ledger at once; total events per second. */
async function appendProcesses(processes) {
  const dir = join(root, `procs-${processes}`);
  await engine.ensureStore(dir);
  const file = join(dir, '.ledgerlock/ledgers/events.jsonl');
  const children = Array.from({ length: processes }, () => fork(new URL('./append-worker.mjs', import.meta.url), [file, '1500'], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] }));
  const counts = await Promise.all(children.map((c) => new Promise((resolve, reject) => {
    c.once('message', (m) => resolve(m));
    c.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`append worker exited ${code}`))));
  })));
  const total = counts.reduce((a, m) => a + m.count, 0);
  const seconds = Math.max(...counts.map((m) => m.seconds));
  return total / seconds;
}

async function lockRelease() {
  const file = join(root, 'locks', 'bench.lock');
  mkdirSync(join(root, 'locks'), { recursive: true });
  return rate(async () => {
    const lock = await engine.acquireLock(file, { telemetry: false });
    await lock.release();
  });
}

async function properLockfileRate() {
  const file = join(root, 'pl-target');
  writeFileSync(file, '');
  return rate(async () => {
    const release = await properLockfile.lock(file, { realpath: false });
    await release();
  });
}

async function atomicWrite4k() {
  const data = Buffer.alloc(4096, 7);
  const target = join(root, 'atomic-ll.bin');
  return rate(() => engine.atomicWriteFile(target, data, { telemetry: false }));
}

async function writeFileAtomic4k() {
  const data = Buffer.alloc(4096, 7);
  const target = join(root, 'atomic-wfa.bin');
  return rate(() => writeFileAtomic(target, data));
}

/** Fills a ledger to `bytes` quickly (no fsync per batch), through the engine so records are valid. */
async function ledgerOfSize(name, bytes) {
  const ledger = await freshLedger(name, { durability: 'none' });
  const big = { ...payload, value: 'y'.repeat(900) };
  const batch = Array.from({ length: 2000 }, () => ({ type: 'bench', data: big }));
  for (;;) {
    const { bytes: size } = await ledger.stats();
    if (size >= bytes) break;
    await ledger.appendMany(batch);
  }
  return ledger;
}

async function tailAndRepair(ledger) {
  const tailMs = await medianMs(() => ledger.tail(100), 9);
  const file = ledger.path;
  const repairMs = await medianMs(async () => {
    // A torn tail, then the repair that cuts it.
    const fd = openSync(file, 'a');
    writeSync(fd, Buffer.from('{"id":999999999,"ts":"2026-01-01T00:00:00.000Z","type":"tor'));
    closeSync(fd);
    await ledger.repair();
  }, 5);
  return { tailMs, repairMs };
}

async function main() {
  console.log(`Ledgerlock benchmarks in ${root}${quick ? ' (quick: small "big" ledger)' : ''}\n`);
  const raw = await rawFdatasyncLoop();
  row('raw write+fdatasync loop (anchor)', raw, 'ops/s');
  const rawAsync = await asyncFdatasyncLoop();
  row('async write+fdatasync loop (anchor)', rawAsync, 'ops/s', 'raw loop', raw);
  const sqlite = await sqliteFull();
  row('better-sqlite3 WAL synchronous=FULL (anchor)', sqlite, 'ops/s');
  const one = await appendOneProducer();
  row('durable append, 1 producer', one, 'ops/s', 'raw loop', raw, 0.7);
  row('durable append, 1 producer vs SQLite', one, 'ops/s', 'SQLite FULL', sqlite, 0.9);
  row('durable append, 1 producer vs async loop', one, 'ops/s', 'async loop', rawAsync);
  const many = await appendConcurrent(64);
  row('durable append, 64 concurrent producers', many, 'ops/s', '1 producer', one, 5);
  const p1 = await appendProcesses(1);
  row('durable append, 1 process (8 producers)', p1, 'ops/s');
  const p4 = await appendProcesses(4);
  row('durable append, 4 processes together', p4, 'ops/s', '1 process', p1, 1);

  const pl = await properLockfileRate();
  row('proper-lockfile lock+unlock (anchor)', pl, 'ops/s');
  const ll = await lockRelease();
  row('lock+release', ll, 'ops/s', 'proper-lockfile', pl, 3);

  const wfa = await writeFileAtomic4k();
  row('write-file-atomic 4 KB (anchor)', wfa, 'ops/s');
  const aw = await atomicWrite4k();
  row('atomic write 4 KB (with directory fsync)', aw, 'ops/s', 'write-file-atomic', wfa, 1.5);

  const small = await ledgerOfSize('small', 1024 * 1024);
  const smallTimes = await tailAndRepair(small);
  await small.close();
  const big = await ledgerOfSize('big', BIG_BYTES);
  const bigSize = statSync(big.path).size;
  const bigTimes = await tailAndRepair(big);
  row(`tail(100) on ${fmt(bigSize / 2 ** 20)} MB`, bigTimes.tailMs, 'ms', '1 MB ledger', smallTimes.tailMs, 1.5, 'lower');
  row(`repair of a torn tail on ${fmt(bigSize / 2 ** 20)} MB`, bigTimes.repairMs, 'ms', '1 MB ledger', smallTimes.repairMs, 1.5, 'lower');
  const verifyMs = await medianMs(() => big.verify(), 3);
  const mbps = bigSize / 2 ** 20 / (verifyMs / 1000);
  rows.push({ name: 'verify throughput', value: mbps, unit: 'MB/s', target: 100, met: mbps >= 100 });
  console.log(`${'verify throughput'.padEnd(44)} ${fmt(mbps).padStart(12)} MB/s  (target ≥ 100 MB/s: ${mbps >= 100 ? 'met' : 'MISSED'})`);
  await big.close();

  try {
    const { benchSnapshots } = await import('./snapshot.mjs');
    for (const r of await benchSnapshots()) row(r.name, r.opsPerSec, 'ops/s', r.anchor, r.ratio === undefined ? undefined : r.opsPerSec / r.ratio);
  } catch (err) {
    if (err.code !== 'ERR_MODULE_NOT_FOUND') throw err;
  }

  mkdirSync('test-results', { recursive: true });
  writeFileSync('test-results/bench.json', JSON.stringify({ at: new Date().toISOString(), quick, rows }, null, 2));
  console.log('\nwritten: test-results/bench.json');
}

main()
  .catch((err) => { console.error(err); process.exitCode = 1; })
  .finally(() => rmSync(root, { recursive: true, force: true }));
