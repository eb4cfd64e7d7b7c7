// Breaking locks: only stale ones, never a live holder's (not even with force), replacement-safe,
// with the reaped bytes kept and the recovery recorded in the store's telemetry.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { deadPid, engine, exited, nativeLock, rejectsWithCode, setAge, startHolder, telemetryEvents, tempDir, writeLock } from '../fixtures/lock-helpers.mjs';

const { acquireLock, ensureStore, inspectLock, reapLock, useFileSystem, nodeFileSystem } = engine;

test("a live holder's lock is never reaped, not even with force: E_LOCK_LIVE_HOLDER", async (t) => {
  const dir = tempDir(t);
  const lock = join(dir, 'live.lock');
  const holder = await startHolder(t, lock, { heartbeatMs: 60_000 });
  setAge(lock, 3_600_000);
  const bytes = readFileSync(lock);
  const err = await rejectsWithCode(reapLock(lock), 'E_LOCK_LIVE_HOLDER');
  assert.match(err.message, new RegExp(`pid ${holder.pid}`));
  assert.equal(err.details.holder.pid, holder.pid);
  await rejectsWithCode(reapLock(lock, { force: true }), 'E_LOCK_LIVE_HOLDER');
  await rejectsWithCode(reapLock(lock, { force: true, staleMs: 1 }), 'E_LOCK_LIVE_HOLDER');
  assert.deepEqual(readFileSync(lock), bytes);
  // The holder still owns it and releases it cleanly.
  holder.child.stdin.write('release\n');
  await exited(holder.child);
  assert.equal(existsSync(lock), false);
  assert.deepEqual(readdirSync(dir), []);
});

test('a lock that is not provably stale is refused with E_LOCK_NOT_STALE; force breaks it unless its holder is live and local', async (t) => {
  const dir = tempDir(t);
  const lock = join(dir, 'remote.lock');
  writeLock(lock, nativeLock({ host: `not-${hostname()}`, pid: 77 }));
  const err = await rejectsWithCode(reapLock(lock), 'E_LOCK_NOT_STALE');
  assert.match(err.message, /not stale/);
  assert.ok(existsSync(lock));
  const forced = await reapLock(lock, { force: true });
  assert.equal(forced.reaped, true);
  assert.equal(existsSync(lock), false);
});

test('a stale lock in a store is reaped: its bytes go to quarantine/ and STALE_LOCK_RECOVERY is recorded', async (t) => {
  const ws = tempDir(t);
  const store = await ensureStore(ws);
  const lock = join(store.locks, 'build.lock');
  const pid = await deadPid();
  const content = JSON.stringify(nativeLock({ pid, tool: 'crashed-tool' }));
  writeLock(lock, content);
  const result = await reapLock(lock);
  assert.equal(result.reaped, true);
  assert.equal(result.info.state, 'stale');
  assert.equal(existsSync(lock), false);
  assert.ok(result.trash.startsWith(store.quarantine));
  assert.equal(readFileSync(result.trash, 'utf8'), content);
  assert.deepEqual(readdirSync(store.locks), []);
  const events = telemetryEvents(ws).filter((e) => e.type === 'STALE_LOCK_RECOVERY');
  assert.equal(events.length, 1);
  assert.equal(events[0].data.lock, lock);
  assert.equal(events[0].data.holder.pid, pid);
  assert.equal(events[0].data.holder.tool, 'crashed-tool');
  assert.match(events[0].data.reason, /no longer running/);
  assert.equal(events[0].data.profile, result.info.profile, 'the record says whose rules judged the lock');
});

test('outside a store a reaped lock is deleted and nothing is left beside it', async (t) => {
  const dir = tempDir(t);
  const lock = join(dir, 'index.lock');
  writeLock(lock, '', { ageMs: 60_000 });
  const result = await reapLock(lock);
  assert.equal(result.reaped, true);
  assert.equal(result.trash, undefined);
  assert.deepEqual(readdirSync(dir), []);
});

test('an orphaned directory lock (proper-lockfile style) is reaped', async (t) => {
  const dir = tempDir(t);
  const lock = join(dir, 'data.json.lock');
  mkdirSync(lock);
  setAge(lock, 60_000);
  assert.equal((await reapLock(lock)).reaped, true);
  assert.deepEqual(readdirSync(dir), []);
});

