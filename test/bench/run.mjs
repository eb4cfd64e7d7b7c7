// `npm run bench`: every path a caller waits on, measured beside the physical limit of the same
// disk (the same syscalls with no engine around them) and beside the peer tool, in one run, in
// interleaved rounds after a warm-up; ratios are medians of per-round ratios. Prints a table
// with each path's goal (met or missed, never a failure: benchmarks are not tests), syscalls
// per operation from `strace -c` where strace exists, and writes
// test-results/bench.json and test-results/bench.md (the README's table).
//
// The peer SQLite (better-sqlite3, compiled on install) lives in test/bench/package.json, so the
// project's own `npm ci` stays quick; this runner installs it on first use.
import { execFileSync, fork, spawnSync } from 'node:child_process';
import { closeSync, existsSync, fdatasync, fdatasyncSync, fsyncSync, mkdirSync, mkdtempSync, openSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync, writeSync, constants } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, tmpdir, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fmt, interleave, median, medianMs, percentile, perOp, produceFor, ratio } from './measure.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const engine = require('../../dist/engine.js');
const properLockfile = require('proper-lockfile');
const writeFileAtomic = require('write-file-atomic');
const Database = loadBenchDependency('better-sqlite3', (D) => new D(':memory:').close());

const quick = process.argv.includes('--quick');
const ROUNDS = Number(process.env.LEDGERLOCK_BENCH_ROUNDS ?? (quick ? 3 : 5));
const WINDOW_MS = Number(process.env.LEDGERLOCK_BENCH_WINDOW_MS ?? (quick ? 200 : 400));
const BIG_BYTES = quick ? 64 * 1024 * 1024 : 1024 * 1024 * 1024;
const root = mkdtempSync(join(process.env.LEDGERLOCK_BENCH_DIR ?? tmpdir(), 'll-bench-'));
const payload = { user: 'bench', action: 'update', value: 'x'.repeat(100) };
const line = Buffer.from(JSON.stringify({ id: 1, ts: new Date().toISOString(), type: 'bench', data: payload, crc: '00000000' }) + '\n');
const doc4k = Buffer.alloc(4096, 7);
const rows = [];
const notes = [];

/** The bench-local dependency, installed into test/bench/node_modules on first use. */
function loadBenchDependency(name, probe) {
  const local = join(here, 'node_modules', name);
  if (!existsSync(local)) {
    console.log(`installing the benchmark peers into test/bench/node_modules (${name} compiles; once) …`);
    const r = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--prefix', here], { stdio: 'inherit' });
    if (r.status !== 0) return null;
  }
  try {
    const loaded = createRequire(join(here, 'package.json'))(name);
    probe(loaded);
    return loaded;
  } catch (err) {
    console.log(`${name} could not be loaded (${err.message}); its rows are skipped`);
    return null;
  }
}

/** A rate over one timed window of `op` (sync or async). */
async function windowRate(op, ms = WINDOW_MS) {
  let ops = 0;
  const start = performance.now();
  while (ops < 5 || performance.now() - start < ms) {
    const r = op(ops);
    if (r && typeof r.then === 'function') await r;
    ops++;
  }
  return ops / ((performance.now() - start) / 1000);
}

/**
 * One table row: `value` per operation for the Ledgerlock path, the reference it is compared
 * with, the median per-round ratio (higher is better for rates), and the goal.
 */
function row(path, { ll, ref, refName, r, goal, better = 'higher', unit = 'rate', note }) {
  const met = goal === undefined || r === undefined ? undefined : better === 'higher' ? r >= goal : r <= goal;
  const show = (v) => (v === undefined ? '' : unit === 'rate' ? `${perOp(v)} (${fmt(v)}/s)` : unit === 'ms' ? `${fmt(v)} ms` : `${fmt(v)} ${unit}`);
  rows.push({ path, ledgerlock: show(ll), reference: refName ? `${refName}: ${show(ref)}` : '', ratio: r === undefined ? '' : `${fmt(r)}×`, goal: goal === undefined ? '' : `${better === 'higher' ? '≥' : '≤'} ${goal}×`, met: met === undefined ? '' : met ? 'met' : 'missed', raw: { ll, ref, r, goal, better, unit }, note });
  console.log(`${path.padEnd(58)} ${show(ll).padStart(22)}  ${refName ? `vs ${refName} ${show(ref)}` : ''}  ${r === undefined ? '' : `${fmt(r)}×`} ${goal === undefined ? '' : `(goal ${better === 'higher' ? '≥' : '≤'} ${goal}×: ${met ? 'met' : 'MISSED'})`}`);
}

