// The operating system is the first witness of a lock's holder: flock(2), POSIX (fcntl/lockf)
// and OFD locks listed in /proc/locks, and open descriptors in /proc/<pid>/fd. A lock with such
// a holder is never stale and never reaped, whatever its bytes or age; a blocked waiter in
// /proc/locks is real contention. Holders are real child processes: flock(1) and Python.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { statSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  commandExists,
  deadPid,
  engine,
  exited,
  kernelLocksOn,
  killGroup,
  rejectsWithCode,
  setAge,
  startInGroup,
  tempDir,
  writeLock,
} from '../fixtures/lock-helpers.mjs';

const { inspectLock, reapLock, listLocks, parseProcLocks } = engine;
const HOUR = 3_600_000;
const linux = process.platform === 'linux';
const hasFlock = linux && commandExists('flock');
const hasPython = linux && commandExists('python3');

const PY_HOLD = `
import fcntl, os, struct, sys, time
path, how = sys.argv[1], sys.argv[2]
if how == 'open':
    f = open(path, 'rb')
elif how == 'flock':
    f = open(path, 'a'); fcntl.flock(f, fcntl.LOCK_EX)
elif how == 'lockf':
    f = open(path, 'a'); fcntl.lockf(f, fcntl.LOCK_EX)
elif how == 'ofd':
    fd = os.open(path, os.O_RDWR)
    F_OFD_SETLK = 37
    fcntl.fcntl(fd, F_OFD_SETLK, struct.pack('hhqqi4x', fcntl.F_WRLCK, 0, 0, 0, 0))
open(path + '.ready', 'w').close()
time.sleep(300)
`;

async function pythonHolder(t, lock, how) {
  return startInGroup(t, 'python3', ['-c', PY_HOLD, lock, how], () => existsSync(`${lock}.ready`));
}

test('parseProcLocks reads holders and blocked waiters by device and inode', () => {
  const rows = parseProcLocks(
    [
      '1: FLOCK  ADVISORY  WRITE 8262 fe:00:2146711 0 EOF',
      '1: -> FLOCK  ADVISORY  WRITE 8266 fe:00:2146711 0 EOF',
      '2: POSIX  ADVISORY  READ 77 08:01:99 0 EOF',
      '3: OFDLCK ADVISORY  WRITE -1 00:2f:5 0 EOF',
      'garbage line',
    ].join('\n'),
  );
  assert.deepEqual(rows.get('254:0:2146711'), [
    { kind: 'flock', pid: 8262, access: 'write', waiting: false },
    { kind: 'flock', pid: 8266, access: 'write', waiting: true },
  ]);
  assert.deepEqual(rows.get('8:1:99'), [{ kind: 'posix', pid: 77, access: 'read', waiting: false }]);
  assert.deepEqual(rows.get('0:47:5'), [{ kind: 'ofd', pid: -1, access: 'write', waiting: false }]);
});

test(
  'a zero-byte lock an hour old, held through flock(1) by a live process, is held — never stale, never reaped',
  { skip: !hasFlock && 'needs Linux and flock(1)' },
  async (t) => {
    const dir = tempDir(t);
    const lock = join(dir, 'build.lock');
    writeFileSync(lock, '');
    setAge(lock, HOUR);
    const child = await startInGroup(t, 'flock', [lock, 'sleep', '300'], () => kernelLocksOn(lock).length > 0);
    const inode = statSync(lock).ino;
    const info = await inspectLock(lock);
    assert.equal(info.state, 'held');
    assert.equal(info.reapable, false);
    assert.equal(info.alive, true);
    assert.equal(info.profile, 'flock');
    assert.equal(info.evidence[0].kind, 'flock');
    assert.equal(info.evidence[0].pid, child.pid);
    assert.match(info.evidence[0].command, /flock .*build\.lock sleep 300/);
    assert.match(info.reason, new RegExp(`held through flock by pid ${child.pid}`));
    const err = await rejectsWithCode(reapLock(lock), 'E_LOCK_LIVE_HOLDER');
    assert.match(err.message, new RegExp(`pid ${child.pid}`));
    await rejectsWithCode(reapLock(lock, { force: true }), 'E_LOCK_LIVE_HOLDER');
    assert.equal(statSync(lock).ino, inode, 'the file the holder locked is still the lock');
  },
);

