// Each staleness rule (docs/ARCHITECTURE.md, "How a lock is judged"), and each case that must
// NOT be called stale, judged by the read-only inspectLock against real files and real processes.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, statSync, symlinkSync, writeFileSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { deadPid, engine, nativeLock, setAge, startHolder, tempDir, writeLock, rejectsWithCode } from '../fixtures/lock-helpers.mjs';

const { inspectLock } = engine;
const HOUR = 3_600_000;

test("a live local holder's lock is held, never reapable, however old its heartbeat", async (t) => {
  const dir = tempDir(t);
  const lock = join(dir, 'live.lock');
  const holder = await startHolder(t, lock, { heartbeatMs: 60_000 });
  setAge(lock, 10 * HOUR);
  const info = await inspectLock(lock);
  assert.equal(info.kind, 'ledgerlock');
  assert.equal(info.state, 'held');
  assert.equal(info.reapable, false);
  assert.equal(info.local, true);
  assert.equal(info.alive, true);
  assert.equal(info.holder.pid, holder.pid);
  assert.equal(info.holder.owner, holder.owner);
  assert.equal(info.holder.tool, 'lock-holder fixture');
  assert.ok(info.heartbeatAgeMs > 9 * HOUR);
});

test('a live holder past the contention threshold stays held, flagged long-held, not reapable: nobody waits', async (t) => {
  const dir = tempDir(t);
  const lock = join(dir, 'long.lock');
  await startHolder(t, lock);
  const later = Date.now() + 20_000;
  const info = await inspectLock(lock, { contentionMs: 5_000, now: later });
  assert.equal(info.state, 'held');
  assert.equal(info.longHeld, true);
  assert.equal(info.waiters, 0);
  assert.equal(info.reapable, false);
  assert.match(info.reason, /held for/);
  assert.ok(info.ageMs >= 19_000);
});

test('a lock whose local holder pid is dead is stale', async (t) => {
  const dir = tempDir(t);
  const lock = join(dir, 'dead.lock');
  const pid = await deadPid();
  writeLock(lock, nativeLock({ pid }));
  const info = await inspectLock(lock);
  assert.equal(info.state, 'stale');
  assert.equal(info.reapable, true);
  assert.equal(info.alive, false);
  assert.match(info.reason, new RegExp(`pid ${pid} is no longer running`));
});

test('pid reuse: a lock naming a running pid but taken before that process started is stale', { skip: process.platform !== 'linux' }, async (t) => {
  const dir = tempDir(t);
  const lock = join(dir, 'reused.lock');
  // This very process is alive, but it started long after this lock was "taken".
  writeLock(lock, nativeLock({ pid: process.pid, acquiredAt: new Date(Date.now() - HOUR).toISOString() }));
  const info = await inspectLock(lock);
  assert.equal(info.state, 'stale');
  assert.equal(info.alive, false);
  assert.match(info.reason, /reused/);

  writeLock(lock, nativeLock({ pid: process.pid, startTime: new Date(Date.now() - HOUR).toISOString() }));
  assert.equal((await inspectLock(lock)).state, 'stale');
});

test("pid reuse: a recorded start time in clock ticks that differs from the running process's is stale; the same ticks are held", { skip: process.platform !== 'linux' }, async (t) => {
  const dir = tempDir(t);
  const lock = join(dir, 'ticks.lock');
  const ticks = Number(readFileSync('/proc/self/stat', 'latin1').split(') ')[1].split(' ')[19]);
  // /proc/self/stat read by this process describes this process.
  writeLock(lock, nativeLock({ pid: process.pid, startTicks: ticks }));
  const held = await inspectLock(lock);
  assert.equal(held.state, 'held', held.reason);
  writeLock(lock, nativeLock({ pid: process.pid, startTicks: ticks + 1 }));
  const reused = await inspectLock(lock);
  assert.equal(reused.state, 'stale');
  assert.match(reused.reason, /reused/);
});

test('a lock from before a reboot (different boot id) is stale even if its pid runs now', { skip: process.platform !== 'linux' }, async (t) => {
  const dir = tempDir(t);
  const lock = join(dir, 'boot.lock');
  writeLock(lock, nativeLock({ pid: process.pid, bootId: '00000000-0000-0000-0000-000000000000' }));
  const info = await inspectLock(lock);
  assert.equal(info.state, 'stale');
  assert.match(info.reason, /restarted/);
});