test('kill -9 of a holder: the next acquirer reaps its lock, gets it, and STALE_LOCK_RECOVERY names the dead holder', async (t) => {
  const ws = tempDir(t);
  const store = await ensureStore(ws);
  const lock = join(store.locks, 'job.lock');
  const holder = await startHolder(t, lock);
  holder.child.kill('SIGKILL');
  await exited(holder.child);
  assert.equal(JSON.parse(readFileSync(lock, 'utf8')).pid, holder.pid, 'a killed holder leaves its lock behind');

  const mine = await acquireLock(lock, { timeoutMs: 5_000 });
  assert.equal(mine.held, true);
  assert.equal(JSON.parse(readFileSync(lock, 'utf8')).owner, mine.owner);
  await mine.release();

  const recoveries = telemetryEvents(ws).filter((e) => e.type === 'STALE_LOCK_RECOVERY');
  assert.equal(recoveries.length, 1);
  assert.equal(recoveries[0].data.holder.pid, holder.pid);
  assert.equal(recoveries[0].data.holder.owner, holder.owner);
  const kept = readdirSync(store.quarantine).filter((n) => n.startsWith('job.lock.'));
  assert.equal(kept.length, 1);
  assert.equal(JSON.parse(readFileSync(join(store.quarantine, kept[0]), 'utf8')).owner, holder.owner);
});

/** Runs `during` just before the engine renames `lockPath` aside (once), as a racing process would. */
function raceBeforeRename(t, lockPath, during) {
  let fired = false;
  const restore = useFileSystem({
    ...nodeFileSystem,
    async rename(from, to) {
      if (!fired && from === lockPath && to.endsWith('.trash')) {
        fired = true;
        await during.before?.();
        await nodeFileSystem.rename(from, to);
        await during.after?.();
        return;
      }
      return nodeFileSystem.rename(from, to);
    },
  });
  t.after(restore);
  return () => fired;
}

test('breaking is replacement-safe: a lock replaced between judgment and rename is put back, not reaped', async (t) => {
  const dir = tempDir(t);
  const lock = join(dir, 'raced.lock');
  writeLock(lock, nativeLock({ pid: await deadPid() }));
  const fresh = JSON.stringify(nativeLock({ owner: 'new-holder' }));
  const fired = raceBeforeRename(t, lock, {
    before() {
      writeFileSync(join(dir, 'tmp'), fresh);
      renameSync(join(dir, 'tmp'), lock); // a new holder's lock, atomically in place
    },
  });
  const result = await reapLock(lock);
  assert.ok(fired());
  assert.equal(result.reaped, false);
  assert.equal(readFileSync(lock, 'utf8'), fresh, 'the replacement is back at its path');
  assert.deepEqual(readdirSync(dir).sort(), ['raced.lock']);
  assert.equal((await inspectLock(lock)).holder.owner, 'new-holder');
});

test('if a newer lock took the path while a replacement was moved aside, the replacement is left in trash and reported', async (t) => {
  const dir = tempDir(t);
  const lock = join(dir, 'raced.lock');
  writeLock(lock, nativeLock({ pid: await deadPid() }));
  const replacement = JSON.stringify(nativeLock({ owner: 'second' }));
  const newest = JSON.stringify(nativeLock({ owner: 'third' }));
  raceBeforeRename(t, lock, {
    before() {
      writeFileSync(join(dir, 'tmp'), replacement);
      renameSync(join(dir, 'tmp'), lock);
    },
    after() {
      writeFileSync(lock, newest, { flag: 'wx' });
    },
  });
  const recorded = [];
  const result = await reapLock(lock, { telemetry: (e) => void recorded.push(e) });
  assert.equal(result.reaped, false);
  assert.equal(readFileSync(lock, 'utf8'), newest, 'link never overwrites the newer lock');
  assert.ok(result.trash, 'the leftover is reported');
  assert.equal(readFileSync(result.trash, 'utf8'), replacement);
  assert.match(result.why, /a new holder took its place.*could not be put back/);
  // A file at a trash name shows in no listing: the recovery log says where it is and why.
  const aside = recorded.filter((e) => e.type === 'LOCK_LEFT_ASIDE');
  assert.equal(aside.length, 1, `one LOCK_LEFT_ASIDE recorded (got ${recorded.map((e) => e.type).join(', ') || 'none'})`);
  assert.equal(aside[0].data.lock, lock);
  assert.equal(aside[0].data.trash, result.trash);
  assert.match(aside[0].data.reason, /not the lock that was judged.*a new lock took the path/);
  assert.equal(recorded.filter((e) => e.type === 'STALE_LOCK_RECOVERY').length, 0, 'nothing was reaped');
});