test(
  'a flock hold just taken on a zero-byte file an hour old is as old as its holder at most: not "held for 60 min", not long held',
  { skip: !hasFlock && 'needs Linux and flock(1)' },
  async (t) => {
    const dir = tempDir(t);
    const lock = join(dir, 'deploy.lock');
    writeFileSync(lock, '');
    setAge(lock, HOUR);
    const started = Date.now();
    await startInGroup(t, 'flock', [lock, 'sleep', '300'], () => kernelLocksOn(lock).length > 0);
    const info = await inspectLock(lock, { contentionMs: 30_000 });
    assert.equal(info.state, 'held');
    // The holder's start is known to about a second (btime has whole seconds).
    assert.ok(info.ageMs <= Date.now() - started + 1_500, `age ${info.ageMs} ms, the holder ran ${Date.now() - started} ms`);
    assert.equal(info.longHeld, false);
    assert.match(info.reason, /held for at most \d+ (ms|s)\b/);
    assert.doesNotMatch(info.reason, /60 min/);
    assert.ok(info.heartbeatAgeMs >= HOUR - 60_000, 'the file is still an hour old');
  },
);

test(
  'a lock whose content names a dead pid is still held while the kernel shows a flock holder',
  { skip: !hasFlock && 'needs Linux and flock(1)' },
  async (t) => {
    const dir = tempDir(t);
    const lock = join(dir, 'dead-content.lock');
    writeLock(lock, `${await deadPid()} someone 2020-01-01T00:00:00Z\n`, { ageMs: HOUR });
    const child = await startInGroup(t, 'flock', [lock, 'sleep', '300'], () => kernelLocksOn(lock).length > 0);
    const info = await inspectLock(lock);
    assert.equal(info.state, 'held');
    assert.equal(info.reapable, false);
    assert.equal(info.evidence[0].pid, child.pid);
    await rejectsWithCode(reapLock(lock), 'E_LOCK_LIVE_HOLDER');
    assert.ok(existsSync(lock));
  },
);

for (const [how, kind] of [
  ['flock', 'flock'],
  ['lockf', 'posix'],
  ['ofd', 'ofd'],
]) {
  test(
    `a Python fcntl ${how} holder makes the lock held (${kind} evidence), even with a dead pid in its content`,
    { skip: !hasPython && 'needs Linux and python3' },
    async (t) => {
      const dir = tempDir(t);
      const lock = join(dir, `py-${how}.lock`);
      writeLock(lock, JSON.stringify({ pid: await deadPid(), timestamp: Date.now() - HOUR }), { ageMs: HOUR });
      const child = await pythonHolder(t, lock, how);
      const info = await inspectLock(lock);
      assert.equal(info.state, 'held', info.reason);
      assert.equal(info.reapable, false);
      const ev = info.evidence.find((e) => e.kind === kind);
      assert.ok(ev, `expected ${kind} evidence, got ${JSON.stringify(info.evidence)}`);
      if (kind !== 'ofd') assert.equal(ev.pid, child.pid);
      await rejectsWithCode(reapLock(lock), 'E_LOCK_LIVE_HOLDER');
      assert.ok(existsSync(lock));
    },
  );
}

test('a lock file a live process keeps open is held ("open by pid"), though it names nobody', { skip: !hasPython && 'needs Linux and python3' }, async (t) => {
  const dir = tempDir(t);
  const lock = join(dir, 'index.lock');
  writeFileSync(lock, '');
  setAge(lock, HOUR);
  const child = await pythonHolder(t, lock, 'open');
  const info = await inspectLock(lock);
  assert.equal(info.state, 'held');
  assert.match(info.reason, new RegExp(`open by pid ${child.pid}`));
  assert.equal(info.evidence.find((e) => e.kind === 'open').pid, child.pid);
  await rejectsWithCode(reapLock(lock), 'E_LOCK_LIVE_HOLDER');
});