async function freshLedger(name, options = {}) {
  const dir = join(root, name);
  await engine.ensureStore(dir);
  return engine.openLedger(join(dir, '.ledgerlock/ledgers/events.jsonl'), { telemetry: false, ...options });
}

function sqlite(name) {
  if (!Database) return null;
  const db = new Database(join(root, `${name}.sqlite`));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE events (id INTEGER PRIMARY KEY, ts TEXT, type TEXT, data TEXT)');
  const insert = db.prepare('INSERT INTO events (ts, type, data) VALUES (?, ?, ?)');
  const json = JSON.stringify(payload);
  return { run: () => insert.run(new Date().toISOString(), 'bench', json), close: () => db.close() };
}

// ---------------------------------------------------------------------------------------------
async function singleProducer() {
  console.log('\n# durable append, one producer awaiting each');
  const ledger = await freshLedger('one');
  const ledgerSync = await freshLedger('one-sync');
  const rawFd = openSync(join(root, 'raw.bin'), 'a');
  const db = sqlite('one');
  let n = 0;
  const contenders = {
    append: () => windowRate(() => ledger.append('bench', payload)),
    appendSync: async () => {
      // A loop of sync calls with an event-loop turn now and then, as a CLI or hook would have.
      const r = await windowRate((i) => { ledgerSync.appendSync('bench', payload); if (i % 32 === 31) return new Promise((res) => setImmediate(res)); });
      return r;
    },
    limit: () => windowRate(() => { writeSync(rawFd, line); fdatasyncSync(rawFd); n++; }),
    // The same loop awaiting fs.fdatasync: what an async API's flush costs (one thread-pool hop) before any engine work.
    limitAsync: () => windowRate(() => { writeSync(rawFd, line); return new Promise((res, rej) => fdatasync(rawFd, (err) => (err ? rej(err) : res()))); }),
    ...(db ? { sqlite: () => windowRate(() => db.run()) } : {}),
  };
  const res = await interleave(contenders, { rounds: ROUNDS });
  await ledger.close();
  await ledgerSync.close();
  closeSync(rawFd);
  db?.close();
  const m = res.median;
  row('durable append, 1 producer awaiting each (append)', { ll: m.append, ref: m.limit, refName: 'sync write+fdatasync loop', r: ratio(res, 'append', 'limit'), goal: 0.9 });
  row('durable append, 1 producer (appendSync)', { ll: m.appendSync, ref: m.limit, refName: 'sync write+fdatasync loop', r: ratio(res, 'appendSync', 'limit'), goal: 0.9 });
  row('durable append (append) vs an awaited flush', { ll: m.append, ref: m.limitAsync, refName: 'write + awaited fs.fdatasync loop', r: ratio(res, 'append', 'limitAsync') });
  if (db) {
    row('durable append (append) vs SQLite', { ll: m.append, ref: m.sqlite, refName: 'better-sqlite3 WAL FULL insert', r: ratio(res, 'append', 'sqlite'), goal: 1.0 });
    row('durable append (appendSync) vs SQLite', { ll: m.appendSync, ref: m.sqlite, refName: 'better-sqlite3 WAL FULL insert', r: ratio(res, 'appendSync', 'sqlite'), goal: 1.0 });
  }
  return m;
}

