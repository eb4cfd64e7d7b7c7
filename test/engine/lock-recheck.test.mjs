// verdictChangesIn: the moment a verdict can change by time alone comes from the rules that
// judged it (each profile's windows, the empty-lock grace, the stale and heartbeat windows),
// so whoever watches locks re-judges exactly then. Each case judges a real lock file at a
// chosen `now`, then just before and at the moment the function names.
import assert from 'node:assert/strict';
import { mkdirSync, utimesSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { deadPid, engine, nativeLock, setAge, startHolder, tempDir, writeLock } from '../fixtures/lock-helpers.mjs';

const { inspectLock, verdictChangesIn } = engine;
// A stale window longer than every profile's own window, so a profile's 2 s or 30 s is not
// hidden behind the generic stale window.
const staleMs = 120_000;
const contentionMs = 10_000;
const key = (info) => `${info.state}${info.longHeld ? ' long-held' : ''}`;

/** Judged at `now`: the verdict, when it can change, and the verdicts 2 ms before and at that moment. */
async function around(lockPath) {
  const now = Date.now();
  const info = await inspectLock(lockPath, { staleMs, contentionMs, now });
  const inMs = verdictChangesIn(info, { staleMs, contentionMs });
  if (!Number.isFinite(inMs)) return { info, inMs };
  const before = await inspectLock(lockPath, { staleMs, contentionMs, now: now + inMs - 2 });
  const at = await inspectLock(lockPath, { staleMs, contentionMs, now: now + inMs });
  return { info, inMs, before, at };
}

function assertChangesAt(r, expectedMs, what) {
  assert.ok(Math.abs(r.inMs - expectedMs) <= 50, `${what}: changes in ${r.inMs} ms, expected about ${expectedMs} (${r.info.state}: ${r.info.reason})`);
  assert.equal(key(r.before), key(r.info), `${what}: still ${key(r.info)} just before (${r.before.reason})`);
  assert.notEqual(key(r.at), key(r.info), `${what}: another verdict at the moment named (${r.at.reason})`);
}

test('an empty lock nobody holds can change when it passes the empty-lock grace (10 s), not before', async (t) => {
  const dir = tempDir(t);
  const lockPath = join(dir, 'job.lock');
  writeLock(lockPath, '', { ageMs: 3_000 });
  const r = await around(lockPath);
  assert.equal(r.info.state, 'held');
  assertChangesAt(r, 7_000, 'empty lock');
  assert.equal(r.at.state, 'stale');
});

test("a HardKAS append lock changes at HardKAS's own 2 s creation grace, from the profile", async (t) => {
  const dir = tempDir(t);
  mkdirSync(join(dir, '.hardkas', 'locks'), { recursive: true });
  const lockPath = join(dir, '.hardkas', 'locks', 'append-events.jsonl.lock');
  writeLock(lockPath, '', { ageMs: 500 });
  const r = await around(lockPath);
  assert.equal(r.info.profile, 'hardkas');
  assertChangesAt(r, 1_500, 'HardKAS append lock');
});

test("an authmux lock naming no pid changes at authmux's 30 s, a window no server copy knew of", async (t) => {
  const dir = tempDir(t);
  const lockPath = join(dir, 'registry.json.lock');
  // Past the contention threshold already, so long-held is not the next change.
  writeLock(lockPath, JSON.stringify({ at: new Date(Date.now() - 12_000).toISOString() }));
  const r = await around(lockPath);
  assert.equal(r.info.profile, 'authmux');
  assert.equal(r.info.state, 'held');
  assertChangesAt(r, 18_000, 'authmux lock');
  assert.equal(r.at.state, 'stale');
});

test("a proper-lockfile directory changes when its 10 s refresh window passes", async (t) => {
  const dir = tempDir(t);
  const lockPath = join(dir, 'db.json.lock');
  mkdirSync(lockPath);
  setAge(lockPath, 4_000);
  const r = await around(lockPath);
  assert.equal(r.info.profile, 'proper-lockfile');
  assertChangesAt(r, 6_000, 'proper-lockfile directory');
});

test('a lock from another host changes when its heartbeat window passes', async (t) => {
  const dir = tempDir(t);
  const lockPath = join(dir, 'remote.lock');
  // Taken and last refreshed at the same instant, so its age and its heartbeat's age agree.
  const at = new Date(Date.now() - 12_000);
  writeLock(lockPath, nativeLock({ host: `not-${hostname()}`, pid: 4242, acquiredAt: at.toISOString() }));
  utimesSync(lockPath, at, at);
  const r = await around(lockPath);
  assert.equal(r.info.state, 'held');
  assertChangesAt(r, staleMs - 12_000, 'other-host lock');
  assert.equal(r.at.state, 'orphaned');
});

test("a lock whose record declares a slower heartbeat changes at three of its beats, past the stale window", async (t) => {
  const dir = tempDir(t);
  const lockPath = join(dir, 'slow-beat.lock');
  // It refreshes every 60 s, so its holder is given 180 s; judged at 130 s, past the 120 s stale
  // window, the next change is still ahead.
  const at = new Date(Date.now() - 130_000);
  writeLock(lockPath, nativeLock({ host: `not-${hostname()}`, pid: 4242, acquiredAt: at.toISOString(), heartbeatMs: 60_000 }));
  utimesSync(lockPath, at, at);
  const r = await around(lockPath);
  assert.equal(r.info.state, 'held');
  assertChangesAt(r, 180_000 - 130_000, 'slow-beat lock');
  assert.equal(r.at.state, 'orphaned');
});

test('a live holder\'s lock changes by time only when it becomes long-held, then never', async (t) => {
  const dir = tempDir(t);
  const lockPath = join(dir, 'held.lock');
  await startHolder(t, lockPath);
  const r = await around(lockPath);
  assert.equal(r.info.alive, true);
  assert.ok(r.inMs > 0 && r.inMs <= contentionMs + 1, `changes in ${r.inMs} ms`);
  assert.equal(r.at.state, r.info.state);
  assert.equal(r.at.longHeld, true);
  assert.equal(verdictChangesIn(r.at, { staleMs, contentionMs }), Infinity);
});

test('a dead holder\'s lock never changes by time alone', async (t) => {
  const dir = tempDir(t);
  const lockPath = join(dir, 'dead.lock');
  writeLock(lockPath, nativeLock({ pid: await deadPid() }));
  const info = await inspectLock(lockPath, { staleMs, contentionMs });
  assert.equal(info.state, 'stale');
  assert.equal(verdictChangesIn(info, { staleMs, contentionMs }), Infinity);
});