test(
  'a process that opens a lock file just after a verdict is seen by the next one: no process table older than the look at the lock is reused',
  { skip: !linux && 'Linux /proc' },
  async (t) => {
    const dir = tempDir(t);
    const lock = join(dir, 'build.lock');
    writeFileSync(lock, '');
    setAge(lock, HOUR);
    for (let round = 0; round < 5; round++) {
      // A verdict now reads the process table; the holder opens the file right after it.
      assert.equal((await inspectLock(lock)).state, 'stale');
      const child = spawn(process.execPath, ['-e', `require('fs').openSync(${JSON.stringify(lock)}, 'r'); console.log('open'); setInterval(() => {}, 1000)`], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      await new Promise((resolve) => child.stdout.on('data', (c) => String(c).includes('open') && resolve()));
      const info = await inspectLock(lock);
      child.kill('SIGKILL');
      await exited(child);
      assert.equal(info.state, 'held', `round ${round}: ${info.reason}`);
      assert.equal(info.evidence.find((e) => e.kind === 'open')?.pid, child.pid);
    }
  },
);

test(
  'a blocked flock waiter makes the lock contended; without it a long hold is only long-held',
  { skip: !hasFlock && 'needs Linux and flock(1)' },
  async (t) => {
    const dir = tempDir(t);
    const lock = join(dir, 'busy.lock');
    writeFileSync(lock, '');
    setAge(lock, HOUR);
    await startInGroup(t, 'flock', [lock, 'sleep', '300'], () => kernelLocksOn(lock).length > 0);
    // Long held once its holder has held it past the threshold (the file's hour says nothing).
    await new Promise((r) => setTimeout(r, 1_500));
    const alone = await inspectLock(lock, { contentionMs: 1_000 });
    assert.equal(alone.state, 'held');
    assert.equal(alone.longHeld, true);
    assert.equal(alone.waiters, 0);
    const waiter = await startInGroup(t, 'flock', [lock, 'true'], () => kernelLocksOn(lock).some((k) => k.waiting));
    const busy = await inspectLock(lock);
    assert.equal(busy.state, 'contended');
    assert.equal(busy.waiters, 1);
    assert.equal(busy.reapable, false);
    const w = busy.evidence.find((e) => e.kind === 'waiter');
    assert.equal(w.pid, waiter.pid);
  },
);

test('reapers racing a flock holder never remove the file it holds', { skip: !hasFlock && 'needs Linux and flock(1)' }, async (t) => {
  const dir = tempDir(t);
  const lock = join(dir, 'race.lock');
  writeLock(lock, `${await deadPid()}\n`, { ageMs: HOUR }); // content alone says: stale
  const holder = await startInGroup(t, 'flock', [lock, 'sleep', '300'], () => kernelLocksOn(lock).length > 0);
  const inode = statSync(lock).ino;
  const attempts = await Promise.allSettled(Array.from({ length: 24 }, () => reapLock(lock)));
  for (const a of attempts) {
    assert.equal(a.status, 'rejected');
    assert.ok(['E_LOCK_LIVE_HOLDER', 'E_LOCK_TIMEOUT'].includes(a.reason.code), a.reason.message);
  }
  assert.equal(statSync(lock).ino, inode);
  // flock's command inherited the locked descriptor: the lock lives until both are gone.
  killGroup(holder);
  await exited(holder);
  while (kernelLocksOn(lock).length > 0) await new Promise((r) => setTimeout(r, 20));
  // Once the holder is gone, the same content is stale and one reap removes it.
  const after = await inspectLock(lock);
  assert.equal(after.state, 'stale');
  assert.equal((await reapLock(lock)).reaped, true);
  assert.equal(existsSync(lock), false);
});

test('listLocks judges every lock against one look at the system', { skip: !hasFlock && 'needs Linux and flock(1)' }, async (t) => {
  const dir = tempDir(t);
  const held = join(dir, 'a.lock');
  const free = join(dir, 'b.lock');
  writeFileSync(held, '');
  writeFileSync(free, '');
  setAge(held, HOUR);
  setAge(free, HOUR);
  await startInGroup(t, 'flock', [held, 'sleep', '300'], () => kernelLocksOn(held).length > 0);
  const locks = await listLocks(dir);
  const byName = Object.fromEntries(locks.map((l) => [l.path.slice(dir.length + 1), l]));
  assert.equal(byName['a.lock'].state, 'held');
  assert.equal(byName['b.lock'].state, 'stale');
  assert.match(byName['b.lock'].reason, /no process holds or has open/);
});