test(
  'a file a process opened while it was being reaped, whose path a new lock took meanwhile, is left aside and recorded with the opener, not removed',
  { skip: process.platform !== 'linux' && 'reads /proc' },
  async (t) => {
    const dir = tempDir(t);
    const lock = join(dir, 'build.lock');
    // An empty lock file an hour old that nobody holds or has open: stale by the generic rule.
    writeFileSync(lock, '');
    setAge(lock, 3_600_000);
    let opener;
    t.after(() => opener?.kill('SIGKILL'));
    raceBeforeRename(t, lock, {
      // A flock-style tool opens the file between the verdict and the move ...
      async before() {
        opener = spawn('sh', ['-c', 'exec 3<"$0"; echo open; exec sleep 60', lock], { stdio: ['ignore', 'pipe', 'inherit'] });
        await new Promise((resolve) => opener.stdout.once('data', resolve));
      },
      // ... and another process creates a new lock at the path before it can be put back.
      after() {
        writeFileSync(lock, 'newer', { flag: 'wx' });
      },
    });
    const recorded = [];
    const result = await reapLock(lock, { telemetry: (e) => void recorded.push(e) });
    assert.equal(result.reaped, false);
    assert.equal(readFileSync(lock, 'utf8'), 'newer', 'the new lock keeps the path');
    assert.ok(result.trash && existsSync(result.trash), 'the opened file is kept at its trash name, not deleted');
    const aside = recorded.filter((e) => e.type === 'LOCK_LEFT_ASIDE');
    assert.equal(aside.length, 1, `one LOCK_LEFT_ASIDE recorded (got ${recorded.map((e) => e.type).join(', ') || 'none'})`);
    assert.equal(aside[0].data.trash, result.trash);
    assert.match(aside[0].data.reason, new RegExp(`pid ${opener.pid} opened it while it was being reaped; a new lock took the path`));
    assert.equal(recorded.filter((e) => e.type === 'STALE_LOCK_RECOVERY').length, 0, 'nothing was reaped');
  },
);

test('a lock rewritten in place while it is read is judged by what it then holds: a dead holder written mid-read is reaped, nothing left', async (t) => {
  const dir = tempDir(t);
  const lock = join(dir, 'rewritten.lock');
  // A holder that has just truncated its lock to rewrite it: empty, an hour old.
  writeFileSync(lock, '');
  setAge(lock, 3_600_000);
  const dead = JSON.stringify(nativeLock({ pid: await deadPid(), owner: 'crashed' }));
  let rewrites = 0;
  const restore = useFileSystem({
    ...nodeFileSystem,
    async open(path, flags, mode, options) {
      const file = await nodeFileSystem.open(path, flags, mode, options);
      // The breaker's look under its guard: its stat sees the empty file, the write lands before its read.
      if (path !== lock || rewrites > 0 || !existsSync(`${lock}.reaping`)) return file;
      return new Proxy(file, {
        get(target, key) {
          if (key !== 'stat') return typeof target[key] === 'function' ? target[key].bind(target) : target[key];
          return async () => {
            const st = await target.stat();
            if (rewrites++ === 0) {
              writeFileSync(lock, dead);
              const later = new Date(st.mtimeMs + 1_000);
              utimesSync(lock, later, later);
            }
            return st;
          };
        },
      });
    },
  });
  t.after(restore);
  const result = await reapLock(lock);
  assert.ok(rewrites > 0, 'the rewrite happened between a stat and the read');
  assert.equal(result.reaped, true, 'judged and moved the same file');
  assert.equal(result.info.holder.owner, 'crashed');
  assert.deepEqual(readdirSync(dir), [], 'no lock, no trash, no guard');
});

test('a directory lock whose holder touches it while it is being broken is put back (its heartbeat proves it alive)', async (t) => {
  const dir = tempDir(t);
  const lock = join(dir, 'data.json.lock');
  mkdirSync(lock);
  setAge(lock, 60_000);
  const { ino } = statSync(lock);
  raceBeforeRename(t, lock, { before() { const now = new Date(); utimesSync(lock, now, now); } });
  const result = await reapLock(lock);
  assert.equal(result.reaped, false);
  assert.equal(statSync(lock).ino, ino, 'the same directory is back in place');
  assert.deepEqual(readdirSync(dir), ['data.json.lock']);
});

test('the guard of a breaker that died mid-break does not block reaping', async (t) => {
  const dir = tempDir(t);
  const lock = join(dir, 'guarded.lock');
  writeLock(lock, nativeLock({ pid: await deadPid() }));
  writeLock(`${lock}.reaping`, nativeLock({ pid: await deadPid(), tool: 'ledgerlock reaper' }));
  assert.equal((await reapLock(lock)).reaped, true);
  assert.deepEqual(readdirSync(dir), []);
});

test("a live breaker's guard makes reapLock wait, then give up with E_LOCK_TIMEOUT, leaving the lock", async (t) => {
  const dir = tempDir(t);
  const lock = join(dir, 'busy.lock');
  writeLock(lock, nativeLock({ pid: await deadPid() }));
  writeLock(`${lock}.reaping`, nativeLock({ pid: process.pid, tool: 'ledgerlock reaper' }));
  await rejectsWithCode(reapLock(lock, { guardTimeoutMs: 200 }), 'E_LOCK_TIMEOUT');
  assert.ok(existsSync(lock));
});

test('reaping a missing lock is E_NOT_FOUND', async (t) => {
  const dir = tempDir(t);
  await rejectsWithCode(reapLock(join(dir, 'nothing.lock')), 'E_NOT_FOUND');
});
