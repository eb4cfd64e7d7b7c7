// Snapshot create and restore rates, each beside an anchor measured in the same run: writing
// the same documents with write-file-atomic (fsync on), which is the least a durable copy costs.
// `node test/bench/snapshot.mjs` prints a table on its own; the bench runner can import it.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { fmt, rate } from './measure.mjs';

const require = createRequire(import.meta.url);
const engine = require('../../dist/engine.js');
const writeFileAtomic = require('write-file-atomic');

const DOCS = 10;
const DOC_BYTES = 4096;

function doc(i, version) {
  return JSON.stringify({ i, version, body: 'x'.repeat(DOC_BYTES) });
}

async function workspace(base, name) {
  const root = join(base, name);
  await engine.ensureStore(root);
  for (let i = 0; i < DOCS; i++) writeFileSync(join(root, '.ledgerlock', 'state', `doc${i}.json`), doc(i, 0));
  return root;
}

export async function benchSnapshots({ ms = 1500 } = {}) {
  const base = mkdtempSync(join(process.env.LEDGERLOCK_BENCH_DIR ?? tmpdir(), 'll-bench-snap-'));
  const opts = { telemetry: false };
  try {
    const anchorDir = await workspace(base, 'anchor');
    const anchor = await rate(async (n) => {
      for (let i = 0; i < DOCS; i++) await writeFileAtomic(join(anchorDir, `doc${i}.json`), doc(i, n), { fsync: true });
    }, { ms });

    const unchanged = await workspace(base, 'unchanged');
    const createSame = await rate(() => engine.createSnapshot(unchanged, opts), { ms });

    const changing = await workspace(base, 'changing');
    const createChanged = await rate(async (n) => {
      for (let i = 0; i < DOCS; i++) writeFileSync(join(changing, '.ledgerlock', 'state', `doc${i}.json`), doc(i, n + 1));
      await engine.createSnapshot(changing, opts);
    }, { ms });

    // Alternate between two snapshots so every restore rewrites all ten documents.
    const flip = await workspace(base, 'flip');
    const first = (await engine.createSnapshot(flip, opts)).manifest.id;
    for (let i = 0; i < DOCS; i++) writeFileSync(join(flip, '.ledgerlock', 'state', `doc${i}.json`), doc(i, 1));
    const second = (await engine.createSnapshot(flip, opts)).manifest.id;
    const restore = await rate((n) => engine.restoreSnapshot(flip, n % 2 === 0 ? first : second, { ...opts, backup: false }), { ms });
    const restoreWithBackup = await rate((n) => engine.restoreSnapshot(flip, n % 2 === 0 ? first : second, opts), { ms });

    const anchorName = `write-file-atomic ×${DOCS} docs`;
    const row = (name, opsPerSec) => ({ name, opsPerSec, anchor: anchorName, ratio: opsPerSec / anchor });
    return [
      { name: `${anchorName} (fsync)`, opsPerSec: anchor },
      row(`snapshot create, ${DOCS} unchanged docs`, createSame),
      row(`snapshot create, ${DOCS} changed docs`, createChanged),
      row(`snapshot restore, ${DOCS} docs, no backup`, restore),
      row(`snapshot restore, ${DOCS} docs, with backup`, restoreWithBackup),
    ];
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}

export default benchSnapshots;

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const rows = await benchSnapshots();
  console.log(`${'benchmark'.padEnd(44)} ${'ops/s'.padStart(10)}  ratio to anchor`);
  for (const r of rows) console.log(`${r.name.padEnd(44)} ${fmt(r.opsPerSec).padStart(10)}  ${r.ratio === undefined ? '(anchor)' : `${fmt(r.ratio)}×`}`);
}
