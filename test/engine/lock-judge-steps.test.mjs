// The four steps of a lock verdict (docs/ARCHITECTURE.md, "How a lock is judged"), each pinned
// against a fake system: no processes, no namespaces, no /proc — milliseconds per case. The
// real-process versions of these cases are in lock-vantage, lock-os-evidence and lock-profiles.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { engine } from '../fixtures/lock-helpers.mjs';

const { judgeLock, parseLockContent } = engine;
const NOW = Date.parse('2026-06-01T12:00:00Z');
const HOST = 'devbox';
const BOOT = 'b00700000-0000-4000-8000-000000000000';
const HOST_NS = 4026531836;
const CONTAINER_NS = 4026532299;
const timing = { staleMs: 30_000, contentionMs: 10_000, now: NOW };

/** Where the judge stands: on the host (every process visible) or inside a container. */
const vantage = {
  host: { platform: 'linux', pidns: HOST_NS, initialPidNamespace: true, otherUsersVisible: true, procVisible: true, bootId: BOOT, uid: 1000, blindSpots: [] },
  container: {
    platform: 'linux',
    pidns: CONTAINER_NS,
    initialPidNamespace: false,
    otherUsersVisible: true,
    procVisible: true,
    bootId: BOOT,
    uid: 1000,
    blindSpots: ['processes outside this container (its own pid namespace) are invisible from here'],
  },
  mac: {
    platform: 'darwin',
    initialPidNamespace: true,
    otherUsersVisible: false,
    procVisible: false,
    uid: 501,
    blindSpots: ["this system shows no other process's open files or kernel locks"],
  },
};

/**
 * A fake system: `running` maps a pid (as the judge sees it) to its start time in ticks;
 * `nested` lists processes in namespaces below the judge's: {pid, innerPid, pidns, ticks}.
 */
function fakeContext({ at = 'host', running = {}, nested = [], kernel = [], openers = [], probe, git = [], tableIncomplete = false } = {}) {
  const v = vantage[at];
  const ticksOf = (pid) => running[pid] ?? nested.find((p) => p.pid === pid)?.ticks;
  return {
    processes: {
      vantage: v,
      host: HOST,
      alive: (pid) => pid in running || nested.some((p) => p.pid === pid),
      start: (pid) => (ticksOf(pid) === undefined ? undefined : { ticks: ticksOf(pid), startedAtMs: NOW - 3_600_000 + ticksOf(pid) * 10 }),
      kernelThread: () => false,
      namespaces: () => ({
        find: (pidns, innerPid) => nested.find((p) => p.pidns === pidns && p.innerPid === innerPid),
        hasNamespace: (pidns) => nested.some((p) => p.pidns === pidns),
        nestedWithPid: (innerPid) => nested.filter((p) => p.innerPid === innerPid),
        incomplete: tableIncomplete,
      }),
    },
    os: {
      supported: v.platform === 'linux',
      fdsComplete: true,
      openersVisibleFor: () => true,
      kernelLocks: () => kernel,
      openers: () => openers,
    },
    ...(probe ? { kernelProbe: async () => probe } : {}),
    waiters: () => [],
    gitProcesses: () => git,
    command: (pid) => `cmd-${pid}`,
  };
}

function observe(path, content, { ageMs = 3_600_000, type = 'file' } = {}) {
  const bytes = Buffer.from(typeof content === 'string' ? content : JSON.stringify(content));
  return { path, type, parsed: parseLockContent(bytes), mtimeMs: NOW - ageMs, bytes: bytes.length, key: { dev: 1, ino: 2 }, uid: 1000, content: bytes };
}

function nativeLock(fields) {
  return {
    format: 'ledgerlock-lock',
    version: 1,
    pid: 1,
    host: HOST,
    owner: 'o1',
    tool: 't',
    acquiredAt: new Date(NOW - 60_000).toISOString(),
    bootId: BOOT,
    startTicks: 500,
    pidns: HOST_NS,
    platform: 'linux',
    heartbeatMs: 10_000,
    ...fields,
  };
}

test('step 1: a kernel lock on the inode is a live holder, whatever the content says', async () => {
  const info = await judgeLock(observe('/w/build.lock', ''), timing, fakeContext({ kernel: [{ kind: 'flock', pid: 77, access: 'write', waiting: false }] }));
  assert.equal(info.state, 'held');
  assert.equal(info.profile, 'flock');
  assert.equal(info.evidence[0].kind, 'flock');
  assert.match(info.reason, /held through flock by pid 77 \(cmd-77\)/);
});

test('step 1: inside a container a probe that finds a flock makes the lock held though /proc/locks shows nothing', async () => {
  const info = await judgeLock(observe('/w/zero.lock', ''), timing, fakeContext({ at: 'container', probe: { flock: 'held', posix: 'free' } }));
  assert.equal(info.state, 'held');
  assert.equal(info.reapable, false);
  assert.equal(info.evidence[0].kind, 'probe');
  assert.match(info.reason, /found by probing the file/);
});

test('step 2: a native holder in another pid namespace on this boot is found through it (NSpid)', async () => {
  const ctx = fakeContext({ nested: [{ pid: 4242, innerPid: 1, pidns: CONTAINER_NS, ticks: 500 }] });
  const info = await judgeLock(observe('/w/a.lock', nativeLock({ pidns: CONTAINER_NS })), timing, ctx);
  assert.equal(info.state, 'held');
  assert.equal(info.alive, true);
  assert.match(info.reason, /held by live pid 1 \(pid 4242 here\)/);
});

