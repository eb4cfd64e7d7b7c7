// Taking, holding and giving back locks: the file's content, the heartbeat and its ownership
// check, ownership-checked release, contention reporting and timeouts, option validation.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { engine, exited, nativeLock, rejectsWithCode, setAge, startHolder, telemetryEvents, tempDir } from '../fixtures/lock-helpers.mjs';

const { acquireLock, withLock, ensureStore, onTelemetry, LockContentionError, NativeLockSchema } = engine;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test('an acquired lock names its holder: format, pid, host, owner, tool, acquiredAt, start time', async (t) => {
  const dir = tempDir(t);
  const lockPath = join(dir, 'sub', 'dir', 'a.lock');
  const lock = await acquireLock(lockPath, { tool: 'unit test' });
  t.after(() => lock.release());
  const content = JSON.parse(readFileSync(lockPath, 'utf8'));
  assert.ok(NativeLockSchema.safeParse(content).success);
  assert.equal(content.format, 'ledgerlock-lock');
  assert.equal(content.version, 1);
  assert.equal(content.pid, process.pid);
  assert.equal(content.host, hostname());
  assert.equal(content.owner, lock.owner);
  assert.equal(content.tool, 'unit test');
  assert.ok(Math.abs(Date.parse(content.acquiredAt) - Date.now()) < 60_000);
  if (process.platform === 'linux') assert.equal(typeof content.startTicks, 'number');
  assert.equal(lock.held, true);
  assert.equal(lock.compromised, false);
  assert.equal(lock.path, lockPath);
});

test('durable: false still writes a complete lock naming its holder', async (t) => {
  const dir = tempDir(t);
  const lockPath = join(dir, 'fast.lock');
  const lock = await acquireLock(lockPath, { durable: false, tool: 'fast' });
  assert.equal(JSON.parse(readFileSync(lockPath, 'utf8')).owner, lock.owner);
  await lock.release();
  assert.deepEqual(readdirSync(dir), []);
});

test('release removes our lock and leaves nothing behind; a second release is harmless', async (t) => {
  const dir = tempDir(t);
  const lockPath = join(dir, 'r.lock');
  const lock = await acquireLock(lockPath);
  await lock.release();
  assert.equal(lock.held, false);
  assert.equal(lock.compromised, false);
  assert.deepEqual(readdirSync(dir), []);
  await lock.release();
});

test('createParents: false refuses a missing directory instead of creating it', async (t) => {
  const dir = tempDir(t);
  await rejectsWithCode(acquireLock(join(dir, 'missing', 'x.lock'), { createParents: false }), 'E_IO');
  assert.equal(existsSync(join(dir, 'missing')), false);
});

test('the heartbeat refreshes the mtime of our own lock', async (t) => {
  const dir = tempDir(t);
  const lockPath = join(dir, 'beat.lock');
  const lock = await acquireLock(lockPath, { heartbeatMs: 30 });
  t.after(() => lock.release());
  setAge(lockPath, 3_600_000);
  const old = statSync(lockPath).mtimeMs;
  for (let i = 0; i < 100 && statSync(lockPath).mtimeMs === old; i++) await sleep(20);
  assert.ok(statSync(lockPath).mtimeMs > old + 3_000_000);
  assert.equal(lock.held, true);
});

