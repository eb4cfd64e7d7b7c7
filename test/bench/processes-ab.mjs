// Two engine bundles side by side on the multi-process append benchmark: 4 processes × 16
// producers and 1 process × 64 on one ledger, for each bundle, in interleaved rounds (a rotating
// order, after one untimed warm-up each), so a slow moment on a shared machine hits a round,
// not one contender. Prints each round, the medians of the 4 × 16 / 1 × 64 ratio per bundle and
// of new/old 4 × 16 per round, and, where strace exists, fdatasyncs per record of one 4 × 16
// run of each bundle.
//
//   node test/bench/processes-ab.mjs OLD/engine.js NEW/engine.js [rounds=9] [ms=1000]
//
// A bundle is a copy of the whole dist/ taken aside (engine.js finds its workers beside it)
// where its dependencies resolve (a folder with node_modules above it or linked beside it):
// build the old commit, copy dist/ away, build the new one. The README's "Benchmarks" section
// ("Processes sharing a ledger") says what it measured.
import { fork, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from './measure.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const [oldBundle, newBundle, roundsArg, msArg] = process.argv.slice(2);
if (!oldBundle || !newBundle) {
  console.error('usage: node test/bench/processes-ab.mjs OLD/engine.js NEW/engine.js [rounds] [ms]');
  process.exit(2);
}
const bundles = { old: resolve(oldBundle), new: resolve(newBundle) };
const ROUNDS = Number(roundsArg ?? 9);
const MS = Number(msArg ?? 1000);
const root = mkdtempSync(join(process.env.LEDGERLOCK_BENCH_DIR ?? tmpdir(), 'll-ab-'));
let k = 0;

/** Total appends per second of `processes` × `producers` on a fresh ledger, with `bundle`. */
async function appendProcesses(bundle, processes, producers) {
  const dir = join(root, `run-${k++}`);
  await require(bundle).ensureStore(dir);
  const file = join(dir, '.ledgerlock/ledgers/events.jsonl');
  const worker = join(here, 'workers', 'append-worker.mjs');
  const children = Array.from({ length: processes }, () =>
    fork(worker, [file, String(producers), String(MS), bundle], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] }),
  );
  await Promise.all(children.map((c) => new Promise((done) => c.once('message', done))));
  const results = children.map((c) => new Promise((done) => c.once('message', done)));
  for (const c of children) c.send('go');
  const counts = await Promise.all(results);
  rmSync(dir, { recursive: true, force: true });
  return counts.reduce((a, m) => a + m.count, 0) / Math.max(...counts.map((m) => m.seconds));
}

/** fdatasyncs per record of one 4 × 16 run under `strace -f -c`, or undefined without strace. */
function fdatasyncsPerRecord(bundle) {
  if (spawnSync('strace', ['-V']).status !== 0) return undefined;
  const out = join(root, `strace-${k++}.txt`);
  const run = spawnSync('strace', ['-f', '-c', '-e', 'trace=fdatasync', '-o', out, process.execPath, fileURLToPath(import.meta.url), '--one', bundle], {
    encoding: 'utf8',
  });
  const records = Number(/records (\d+)/.exec(run.stdout)?.[1]);
  // strace -c columns: % time, seconds, usecs/call, calls, [errors,] syscall
  const row = readFileSync(out, 'utf8')
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .find((f) => f.at(-1) === 'fdatasync');
  const calls = Number(row?.[3] ?? 0);
  return calls / records;
}

if (process.argv[2] === '--one') {
  // One 4 × 16 run for strace: prints the records appended.
  const dir = join(root, 'one');
  await require(process.argv[3]).ensureStore(dir);
  const file = join(dir, '.ledgerlock/ledgers/events.jsonl');
  const worker = join(here, 'workers', 'append-worker.mjs');
  const children = Array.from({ length: 4 }, () => fork(worker, [file, '16', '1500', process.argv[3]], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] }));
  await Promise.all(children.map((c) => new Promise((done) => c.once('message', done))));
  const results = children.map((c) => new Promise((done) => c.once('message', done)));
  for (const c of children) c.send('go');
  const counts = await Promise.all(results);
  console.log(`records ${counts.reduce((a, m) => a + m.count, 0)}`);
  rmSync(root, { recursive: true, force: true });
  process.exit(0);
}

const contenders = [
  ['old', 4, 16],
  ['old', 1, 64],
  ['new', 4, 16],
  ['new', 1, 64],
];
const rates = { old4: [], old1: [], new4: [], new1: [] };
for (const [b, p, n] of contenders) await appendProcesses(bundles[b], p, n);
console.log(
  `load average at start ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
for (let r = 0; r < ROUNDS; r++) {
  for (let i = 0; i < contenders.length; i++) {
    const [b, p, n] = contenders[(i + r) % contenders.length];
    rates[`${b}${p}`].push(await appendProcesses(bundles[b], p, n));
  }
  const f = (n) => Math.round(n).toLocaleString('en-US');
  const at = (key) => rates[key][r];
  console.log(
    `round ${r + 1}: old 4×16 ${f(at('old4'))}/s 1×64 ${f(at('old1'))}/s ratio ${(at('old4') / at('old1')).toFixed(2)} | new 4×16 ${f(at('new4'))}/s 1×64 ${f(at('new1'))}/s ratio ${(at('new4') / at('new1')).toFixed(2)} | load ${loadavg()[0].toFixed(2)}`,
  );
}
const ratios = (b) => rates[`${b}4`].map((v, i) => v / rates[`${b}1`][i]);
console.log(`ratio 4×16 / 1×64, median: old ${median(ratios('old')).toFixed(2)}, new ${median(ratios('new')).toFixed(2)}`);
console.log(`new / old 4×16 per round, median: ${median(rates.new4.map((v, i) => v / rates.old4[i])).toFixed(2)}`);
const syncs = { old: fdatasyncsPerRecord(bundles.old), new: fdatasyncsPerRecord(bundles.new) };
if (syncs.old !== undefined)
  console.log(
    `fdatasyncs per record (one 4×16 run under strace): old ${syncs.old.toFixed(4)} (1 per ${(1 / syncs.old).toFixed(1)}), new ${syncs.new.toFixed(4)} (1 per ${(1 / syncs.new).toFixed(1)})`,
  );
console.log(
  `load average at end ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
rmSync(root, { recursive: true, force: true });