async function manyProducers() {
  console.log('\n# 64 concurrent producers in one process');
  const ledger = await freshLedger('many');
  const cpuOnly = await freshLedger('many-none', { durability: 'none' });
  const db = sqlite('many');
  const rawFd = openSync(join(root, 'raw-many.bin'), 'a');
  const group = Buffer.concat(Array.from({ length: 64 }, () => line));
  const producers = (l) => async () => {
    const { count, seconds } = await produceFor(64, WINDOW_MS, () => l.append('bench', payload));
    return count / seconds;
  };
  const contenders = {
    many: producers(ledger),
    // What bounds the row, each side alone: the engine's CPU per append with nothing flushed, and
    // 64 records per write and awaited fs.fdatasync with no engine at all.
    cpuOnly: producers(cpuOnly),
    rawGroup: () => windowRate(() => { writeSync(rawFd, group); return new Promise((res, rej) => fdatasync(rawFd, (err) => (err ? rej(err) : res()))); }).then((r) => r * 64),
    ...(db ? { sqlite: () => windowRate(() => db.run()) } : {}),
  };
  const res = await interleave(contenders, { rounds: ROUNDS });
  await ledger.close();
  await cpuOnly.close();
  closeSync(rawFd);
  db?.close();
  const m = res.median;
  if (db) {
    row('64 producers, one ledger', { ll: m.many, ref: m.sqlite, refName: 'SQLite FULL single-row commits', r: ratio(res, 'many', 'sqlite'), goal: 20 });
    row('ceiling: 64 records per awaited fdatasync, no engine', { ll: m.rawGroup, ref: m.sqlite, refName: 'SQLite FULL single-row commits', r: ratio(res, 'rawGroup', 'sqlite') });
    row('ceiling: 64 producers, nothing flushed (engine CPU)', { ll: m.cpuOnly, ref: m.sqlite, refName: 'SQLite FULL single-row commits', r: ratio(res, 'cpuOnly', 'sqlite') });
    // Every producer waits for the flush its record rides on, so a cycle is the batch's CPU and
    // then its flush, one after the other: 64 / (64 × CPU per append + flush).
    const cycleUs = 64e6 / m.cpuOnly + 64e6 / m.rawGroup;
    const allowedUs = (64e6 / (20 * m.sqlite) - 64e6 / m.rawGroup) / 64;
    notes.push(
      `64 producers: the engine's CPU per append is ${(1e6 / m.cpuOnly).toFixed(2)} µs (nothing flushed) and an awaited flush of 64 records ${(64e6 / m.rawGroup).toFixed(0)} µs, ` +
        `so one batch's cycle is about ${cycleUs.toFixed(0)} µs: ${fmt(64e6 / cycleUs)}/s, ${fmt(64e6 / cycleUs / m.sqlite)}× SQLite. ` +
        `20× SQLite needs a cycle of ${(64e6 / (20 * m.sqlite)).toFixed(0)} µs, which leaves ${allowedUs.toFixed(2)} µs of CPU per append`,
    );
  } else row('64 producers, one ledger', { ll: m.many });
}

/** Total appends per second of `processes` child processes × `producers` each on one ledger. */
async function appendProcesses(name, processes, producers, ms) {
  const dir = join(root, name);
  await engine.ensureStore(dir);
  const file = join(dir, '.ledgerlock/ledgers/events.jsonl');
  const children = Array.from({ length: processes }, () => fork(join(here, 'workers', 'append-worker.mjs'), [file, String(producers), String(ms)], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] }));
  await Promise.all(children.map((c) => new Promise((resolve) => c.once('message', resolve))));
  const results = children.map((c) => new Promise((resolve, reject) => {
    c.once('message', resolve);
    c.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`append worker exited ${code}`))));
  }));
  for (const c of children) c.send('go');
  const counts = await Promise.all(results);
  return counts.reduce((a, m) => a + m.count, 0) / Math.max(...counts.map((m) => m.seconds));
}

async function processes() {
  console.log('\n# processes sharing one ledger');
  let k = 0;
  const ms = Math.max(WINDOW_MS, 600);
  const res = await interleave({
    four: () => appendProcesses(`procs4-${k++}`, 4, 16, ms),
    one: () => appendProcesses(`procs1-${k++}`, 1, 64, ms),
  }, { rounds: ROUNDS });
  row('4 processes × 16 producers on one ledger', { ll: res.median.four, ref: res.median.one, refName: '1 process × 64 producers', r: ratio(res, 'four', 'one'), goal: 0.7 });
}