test('the heartbeat never refreshes a replaced lock: it reports the lock compromised instead', async (t) => {
  const ws = tempDir(t);
  const store = await ensureStore(ws);
  const lockPath = join(store.locks, 'replaced.lock');
  const lock = await acquireLock(lockPath, { heartbeatMs: 30 });
  const reasons = [];
  lock.onCompromised((reason) => reasons.push(reason));
  const theirs = JSON.stringify(nativeLock({ owner: 'the-new-owner', tool: 'intruder' }));
  writeFileSync(join(ws, 'tmp'), theirs);
  renameSync(join(ws, 'tmp'), lockPath);
  setAge(lockPath, 3_600_000);
  const old = statSync(lockPath).mtimeMs;
  for (let i = 0; i < 100 && reasons.length === 0; i++) await sleep(20);
  await sleep(150); // several more beats
  assert.equal(reasons.length, 1);
  assert.match(reasons[0], /replaced/);
  assert.equal(lock.compromised, true);
  assert.equal(lock.held, false);
  assert.equal(statSync(lockPath).mtimeMs, old, 'the replacement was never touched');
  await lock.release();
  assert.equal(readFileSync(lockPath, 'utf8'), theirs, 'release left the replacement alone');
  const events = telemetryEvents(ws).filter((e) => e.type === 'LOCK_COMPROMISED');
  assert.equal(events.length, 1);
  assert.equal(events[0].data.lock, lockPath);
});

test('a lock removed under its holder is reported compromised by the heartbeat', async (t) => {
  const dir = tempDir(t);
  const lockPath = join(dir, 'gone.lock');
  const lock = await acquireLock(lockPath, { heartbeatMs: 30, telemetry: false });
  const reasons = [];
  lock.onCompromised((r) => reasons.push(r));
  renameSync(lockPath, join(dir, 'elsewhere'));
  for (let i = 0; i < 100 && reasons.length === 0; i++) await sleep(20);
  assert.match(reasons[0], /removed/);
  await lock.release();
  assert.ok(existsSync(join(dir, 'elsewhere')));
});

test("release never removes someone else's lock", async (t) => {
  const dir = tempDir(t);
  const lockPath = join(dir, 'other.lock');
  const lock = await acquireLock(lockPath, { heartbeatMs: 60_000, telemetry: false });
  const theirs = JSON.stringify(nativeLock({ owner: 'somebody-else' }));
  writeFileSync(join(dir, 'tmp'), theirs);
  renameSync(join(dir, 'tmp'), lockPath);
  const reasons = [];
  lock.onCompromised((r) => reasons.push(r));
  await lock.release();
  assert.equal(readFileSync(lockPath, 'utf8'), theirs);
  assert.deepEqual(readdirSync(dir), ['other.lock'], 'no trash left behind');
  assert.equal(lock.compromised, true);
  assert.equal(reasons.length, 1);
});

/** The paths this process has open right now (Linux), as /proc/self/fd names them. */
function openPaths() {
  return readdirSync('/proc/self/fd').flatMap((fd) => {
    try {
      return [readlinkSync(`/proc/self/fd/${fd}`)];
    } catch {
      return [];
    }
  });
}

test(
  'a holder keeps its lock file open from create to release (its inode cannot pass to another file), and closes it at release and when the lock is lost',
  { skip: process.platform !== 'linux' },
  async (t) => {
    const dir = tempDir(t);
    const lockPath = join(dir, 'kept.lock');
    const before = openPaths().length;
    const lock = await acquireLock(lockPath, { heartbeatMs: 60_000, telemetry: false });
    assert.equal(openPaths().filter((p) => p === lockPath).length, 1, 'one descriptor on the lock file while it is held');
    await lock.release();
    assert.equal(openPaths().filter((p) => p.startsWith(dir)).length, 0, 'nothing of the lock left open after release');
    for (let i = 0; i < 200; i++) engine.acquireLockSync(lockPath, { telemetry: false }).releaseSync();
    assert.equal(openPaths().length, before, '200 sync lock cycles leave no descriptor behind');

    const lost = await acquireLock(lockPath, { heartbeatMs: 60_000, telemetry: false });
    renameSync(lockPath, join(dir, 'moved'));
    assert.match(lost.checkOwnedSync(), /removed/);
    assert.equal(openPaths().filter((p) => p.startsWith(dir)).length, 0, 'a lock found lost lets go of its descriptor at once');
    await lost.release();
  },
);