test('step 2: from the host, a native holder whose whole namespace is gone is stale', async () => {
  const info = await judgeLock(observe('/w/a.lock', nativeLock({ pidns: CONTAINER_NS })), timing, fakeContext());
  assert.equal(info.state, 'stale');
  assert.match(info.reason, /no longer exists/);
});

test('step 2: a namespace table with unreadable entries proves nothing gone: the heartbeat decides', async () => {
  const ctx = fakeContext({ tableIncomplete: true });
  assert.equal((await judgeLock(observe('/w/a.lock', nativeLock({ pidns: CONTAINER_NS }), { ageMs: 5_000 }), timing, ctx)).state, 'held');
  const old = await judgeLock(observe('/w/a.lock', nativeLock({ pidns: CONTAINER_NS }), { ageMs: 31_000 }), timing, ctx);
  assert.equal(old.state, 'orphaned', 'three missed heartbeats of 10 s');
  assert.equal(
    (await judgeLock(observe('/w/a.lock', nativeLock({ pidns: CONTAINER_NS, heartbeatMs: 20_000 }), { ageMs: 31_000 }), timing, ctx)).state,
    'held',
    'a holder that beats every 20 s gets 60 s',
  );
});

test('step 2: inside a container a foreign pid it does not run is unknown, with the reason', async () => {
  const info = await judgeLock(observe('/w/registry.json.lock', { pid: 4242, at: NOW - 300_000 }), timing, fakeContext({ at: 'container' }));
  assert.equal(info.state, 'unknown');
  assert.equal(info.reapable, false);
  assert.match(info.reason, /pid 4242 is not running in this container.*outside this container/i);
});

test('step 2: inside a container a native lock of the same namespace is judged by its pid, as on the host', async () => {
  const info = await judgeLock(observe('/w/a.lock', nativeLock({ pid: 7, pidns: CONTAINER_NS })), timing, fakeContext({ at: 'container' }));
  assert.equal(info.state, 'stale');
  assert.match(info.reason, /pid 7/);
});

test('step 2: from the host, a foreign pid that a container also uses decides nothing', async () => {
  const ctx = fakeContext({ running: { 7: 100 }, nested: [{ pid: 5150, innerPid: 7, pidns: CONTAINER_NS, ticks: 900 }] });
  const info = await judgeLock(observe('/w/registry.json.lock', { pid: 7, at: NOW - 300_000 }), timing, ctx);
  assert.equal(info.state, 'unknown');
  assert.match(info.reason, /without saying in which pid namespace/);
  assert.equal(
    (await judgeLock(observe('/w/registry.json.lock', { pid: 7, at: NOW - 300_000 }), timing, fakeContext())).state,
    'stale',
    'no container uses it: dead',
  );
});

test("step 2: a clock step is no pid reuse — 60 s between the lock's time and its holder's start is held, hours is reuse", async () => {
  // The process started at NOW - 3600 s + 200 ticks (2 s).
  const started = NOW - 3_600_000 + 2_000;
  const ctx = fakeContext({ running: { 4242: 200 } });
  assert.equal((await judgeLock(observe('/w/registry.json.lock', { pid: 4242, at: started - 60_000 }), timing, ctx)).state, 'held');
  const reused = await judgeLock(observe('/w/registry.json.lock', { pid: 4242, at: started - 7_200_000 }), timing, ctx);
  assert.equal(reused.state, 'stale');
  assert.match(reused.reason, /reused.*no clock step explains/);
});

test('step 3: git — a git process at work holds index.lock; blind, nothing does; seeing all and none, stale', async () => {
  const obs = observe('/w/.git/index.lock', 'DIRC');
  const working = await judgeLock(obs, timing, fakeContext({ git: [{ pid: 88, command: 'git commit -a' }] }));
  assert.equal(working.state, 'held');
  assert.equal(working.alive, true);
  const blind = await judgeLock(obs, timing, fakeContext({ at: 'container' }));
  assert.equal(blind.state, 'unknown');
  assert.match(blind.reason, /outside its view/);
  assert.equal((await judgeLock(obs, timing, fakeContext())).state, 'stale');
});

test('step 4: an empty lock an hour old is stale where every opener is visible, unknown in a container, stale on macOS (no open-file evidence there)', async () => {
  const obs = observe('/w/x.lock', '');
  assert.equal((await judgeLock(obs, timing, fakeContext())).state, 'stale');
  const blind = await judgeLock(obs, timing, fakeContext({ at: 'container' }));
  assert.equal(blind.state, 'unknown');
  assert.ok(blind.evidence.some((e) => e.kind === 'vantage'));
  assert.equal((await judgeLock(obs, timing, fakeContext({ at: 'mac' }))).state, 'stale');
});

test('a lock written on another platform (WSL vs Windows) is judged by its heartbeat, never its pid', async () => {
  const lock = nativeLock({ platform: 'win32', pidns: undefined });
  assert.equal((await judgeLock(observe('/w/a.lock', lock, { ageMs: 5_000 }), timing, fakeContext())).state, 'held');
  assert.equal((await judgeLock(observe('/w/a.lock', lock, { ageMs: 60_000 }), timing, fakeContext())).state, 'orphaned');
});