async function handoff() {
  console.log('\n# lock hand-off between processes (release → next acquire)');
  const lockPath = join(root, 'handoff', 'h.lock');
  mkdirSync(dirname(lockPath), { recursive: true });
  const rounds = quick ? 100 : 300;
  const children = [0, 1].map(() => fork(join(here, 'workers', 'handoff-worker.mjs'), [lockPath, String(rounds), '1'], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] }));
  await Promise.all(children.map((c) => new Promise((resolve) => c.once('message', resolve))));
  const done = children.map((c) => new Promise((resolve) => c.once('message', resolve)));
  for (const c of children) c.send('go');
  const sides = await Promise.all(done);
  // A hand-off: an acquire whose attempt began while the other side held the lock; its latency
  // runs from that side's release (the latest one before the acquire) to the acquire.
  const gaps = [];
  for (const [me, other] of [[sides[0], sides[1]], [sides[1], sides[0]]]) {
    for (const { attempt, at } of me.acquires) {
      const release = other.releases.filter((t) => t <= at).at(-1);
      if (release !== undefined && attempt < release) gaps.push(at - release);
    }
  }
  const p50 = percentile(gaps, 50);
  const p99 = percentile(gaps, 99);
  rows.push({ path: 'lock hand-off between processes, release → next acquire', ledgerlock: `p50 ${fmt(p50)} µs, p99 ${fmt(p99)} µs`, reference: '', ratio: '', goal: '', met: '', raw: { p50, p99, samples: gaps.length } });
  console.log(`hand-off latency over ${gaps.length} hand-offs: p50 ${fmt(p50)} µs, p99 ${fmt(p99)} µs`);
  return { p50, p99 };
}

async function locks() {
  console.log('\n# lock + release, uncontended');
  const dir = join(root, 'locks');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'bench.lock');
  const raw = join(dir, 'raw.lock');
  const pl = join(dir, 'pl-target');
  writeFileSync(pl, '');
  // A ledger's lock lives in a store, where confinement resolves the lock's folder on every step.
  const storeDir = join(root, 'lock-store');
  await engine.ensureStore(storeDir);
  const inStore = join(storeDir, '.ledgerlock', 'locks', 'bench.lock');
  const res = await interleave({
    lock: () => windowRate(async () => (await engine.acquireLock(file, { telemetry: false })).release()),
    lockSync: () => windowRate(() => engine.acquireLockSync(file, { telemetry: false }).releaseSync()),
    lockStore: () => windowRate(() => engine.acquireLockSync(inStore, { telemetry: false }).releaseSync()),
    limit: () => windowRate(() => { const fd = openSync(raw, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644); writeSync(fd, line); closeSync(fd); unlinkSync(raw); }),
    properLockfile: () => windowRate(async () => (await properLockfile.lock(pl, { realpath: false }))()),
  }, { rounds: ROUNDS });
  const m = res.median;
  row('lock + release, uncontended (acquireLock)', { ll: m.lock, ref: m.limit, refName: 'open(O_EXCL)+write+close+unlink', r: ratio(res, 'lock', 'limit'), goal: 0.5 });
  row('lock + release, uncontended (acquireLockSync)', { ll: m.lockSync, ref: m.limit, refName: 'open(O_EXCL)+write+close+unlink', r: ratio(res, 'lockSync', 'limit'), goal: 0.5 });
  row('lock + release in a store (acquireLockSync)', { ll: m.lockStore, ref: m.limit, refName: 'open(O_EXCL)+write+close+unlink', r: ratio(res, 'lockStore', 'limit'), goal: 0.5 });
  row('lock + release vs proper-lockfile', { ll: m.lock, ref: m.properLockfile, refName: 'proper-lockfile lock+unlock', r: ratio(res, 'lock', 'properLockfile') });
}

function rawAtomicWrite(dir, name, data, i) {
  const tmp = join(dir, `.${name}.${i}.tmp`);
  const fd = openSync(tmp, 'wx', 0o644);
  writeSync(fd, data);
  fsyncSync(fd);
  closeSync(fd);
  renameSync(tmp, join(dir, name));
  const d = openSync(dir, 'r');
  fsyncSync(d);
  closeSync(d);
}