test('a lock rewritten in place (the same inode, another owner) is found lost before anything is written under it, and release leaves it', async (t) => {
  const dir = tempDir(t);
  const lockPath = join(dir, 'inplace.lock');
  const lock = engine.acquireLockSync(lockPath, { heartbeatMs: 60_000, telemetry: false });
  assert.equal(lock.checkOwnedSync(), undefined, 'ours while nobody touched it');
  const ino = statSync(lockPath).ino;
  const theirs = JSON.stringify(nativeLock({ owner: 'rewrote-it-in-place' }));
  writeFileSync(lockPath, theirs);
  assert.equal(statSync(lockPath).ino, ino, 'the same inode, rewritten');
  assert.match(lock.checkOwnedSync(), /replaced/);
  assert.equal(lock.compromised, true);
  lock.releaseSync();
  assert.equal(readFileSync(lockPath, 'utf8'), theirs, 'their lock stays');
  assert.deepEqual(readdirSync(dir), ['inplace.lock'], 'no trash left behind');
});

test('withLock reports E_LOCK_COMPROMISED when the lock was taken away while the task ran', async (t) => {
  const dir = tempDir(t);
  const lockPath = join(dir, 'w.lock');
  const err = await rejectsWithCode(withLock(lockPath, async () => {
    writeFileSync(lockPath, JSON.stringify(nativeLock({ owner: 'thief' })));
    return 42;
  }, { telemetry: false }), 'E_LOCK_COMPROMISED');
  assert.match(err.message, /w\.lock/);
});

test("withLock releases on failure and the task's own error surfaces", async (t) => {
  const dir = tempDir(t);
  const lockPath = join(dir, 'f.lock');
  await assert.rejects(withLock(lockPath, async () => { throw new Error('task failed'); }), /task failed/);
  assert.equal(existsSync(lockPath), false);
  assert.equal(await withLock(lockPath, async (lock) => lock.held), true);
});

test('a contention timeout throws LockContentionError naming the holder pid, host, tool and age, and records telemetry', async (t) => {
  const ws = tempDir(t);
  const store = await ensureStore(ws);
  const lockPath = join(store.locks, 'busy.lock');
  const holder = await startHolder(t, lockPath);
  const seen = [];
  const stop = onTelemetry((e) => seen.push(e));
  t.after(stop);
  const started = Date.now();
  const err = await rejectsWithCode(acquireLock(lockPath, { timeoutMs: 400, contentionMs: 150 }), 'E_LOCK_TIMEOUT');
  assert.ok(Date.now() - started >= 400);
  assert.ok(err instanceof LockContentionError);
  assert.match(err.message, new RegExp(`pid ${holder.pid}`));
  assert.match(err.message, new RegExp(`host ${hostname()}`));
  assert.match(err.message, /lock-holder fixture/);
  assert.match(err.message, /held for/);
  assert.equal(err.details.holder.pid, holder.pid);
  assert.equal(typeof err.details.ageMs, 'number');

  const contended = seen.filter((e) => e.type === 'LOCK_CONTENDED');
  const timeouts = seen.filter((e) => e.type === 'LOCK_CONTENTION_TIMEOUT');
  assert.equal(contended.length, 1, 'contention is recorded once');
  assert.equal(timeouts.length, 1);
  assert.equal(contended[0].data.holder.pid, holder.pid);
  assert.equal(contended[0].data.waiterPid, process.pid);
  assert.ok(contended[0].data.waitedMs >= 150);
  assert.ok(timeouts[0].data.waitedMs >= 400);
  const stored = telemetryEvents(ws).map((e) => e.type);
  assert.ok(stored.includes('LOCK_CONTENDED') && stored.includes('LOCK_CONTENTION_TIMEOUT'));
  assert.ok(existsSync(lockPath), "the holder's lock is untouched");
});

test('a short wait under the contention threshold records no contention', async (t) => {
  const dir = tempDir(t);
  const lockPath = join(dir, 'short.lock');
  const holder = await startHolder(t, lockPath);
  const seen = [];
  t.after(onTelemetry((e) => seen.push(e)));
  setTimeout(() => holder.child.stdin.write('release\n'), 150);
  const lock = await acquireLock(lockPath, { timeoutMs: 10_000, contentionMs: 5_000 });
  assert.equal(lock.held, true);
  await lock.release();
  assert.deepEqual(seen.filter((e) => e.type === 'LOCK_CONTENDED'), []);
});

