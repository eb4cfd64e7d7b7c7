// When the ledger's lock is let go after an append. With 'fsync' durability the next batch of
// this process can only come after the flush: while no other process has wanted the lock lately,
// the hold lingers over the flush (the producers append again as soon as it returns, and a lock
// cycle per batch was most of an append's CPU); once another process has, the lock is let go
// before the flush starts, not kept while they wait for it (README, "Processes sharing a
// ledger"). Where the next batch can come in the same tick (appendSync in a loop, 'batch' or
// 'none' durability), the hold lingers too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { storeWorkspace } from '../fixtures/workspace.mjs';
import { startHolder } from '../fixtures/lock-helpers.mjs';

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

/** A fresh store's ledger, its lock's path, and what watchFlushes notes at each of its flushes. */
async function watchedLedger(t) {
  const { ledger: file, store } = await storeWorkspace({ t });
  const lockFile = join(store, 'locks', 'events.lock');
  return { file, lockFile, seen: watchFlushes(t, file, lockFile) };
}

/** At least `atLeast` flushes were seen, and at each the lock file was there (`present`) or gone. */
function assertAtEveryFlush(seen, present, atLeast, message) {
  assert.ok(seen.length >= atLeast, `flushes seen: ${seen.length}`);
  assert.deepEqual(
    seen,
    seen.map(() => present),
    message,
  );
}

test("an async append with 'fsync' durability keeps its hold over the flush while no other process wants the lock", async (t) => {
  const { file, lockFile, seen } = await watchedLedger(t);
  const ledger = await engine.openLedger(file, { telemetry: false, durability: 'fsync' });
  for (let i = 0; i < 5; i++) await Promise.all([ledger.append('a', { i }), ledger.append('b', { i })]);
  await ledger.close();
  assertAtEveryFlush(seen, true, 5, 'the lock file was there at every flush of the ledger');
  assert.equal(existsSync(lockFile), false, 'closing the ledger lets the lingering hold go');
  assert.deepEqual(
    (await engine.openLedger(file, { telemetry: false }).then((l) => l.range({}))).map((e) => e.id),
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
  );
});

test("once another process has held the ledger's lock, an async 'fsync' append lets it go before its flush starts", async (t) => {
  const { file, lockFile, seen } = await watchedLedger(t);
  const holder = await startHolder(t, lockFile, { heartbeatMs: 60_000 });
  const ledger = await engine.openLedger(file, { telemetry: false, durability: 'fsync' });
  const first = ledger.append('a', { i: -1 });
  await new Promise((r) => setTimeout(r, 100));
  holder.child.stdin.write('release\n');
  await first;
  for (let i = 0; i < 5; i++) await Promise.all([ledger.append('a', { i }), ledger.append('b', { i })]);
  await ledger.close();
  assertAtEveryFlush(seen, false, 5, 'the lock file was gone at every flush of the ledger');
});

test("two writers of one ledger in one process: after the first hand-over, every flush runs after the lock is let go", async (t) => {
  const { file, seen } = await watchedLedger(t);
  const a = await engine.openLedger(file, { telemetry: false, durability: 'fsync' });
  const b = await engine.openLedger(file, { telemetry: false, durability: 'fsync' });
  const writer = async (ledger, type) => {
    for (let i = 0; i < 4; i++) await ledger.append(type, { i });
  };
  await Promise.all([writer(a, 'a'), writer(b, 'b')]);
  await a.close();
  await b.close();
  assert.ok(seen.length >= 4, `flushes seen: ${seen.length}`);
  assert.deepEqual(seen.slice(1), seen.slice(1).map(() => false), `the lock file was gone at every flush after the first: ${JSON.stringify(seen)}`);
});

test('appendSync in a loop keeps one lingering hold: the lock is still there at its flushes', async (t) => {
  const { file, seen } = await watchedLedger(t);
  const ledger = await engine.openLedger(file, { telemetry: false, durability: 'fsync' });
  for (let i = 0; i < 5; i++) ledger.appendSync('s', { i });
  assert.equal(seen.length, 5);
  assert.deepEqual(seen, [true, true, true, true, true], 'flushed under the hold it lingers on');
  await ledger.close();
});