async function atomicWrites() {
  console.log('\n# atomic 4 KB writes (with directory fsync)');
  const dir = join(root, 'atomic');
  mkdirSync(dir, { recursive: true });
  const many = join(root, 'atomic-16');
  mkdirSync(many, { recursive: true });
  const res = await interleave({
    atomic: () => windowRate(() => engine.atomicWriteFile(join(dir, 'll.bin'), doc4k, { telemetry: false })),
    atomicSync: () => windowRate(() => engine.atomicWriteFileSync(join(dir, 'll-sync.bin'), doc4k, { telemetry: false })),
    limit: () => windowRate((i) => rawAtomicWrite(dir, 'raw.bin', doc4k, i)),
    writeFileAtomic: () => windowRate(() => writeFileAtomic(join(dir, 'wfa.bin'), doc4k)),
    sixteen: async () => {
      let done = 0;
      const start = performance.now();
      const until = start + WINDOW_MS;
      await Promise.all(Array.from({ length: 16 }, async (_, w) => {
        while (performance.now() < until) {
          await engine.atomicWriteFile(join(many, `doc${w}.json`), doc4k, { telemetry: false });
          done++;
        }
      }));
      return done / ((performance.now() - start) / 1000);
    },
  }, { rounds: ROUNDS });
  const m = res.median;
  row('atomic 4 KB write (atomicWriteFile)', { ll: m.atomic, ref: m.limit, refName: 'sync tmp+fsync+rename+dir fsync', r: ratio(res, 'atomic', 'limit'), goal: 0.9 });
  row('atomic 4 KB write (atomicWriteFileSync)', { ll: m.atomicSync, ref: m.limit, refName: 'sync tmp+fsync+rename+dir fsync', r: ratio(res, 'atomicSync', 'limit'), goal: 0.9 });
  row('atomic 4 KB write vs write-file-atomic', { ll: m.atomic, ref: m.writeFileAtomic, refName: 'write-file-atomic (no dir fsync)', r: ratio(res, 'atomic', 'writeFileAtomic') });
  row('16 concurrent atomic writers, one directory', { ll: m.sixteen, ref: m.limit, refName: 'single-writer limit', r: ratio(res, 'sixteen', 'limit'), goal: 2 });
}

