// When the ledger's lock is let go after an append: with 'fsync' durability the next batch of
// this process can only come after the flush, so the lock is let go before the flush starts,
// not kept to the next turn of the event loop while other processes wait for it (README,
// "Processes sharing a ledger"). Where the next batch can come in the same tick (appendSync
// in a loop, 'batch' or 'none' durability), the hold still lingers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { storeWorkspace } from '../fixtures/workspace.mjs';

const require = createRequire(import.meta.url);
const engine = require('../../dist/engine.js');

/** Notes, at each fdatasync of `ledgerFile` (async or sync), whether `lockFile` exists. */
function watchFlushes(t, ledgerFile, lockFile) {
  const seen = [];
  const wrap = (file, path) => {
    if (path !== ledgerFile) return file;
    const datasync = file.datasync.bind(file);
    const datasyncSync = file.datasyncSync.bind(file);
    file.datasync = () => (seen.push(existsSync(lockFile)), datasync());
    file.datasyncSync = () => (seen.push(existsSync(lockFile)), datasyncSync());
    return file;
  };
  const base = engine.nodeFileSystem;
  const undo = engine.useFileSystem({
    ...base,
    openSync: (path, ...rest) => wrap(base.openSync(path, ...rest), path),
    open: async (path, ...rest) => wrap(await base.open(path, ...rest), path),
  });
  t.after(undo);
  return seen;
}

test("an async append with 'fsync' durability lets the ledger's lock go before its flush starts", async (t) => {
  const { ledger: file, store } = await storeWorkspace({ t });
  const lockFile = join(store, 'locks', 'events.lock');
  const seen = watchFlushes(t, file, lockFile);
  const ledger = await engine.openLedger(file, { telemetry: false, durability: 'fsync' });
  for (let i = 0; i < 5; i++) await Promise.all([ledger.append('a', { i }), ledger.append('b', { i })]);
  await ledger.close();
  assert.ok(seen.length >= 5, `flushes seen: ${seen.length}`);
  assert.deepEqual(
    seen,
    seen.map(() => false),
    'the lock file was gone at every flush of the ledger',
  );
  assert.deepEqual(
    (await engine.openLedger(file, { telemetry: false }).then((l) => l.range({}))).map((e) => e.id),
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
  );
});

test('appendSync in a loop keeps one lingering hold: the lock is still there at its flushes', async (t) => {
  const { ledger: file, store } = await storeWorkspace({ t });
  const lockFile = join(store, 'locks', 'events.lock');
  const seen = watchFlushes(t, file, lockFile);
  const ledger = await engine.openLedger(file, { telemetry: false, durability: 'fsync' });
  for (let i = 0; i < 5; i++) ledger.appendSync('s', { i });
  assert.equal(seen.length, 5);
  assert.deepEqual(seen, [true, true, true, true, true], 'flushed under the hold it lingers on');
  await ledger.close();
});