test('run-without-lock: after the timeout the task runs and learns it does not hold the lock', async (t) => {
  const dir = tempDir(t);
  const lockPath = join(dir, 'best-effort.lock');
  const holder = await startHolder(t, lockPath);
  const result = await withLock(lockPath, async (lock) => ({ held: lock.held, compromised: lock.compromised }), {
    timeoutMs: 200, onTimeout: 'run-without-lock', telemetry: false,
  });
  assert.deepEqual(result, { held: false, compromised: false });
  assert.equal(JSON.parse(readFileSync(lockPath, 'utf8')).pid, holder.pid, "the holder's lock is untouched");
});

test('an abort signal stops the wait with E_ABORTED', async (t) => {
  const dir = tempDir(t);
  const lockPath = join(dir, 'abort.lock');
  await startHolder(t, lockPath);
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 100);
  await rejectsWithCode(acquireLock(lockPath, { timeoutMs: 20_000, signal: controller.signal, telemetry: false }), 'E_ABORTED');
});

test('timing options are validated: NaN, Infinity, <= 0 and > 2^31-1 are E_BAD_OPTION naming the value', async (t) => {
  const dir = tempDir(t);
  const lockPath = join(dir, 'opts.lock');
  const names = ['timeoutMs', 'staleMs', 'contentionMs', 'heartbeatMs', 'retryBaseMs', 'retryMaxMs'];
  const bad = [[NaN, 'NaN'], [Infinity, 'Infinity'], [-Infinity, '-Infinity'], [0, '0'], [-1, '-1'], [2 ** 31, String(2 ** 31)], ['100', '"100"']];
  for (const name of names) {
    for (const [value, shown] of bad) {
      const err = await rejectsWithCode(acquireLock(lockPath, { [name]: value }), 'E_BAD_OPTION');
      assert.ok(err.message.includes(name) && err.message.includes(shown), `${name}=${shown}: ${err.message}`);
    }
  }
  await rejectsWithCode(acquireLock(lockPath, { onTimeout: 'ignore' }), 'E_BAD_OPTION');
  assert.equal(existsSync(lockPath), false, 'a rejected option never creates the lock');
  const ok = await acquireLock(lockPath, { timeoutMs: 2 ** 31 - 1, heartbeatMs: 1_000 });
  await ok.release();
});

test('at process exit a still-held lock is removed, but only if it is still ours', async (t) => {
  const dir = tempDir(t);
  const ours = join(dir, 'ours.lock');
  const holder = await startHolder(t, ours);
  holder.child.stdin.end(); // the fixture exits without releasing
  await exited(holder.child);
  assert.equal(existsSync(ours), false);

  const replaced = join(dir, 'replaced.lock');
  const second = await startHolder(t, replaced, { heartbeatMs: 60_000 });
  const theirs = JSON.stringify(nativeLock({ owner: 'someone-else' }));
  writeFileSync(join(dir, 'tmp'), theirs);
  renameSync(join(dir, 'tmp'), replaced);
  second.child.stdin.end();
  await exited(second.child);
  assert.equal(readFileSync(replaced, 'utf8'), theirs);
});

test('a stale lock met while waiting is reaped and taken, the same rules as reapLock', async (t) => {
  const dir = tempDir(t);
  const lockPath = join(dir, 'empty.lock');
  writeFileSync(lockPath, '');
  setAge(lockPath, 20_000);
  const lock = await acquireLock(lockPath, { timeoutMs: 2_000, telemetry: false });
  assert.equal(lock.held, true);
  await lock.release();
  mkdirSync(lockPath);
  setAge(lockPath, 5_000);
  await rejectsWithCode(acquireLock(lockPath, { timeoutMs: 200, staleMs: 60_000, telemetry: false }), 'E_LOCK_TIMEOUT');
});
