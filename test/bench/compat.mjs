// The drop-in adapters beside the libraries they replace, measured in interleaved rounds (the
// order flips each round) so a noisy, shared machine affects both sides alike. Prints a table
// of rates and adapter/original ratios; never fails on time.
//   node test/bench/compat.mjs            (after `npm run build`)
//   import { benchCompat } from './compat.mjs'
//   benchCompat({ ms, rounds }) → Promise<Array<{ name, anchor, opsPerSec, anchorOpsPerSec, ratio }>>
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { fmt, rate } from './measure.mjs';

const require = createRequire(import.meta.url);
const adapters = {
  lockfile: require('../../dist/compat/proper-lockfile.js'),
  writeFileAtomic: require('../../dist/compat/write-file-atomic.js'),
};
const originals = {
  lockfile: require('proper-lockfile'),
  writeFileAtomic: require('write-file-atomic'),
};

const DATA = Buffer.alloc(4096, 'x');

/** Each case: how to run one operation with a given implementation, in a scratch directory. */
const CASES = [
  { name: 'lock + release', anchor: 'proper-lockfile', op: (impl, file) => async () => { const release = await impl.lockfile.lock(file); await release(); } },
  { name: 'lockSync + release', anchor: 'proper-lockfile', op: (impl, file) => () => { const release = impl.lockfile.lockSync(file); release(); } },
  { name: 'check (unlocked)', anchor: 'proper-lockfile', op: (impl, file) => () => impl.lockfile.check(file) },
  { name: 'atomic write 4 KB', anchor: 'write-file-atomic', op: (impl, file) => () => impl.writeFileAtomic(file, DATA) },
  { name: 'atomic write 4 KB, sync', anchor: 'write-file-atomic', op: (impl, file) => () => impl.writeFileAtomic.sync(file, DATA) },
  { name: 'atomic write 4 KB, fsync: false', anchor: 'write-file-atomic', op: (impl, file) => () => impl.writeFileAtomic(file, DATA, { fsync: false }) },
];

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

export async function benchCompat({ ms = 500, rounds = 7 } = {}) {
  const base = mkdtempSync(join(process.env.LEDGERLOCK_BENCH_DIR ?? tmpdir(), 'll-bench-compat-'));
  try {
    const rows = [];
    for (const c of CASES) {
      const files = { original: join(base, `${c.name.replace(/\W+/g, '-')}-original`), adapter: join(base, `${c.name.replace(/\W+/g, '-')}-adapter`) };
      for (const f of Object.values(files)) writeFileSync(f, '{}');
      const ops = { original: c.op(originals, files.original), adapter: c.op(adapters, files.adapter) };
      const rates = { original: [], adapter: [] };
      for (let round = 0; round < rounds; round++) {
        for (const side of round % 2 === 0 ? ['original', 'adapter'] : ['adapter', 'original']) rates[side].push(await rate(ops[side], { ms, minOps: 5 }));
      }
      const adapter = median(rates.adapter);
      const original = median(rates.original);
      rows.push({ name: `${c.name} (ledgerlock/compat)`, anchor: c.anchor, opsPerSec: adapter, anchorOpsPerSec: original, ratio: adapter / original });
    }
    return rows;
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const rows = await benchCompat();
  console.log(`${'case'.padEnd(46)} ${'adapter'.padStart(10)} ${'original'.padStart(10)}  ratio`);
  for (const r of rows) console.log(`${r.name.padEnd(46)} ${fmt(r.opsPerSec).padStart(10)} ${fmt(r.anchorOpsPerSec).padStart(10)}  ${r.ratio.toFixed(2)}x ${r.anchor}`);
}