test('a zero-byte lock is held while young and stale once older than 10 s', async (t) => {
  const dir = tempDir(t);
  const lock = join(dir, 'index.lock');
  writeLock(lock, '');
  const young = await inspectLock(lock);
  assert.equal(young.kind, 'empty');
  assert.equal(young.state, 'held');
  assert.equal(young.reapable, false);
  setAge(lock, 9_000);
  assert.equal((await inspectLock(lock)).state, 'held');
  setAge(lock, 11_000);
  const old = await inspectLock(lock);
  assert.equal(old.state, 'stale');
  assert.equal(old.reapable, true);
  assert.match(old.reason, /empty lock file/);
});

test('a lock from another host is held while its heartbeat is fresh and orphaned once it is older than staleMs', async (t) => {
  const dir = tempDir(t);
  const lock = join(dir, 'remote.lock');
  writeLock(lock, nativeLock({ host: `not-${hostname()}`, pid: 1 }));
  const fresh = await inspectLock(lock, { staleMs: 30_000 });
  assert.equal(fresh.state, 'held');
  assert.equal(fresh.local, false);
  assert.equal(fresh.alive, null);
  setAge(lock, 29_000);
  assert.equal((await inspectLock(lock, { staleMs: 30_000 })).state, 'held');
  setAge(lock, 31_000);
  const old = await inspectLock(lock, { staleMs: 30_000 });
  assert.equal(old.state, 'orphaned');
  assert.equal(old.reapable, true);
  assert.match(old.reason, /another host|from host/);
});

test('unparseable content is held while touched recently and orphaned after staleMs, never stale', async (t) => {
  const dir = tempDir(t);
  const lock = join(dir, 'garbage.lock');
  writeLock(lock, Buffer.from([0xff, 0xfe, 0x00, 0x01, 0x80]));
  const fresh = await inspectLock(lock);
  assert.equal(fresh.kind, 'unknown');
  assert.equal(fresh.state, 'held');
  assert.match(fresh.reason, /binary/);
  setAge(lock, 31_000);
  const old = await inspectLock(lock);
  assert.equal(old.state, 'orphaned');
  assert.match(old.reason, /binary/);
});

test("a directory lock (mkdir style) is proper-lockfile's: stale by its own rule, mtime older than 10 s", async (t) => {
  const dir = tempDir(t);
  const lock = join(dir, 'build.lock');
  mkdirSync(lock);
  const fresh = await inspectLock(lock, { staleMs: 30_000 });
  assert.equal(fresh.kind, 'directory');
  assert.equal(fresh.profile, 'proper-lockfile');
  assert.equal(fresh.guards, join(dir, 'build'));
  assert.equal(fresh.state, 'held');
  setAge(lock, 60_000);
  const old = await inspectLock(lock, { staleMs: 30_000 });
  assert.equal(old.state, 'stale');
  assert.equal(old.reapable, true);
  assert.match(old.reason, /proper-lockfile/);
  assert.equal(old.holder, null);
});

test('foreign JSON locks with pid/timestamp are read: dead local pid stale, live pid held', async (t) => {
  const dir = tempDir(t);
  const dead = join(dir, 'dead.lock');
  const pid = await deadPid();
  writeLock(dead, { pid, hostname: hostname(), timestamp: Date.now() });
  const deadInfo = await inspectLock(dead);
  assert.equal(deadInfo.kind, 'json');
  assert.equal(deadInfo.state, 'stale');
  assert.equal(deadInfo.holder.pid, pid);

  const live = join(dir, 'live.lock');
  writeLock(live, { pid: process.pid, host: hostname(), createdAt: new Date().toISOString(), name: 'some-tool' });
  const liveInfo = await inspectLock(live);
  assert.equal(liveInfo.state, 'held');
  assert.equal(liveInfo.holder.tool, 'some-tool');
  assert.ok(liveInfo.holder.acquiredAt);
});

test('a lock that names no host but a pid not running here is stale at once: tools write locks where they run', async (t) => {
  const dir = tempDir(t);
  const lock = join(dir, 'pidonly.lock');
  const pid = await deadPid();
  writeLock(lock, `${pid}\n`);
  const fresh = await inspectLock(lock);
  assert.equal(fresh.kind, 'text');
  assert.equal(fresh.holder.pid, pid);
  assert.equal(fresh.state, 'stale');
  assert.equal(fresh.reapable, true);
  assert.equal(fresh.evidence[0].kind, 'pid');

  // ...while a running pid with no host keeps its lock, even with an old heartbeat.
  writeLock(lock, `${process.pid}`, { ageMs: HOUR });
  const live = await inspectLock(lock);
  assert.equal(live.state, 'held');
  assert.equal(live.longHeld, true);
});

