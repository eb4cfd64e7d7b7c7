// Confinement remembers each parent directory it resolved (pinned by a descriptor, so a stat and
// one /proc read replace the walk per component). These pin that the memory never vouches for a
// folder that has since left the workspace, and follows a folder that was removed and made again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { engine as e } from '../fixtures/ledger-helpers.mjs';
import { tempDir } from '../fixtures/workspace.mjs';

async function workspace(t) {
  const root = fs.realpathSync(tempDir(t, 'll-confine-cache-'));
  await e.ensureStore(root);
  const outside = fs.realpathSync(tempDir(t, 'll-confine-outside-'));
  return { root, outside, locks: path.join(root, '.ledgerlock', 'locks'), ledgers: path.join(root, '.ledgerlock', 'ledgers') };
}

/** Moves `dir` (same file system, so its inode stays) outside the workspace and leaves a symlink to it in its place. */
function moveOutAndLink(dir, outside) {
  const moved = path.join(outside, path.basename(dir));
  fs.renameSync(dir, moved);
  fs.symlinkSync(moved, dir);
  return moved;
}

test('a lock folder resolved a moment ago, then moved out of the workspace behind a symlink: the next lock is refused, nothing is created outside', async (t) => {
  const { locks, outside } = await workspace(t);
  const lockPath = path.join(locks, 'build.lock');
  e.acquireLockSync(lockPath, { telemetry: false }).releaseSync();
  e.acquireLockSync(lockPath, { telemetry: false }).releaseSync(); // the folder is remembered now
  const moved = moveOutAndLink(locks, outside);
  assert.throws(() => e.acquireLockSync(lockPath, { telemetry: false, timeoutMs: 200 }), { code: 'E_PATH_OUTSIDE_ROOT' });
  await assert.rejects(e.acquireLock(lockPath, { telemetry: false, timeoutMs: 200 }), { code: 'E_PATH_OUTSIDE_ROOT' });
  assert.deepEqual(fs.readdirSync(moved), []);
});

test('a ledger folder moved out of the workspace behind a symlink after appends through it: opening and appending again is refused, the file outside is unchanged', async (t) => {
  const { ledgers, outside } = await workspace(t);
  const file = path.join(ledgers, 'events.jsonl');
  const ledger = await e.openLedger(file, { telemetry: false });
  ledger.appendSync('one', { n: 1 });
  ledger.appendSync('two', { n: 2 });
  await ledger.close();
  const moved = moveOutAndLink(ledgers, outside);
  const before = fs.readFileSync(path.join(moved, 'events.jsonl'));
  const again = await e.openLedger(file, { telemetry: false }).catch((err) => err);
  if (again instanceof Error) {
    assert.equal(again.code, 'E_PATH_OUTSIDE_ROOT');
  } else {
    assert.throws(() => again.appendSync('three', { n: 3 }), { code: 'E_PATH_OUTSIDE_ROOT' });
    await again.close().catch(() => undefined);
  }
  assert.deepEqual(fs.readFileSync(path.join(moved, 'events.jsonl')), before);
});

test('a ledger kept open while its folder is moved out of the workspace behind a symlink: its next append is refused, nothing is written outside', async (t) => {
  const { ledgers, outside } = await workspace(t);
  const file = path.join(ledgers, 'events.jsonl');
  const ledger = await e.openLedger(file, { telemetry: false });
  t.after(() => ledger.close().catch(() => undefined));
  await ledger.append('one', { n: 1 });
  ledger.appendSync('two', { n: 2 });
  // Long past any lingering hold (15 ms at most): the next append takes the lock afresh.
  await new Promise((resolve) => setTimeout(resolve, 100));
  const moved = moveOutAndLink(ledgers, outside);
  const before = fs.readFileSync(path.join(moved, 'events.jsonl'));
  // The path still leads to the very file the ledger holds open, now outside the workspace.
  await assert.rejects(ledger.append('three', { n: 3 }), { code: 'E_PATH_OUTSIDE_ROOT' });
  assert.throws(() => ledger.appendSync('four', { n: 4 }), { code: 'E_PATH_OUTSIDE_ROOT' });
  assert.deepEqual(fs.readFileSync(path.join(moved, 'events.jsonl')), before, 'the file outside is unchanged');
});

test('a lock folder removed and made again: the next lock lands in the new folder', async (t) => {
  const { locks } = await workspace(t);
  const lockPath = path.join(locks, 'build.lock');
  e.acquireLockSync(lockPath, { telemetry: false }).releaseSync();
  fs.rmSync(locks, { recursive: true });
  fs.mkdirSync(locks);
  const lock = e.acquireLockSync(lockPath, { telemetry: false });
  assert.equal(fs.existsSync(lockPath), true);
  assert.equal(lock.held, true);
  lock.releaseSync();
  assert.equal(fs.existsSync(lockPath), false);
});