async function cliStartup() {
  console.log('\n# ledgerlock append, one event per process');
  const cwd = join(root, 'cli');
  mkdirSync(cwd, { recursive: true });
  const cli = join(here, '..', '..', 'dist', 'cli.js');
  const spawnRate = (args) => async () => {
    const times = [];
    for (let i = 0; i < 5; i++) {
      const start = performance.now();
      const r = spawnSync(process.execPath, args, { cwd, stdio: 'ignore' });
      if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}`);
      times.push(performance.now() - start);
    }
    return 1000 / median(times);
  };
  const res = await interleave({
    cli: spawnRate([cli, 'append', 'events', '--data', '{"n":1}']),
    node: spawnRate(['-e', '0']),
  }, { rounds: ROUNDS });
  const timeRatio = median(res.rates.cli.map((v, i) => res.rates.node[i] / v));
  row('`ledgerlock append`, one event per process (time)', { ll: 1000 / res.median.cli, ref: 1000 / res.median.node, refName: '`node -e 0`', r: timeRatio, goal: 1.5, better: 'lower', unit: 'ms' });
}

/** Fills a ledger to `bytes` quickly (no fsync per batch), then flushes it and drops it from the page cache. */
async function ledgerOfSize(name, bytes) {
  const ledger = await freshLedger(name, { durability: 'none' });
  const big = { ...payload, value: 'y'.repeat(900) };
  const batch = Array.from({ length: 2000 }, () => ({ type: 'bench', data: big }));
  for (let size = 0; size < bytes; size += batch.length * 1100) await ledger.appendMany(batch);
  await ledger.close();
  const file = join(root, name, '.ledgerlock/ledgers/events.jsonl');
  const fd = openSync(file, 'r');
  fsyncSync(fd); // its writes are on disk before anything is timed
  closeSync(fd);
  spawnSync('dd', [`if=${file}`, 'iflag=nocache', 'count=0', 'status=none']); // and not in the page cache
  return engine.openLedger(file, { telemetry: false });
}

async function bigLedger() {
  console.log(`\n# tail and repair on a ${fmt(BIG_BYTES / 2 ** 20)} MB ledger against a 1 MB one`);
  const small = await ledgerOfSize('small', 1024 * 1024);
  const big = await ledgerOfSize('big', BIG_BYTES);
  const tear = (l) => { const fd = openSync(l.path, 'a'); writeSync(fd, Buffer.from('{"id":999999999,"ts":"2026-01-01T00:00:00.000Z","type":"tor')); closeSync(fd); };
  const res = await interleave({
    tailSmall: async () => 1000 / (await medianMs(() => small.tail(100), 9)),
    tailBig: async () => 1000 / (await medianMs(() => big.tail(100), 9)),
    repairSmall: async () => 1000 / (await medianMs(async () => { tear(small); await small.repair(); }, 5)),
    repairBig: async () => 1000 / (await medianMs(async () => { tear(big); await big.repair(); }, 5)),
  }, { rounds: ROUNDS });
  const size = statSync(big.path).size;
  const timeRatio = (a, b) => median(res.rates[a].map((v, i) => res.rates[b][i] / v));
  row(`tail(100) on ${fmt(size / 2 ** 20)} MB (time)`, { ll: 1000 / res.median.tailBig, ref: 1000 / res.median.tailSmall, refName: '1 MB ledger', r: timeRatio('tailBig', 'tailSmall'), goal: 1.5, better: 'lower', unit: 'ms' });
  row(`repair of a torn tail on ${fmt(size / 2 ** 20)} MB (time)`, { ll: 1000 / res.median.repairBig, ref: 1000 / res.median.repairSmall, refName: '1 MB ledger', r: timeRatio('repairBig', 'repairSmall'), goal: 1.5, better: 'lower', unit: 'ms' });
  const verifyMs = await medianMs(() => big.verify(), 3);
  const mbps = size / 2 ** 20 / (verifyMs / 1000);
  rows.push({ path: 'verify throughput', ledgerlock: `${fmt(mbps)} MB/s`, reference: '', ratio: '', goal: '≥ 100 MB/s', met: mbps >= 100 ? 'met' : 'missed', raw: { mbps } });
  console.log(`verify throughput ${fmt(mbps)} MB/s (goal ≥ 100 MB/s: ${mbps >= 100 ? 'met' : 'MISSED'})`);
  await small.close();
  await big.close();
}

/** Evaluation, not shipped: appending into space that already exists vs growing the file. */
async function preallocation() {
  console.log('\n# evaluation: O_DSYNC writes into a preallocated zero-filled file vs appends that grow it');
  const grow = join(root, 'grow.bin');
  const pre = join(root, 'pre.bin');
  const PRE_BYTES = 64 * 1024 * 1024;
  const zeros = Buffer.alloc(1024 * 1024);
  const pfd = openSync(pre, 'w');
  for (let i = 0; i < PRE_BYTES / zeros.length; i++) writeSync(pfd, zeros);
  fsyncSync(pfd);
  closeSync(pfd);
  const g = openSync(grow, constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND | constants.O_DSYNC, 0o644);
  const p = openSync(pre, constants.O_WRONLY | constants.O_DSYNC);
  let at = 0;
  const res = await interleave({
    grow: () => windowRate(() => writeSync(g, line)),
    pre: () => windowRate(() => { writeSync(p, line, 0, line.length, at); at = (at + line.length) % (PRE_BYTES - line.length); }),
  }, { rounds: ROUNDS });
  closeSync(g);
  closeSync(p);
  row('eval: O_DSYNC write into preallocated zeros', { ll: res.median.pre, ref: res.median.grow, refName: 'O_DSYNC append that grows the file', r: ratio(res, 'pre', 'grow') });
}

/** Snapshot create and restore beside write-file-atomic of the same documents (one window each, not interleaved). */
async function snapshots() {
  console.log('\n# snapshots (not interleaved: one window each, beside write-file-atomic of the same 10 documents)');
  const { benchSnapshots } = await import('./snapshot.mjs');
  for (const r of await benchSnapshots({ ms: WINDOW_MS * 3 })) {
    if (r.ratio !== undefined) row(`${r.name} (not interleaved)`, { ll: r.opsPerSec, ref: r.opsPerSec / r.ratio, refName: r.anchor, r: r.ratio });
  }
}

/** Syscalls per operation, from two strace -c runs with different counts. */
function syscallsPerOp() {
  if (spawnSync('strace', ['-V']).status !== 0) {
    notes.push('strace not found: syscalls per operation not measured');
    return {};
  }
  const counts = {};
  const total = (path, n) => {
    const dir = mkdtempSync(join(root, `strace-${path}-`));
    const out = join(dir, 'strace.txt');
    spawnSync('strace', ['-f', '-c', '-o', out, process.execPath, join(here, 'workers', 'ops.mjs'), path, String(n), dir], { stdio: 'ignore' });
    const m = /\n[- ]+\n\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+\d*\s*total/.exec(readFileSync(out, 'utf8'));
    return m ? Number(m[1]) : NaN;
  };
  for (const path of ['append', 'appendSync', 'rawAppend', 'lock', 'lockSync', 'rawLock', 'atomic', 'atomicSync', 'rawAtomic']) {
    counts[path] = (total(path, 250) - total(path, 50)) / 200;
  }
  console.log(`\nsyscalls per operation (strace -c): ${Object.entries(counts).map(([k, v]) => `${k} ${fmt(v)}`).join(', ')}`);
  return counts;
}

function compat() {
  const script = join(here, 'compat.mjs');
  if (!existsSync(script)) {
    notes.push('test/bench/compat.mjs (adapters against the originals) is not in this checkout: skipped');
    return;
  }
  console.log('\n# drop-in adapters against the originals (test/bench/compat.mjs)');
  const r = spawnSync(process.execPath, [script], { stdio: 'inherit' });
  if (r.status !== 0) notes.push(`test/bench/compat.mjs exited ${r.status}`);
}

function markdown(syscalls, conditions) {
  const sc = (k) => (syscalls[k] === undefined || Number.isNaN(syscalls[k]) ? '' : fmt(syscalls[k]));
  const lines = [
    `| path | Ledgerlock | reference (same run) | ratio | goal | |`,
    `|---|---|---|---|---|---|`,
    ...rows.map((r) => `| ${r.path} | ${r.ledgerlock} | ${r.reference} | ${r.ratio} | ${r.goal} | ${r.met} |`),
  ];
  if (Object.keys(syscalls).length) {
    lines.push('', `Syscalls per operation (strace -c): append ${sc('append')}, appendSync ${sc('appendSync')}, the write+fdatasync loop ${sc('rawAppend')}; lock+release ${sc('lock')}, sync ${sc('lockSync')}, O_EXCL floor ${sc('rawLock')}; atomic write ${sc('atomic')}, sync ${sc('atomicSync')}, floor ${sc('rawAtomic')}.`);
  }
  lines.push('', conditions, ...notes.map((n) => `Note: ${n}.`));
  return lines.join('\n');
}

async function main() {
  const conditions = `Run ${new Date().toISOString()}: ${ROUNDS} interleaved rounds of ${WINDOW_MS} ms windows after a warm-up, medians; ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), load average ${loadavg().map((l) => l.toFixed(2)).join(' ')} at start; ${process.env.LEDGERLOCK_BENCH_DIR ?? tmpdir()} on ${fsType(root)}; Node ${process.version}.`;
  console.log(`Ledgerlock benchmarks in ${root}${quick ? ' (quick)' : ''}\n${conditions}`);
  if (!Database) notes.push('better-sqlite3 is not installed (npm install --prefix test/bench failed): SQLite rows skipped');
  const only = process.env.LEDGERLOCK_BENCH_ONLY?.split(',');
  const run = (name, fn) => (only === undefined || only.includes(name) ? fn() : undefined);
  await run('one', singleProducer);
  await run('many', manyProducers);
  await run('processes', processes);
  await run('handoff', handoff);
  await run('locks', locks);
  await run('atomic', atomicWrites);
  await run('cli', cliStartup);
  await run('big', bigLedger);
  await run('prealloc', preallocation);
  await run('snapshots', snapshots);
  const syscalls = (await run('syscalls', syscallsPerOp)) ?? {};
  compat();
  mkdirSync('test-results', { recursive: true });
  writeFileSync('test-results/bench.json', JSON.stringify({ at: new Date().toISOString(), quick, rounds: ROUNDS, windowMs: WINDOW_MS, conditions, rows, syscalls, notes }, null, 2));
  writeFileSync('test-results/bench.md', markdown(syscalls, conditions) + '\n');
  console.log(`\n${markdown(syscalls, conditions)}\n\nwritten: test-results/bench.json, test-results/bench.md`);
}

function fsType(dir) {
  try {
    return execFileSync('stat', ['-f', '-c', '%T', dir], { encoding: 'utf8' }).trim();
  } catch {
    return 'an unknown file system';
  }
}

main()
  .catch((err) => { console.error(err); process.exitCode = 1; })
  .finally(() => rmSync(root, { recursive: true, force: true }));