test('text locks "<pid> <owner> <iso>" are read with owner and time', async (t) => {
  const dir = tempDir(t);
  const lock = join(dir, 'text.lock');
  const at = new Date(Date.now() - 5_000).toISOString();
  writeLock(lock, `4242 alice ${at}\n`);
  const info = await inspectLock(lock);
  assert.equal(info.kind, 'text');
  assert.deepEqual(info.holder, { pid: 4242, owner: 'alice', acquiredAt: at });
  assert.ok(info.ageMs >= 4_000 && info.ageMs < 60_000);
});

test('garbage lock files never crash inspection: huge, invalid UTF-8, control bytes, JSON arrays', async (t) => {
  const dir = tempDir(t);
  const cases = {
    'huge.lock': Buffer.alloc(200 * 1024, 0x61),
    'latin1.lock': Buffer.from('caf\xe9 1234', 'latin1'),
    'nul.lock': Buffer.from('1234\u0000host'),
    'array.lock': '[1,2,3]',
    'brokenjson.lock': '{"pid": 12',
    'words.lock': 'this is not a lock at all, is it',
    'spaces.lock': '   \n\t ',
  };
  for (const [name, content] of Object.entries(cases)) {
    writeLock(join(dir, name), content);
    const info = await inspectLock(join(dir, name));
    assert.equal(info.kind, 'unknown', name);
    assert.equal(info.state, 'held', name);
    assert.ok(info.reason.length > 10, name);
    setAge(join(dir, name), 31_000);
    assert.equal((await inspectLock(join(dir, name))).state, 'orphaned', name);
  }
  assert.equal((await inspectLock(join(dir, 'huge.lock'))).bytes, 200 * 1024);
});

test('a symlinked lock is not followed: state unknown, not reapable', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'target'), JSON.stringify(nativeLock({ pid: await deadPid() })));
  symlinkSync(join(dir, 'target'), join(dir, 'link.lock'));
  const info = await inspectLock(join(dir, 'link.lock'));
  assert.equal(info.state, 'unknown');
  assert.equal(info.reapable, false);
  assert.match(info.reason, /symbolic link/);
});

test('an unreadable lock (no permission) is unknown', { skip: process.getuid?.() === 0 ? 'root reads everything' : false }, async (t) => {
  const dir = tempDir(t);
  const lock = join(dir, 'secret.lock');
  writeFileSync(lock, 'x', { mode: 0o000 });
  const info = await inspectLock(lock);
  assert.equal(info.state, 'unknown');
});

test('a lock path that is neither file nor directory (a FIFO) is unknown, and reading it does not block', { skip: process.platform === 'win32' }, async (t) => {
  const dir = tempDir(t);
  const lock = join(dir, 'fifo.lock');
  execFileSync('mkfifo', [lock]);
  const info = await inspectLock(lock);
  assert.equal(info.state, 'unknown');
  assert.match(info.reason, /neither a file nor a directory/);
});

test('inspecting never touches the lock: content and mtime unchanged', async (t) => {
  const dir = tempDir(t);
  const lock = join(dir, 'watched.lock');
  writeLock(lock, nativeLock({ pid: await deadPid() }), { ageMs: HOUR });
  const before = statSync(lock);
  const bytes = readFileSync(lock);
  for (let i = 0; i < 3; i++) await inspectLock(lock);
  const after = statSync(lock);
  assert.equal(after.mtimeMs, before.mtimeMs);
  assert.equal(after.ino, before.ino);
  assert.deepEqual(readFileSync(lock), bytes);
});

test('inspecting a missing lock is E_NOT_FOUND; bad timing options are E_BAD_OPTION naming the value', async (t) => {
  const dir = tempDir(t);
  await rejectsWithCode(inspectLock(join(dir, 'none.lock')), 'E_NOT_FOUND');
  writeLock(join(dir, 'a.lock'), '');
  for (const staleMs of [NaN, Infinity, 0, -5, 2 ** 31]) {
    const err = await rejectsWithCode(inspectLock(join(dir, 'a.lock'), { staleMs }), 'E_BAD_OPTION');
    assert.match(err.message, new RegExp(`staleMs.*${String(staleMs).replace('+', '\\+')}`));
  }
  await rejectsWithCode(inspectLock(join(dir, 'a.lock'), { contentionMs: NaN }), 'E_BAD_OPTION');
});
