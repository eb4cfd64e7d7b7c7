// The proper-lockfile adapter beside proper-lockfile 4.1.2 itself: each behaviour runs against
// both, with one set of assertions, so any difference fails as a comparison. Where the adapter
// differs on purpose (README.md, "Drop-in adapters"), the test says so and asserts each side.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs, { existsSync, mkdirSync, mkdtempSync, rmSync, rmdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

const require = createRequire(import.meta.url);
const ADAPTER = new URL('../../dist/compat/proper-lockfile.js', import.meta.url).pathname;
const ORIGINAL = require.resolve('proper-lockfile');
const IMPLS = [['original', require(ORIGINAL)], ['adapter', require(ADAPTER)]];

function workspace(t, name) {
  const dir = mkdtempSync(join(tmpdir(), `ll-parity-${name}-`));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'foo');
  writeFileSync(file, '');
  return { dir, file };
}

/** Runs `body(impl, ws)` for both implementations at once (timing-based cases overlap) and returns their results by name. */
async function both(t, body) {
  const results = await Promise.all(IMPLS.map(async ([name, impl]) => [name, await body(impl, workspace(t, name), name)]));
  return Object.fromEntries(results);
}

/** Heartbeat timers are unref'd; keep the loop alive while a test waits on them. */
function alive(promise) {
  const timer = setInterval(() => {}, 1000);
  return promise.finally(() => clearInterval(timer));
}

const delay = (ms) => alive(new Promise((r) => setTimeout(r, ms)));
/** Blocks this thread: the event-loop stall a busy process or a system sleep makes. */
const stall = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
const outcome = (promise) => promise.then((value) => ({ ok: typeof value === 'function' ? 'release' : value }), (err) => ({ code: err.code, message: err.message }));
const oldTime = () => new Date(Date.now() - 60_000);

function staleLock(file) {
  mkdirSync(`${file}.lock`);
  utimesSync(`${file}.lock`, oldTime(), oldTime());
}

test('the module itself is lock, as require(\'proper-lockfile\') === require(\'proper-lockfile\').lock', () => {
  for (const [name, impl] of IMPLS) assert.equal(impl, impl.lock, name);
});

test('fs option: lock makes, judges and breaks the lock directory through the caller\'s fs, with the original\'s fault handling', async (t) => {
  const seen = await both(t, async (impl, { file }) => {
    const r = {};
    const failing = (method) => ({ ...fs, [method]: (...args) => args.pop()(new Error(`${method} failed`)) });
    r.mkdir = await outcome(impl.lock(file, { fs: failing('mkdir') }));
    r.realpath = await outcome(impl.lock(file, { fs: failing('realpath') }));
    staleLock(file);
    r.statWhileJudging = await outcome(impl.lock(file, { fs: failing('stat') }));
    r.rmdirOfStale = await outcome(impl.lock(file, { fs: failing('rmdir') }));
    r.lockLeftAfterFailedRmdir = existsSync(`${file}.lock`);
    // The lock vanishes while judged: one more mkdir, no second judgement.
    const calls = { mkdir: 0, stat: 0 };
    const vanishing = {
      ...fs,
      mkdir: (...a) => { calls.mkdir++; return fs.mkdir(...a); },
      stat: (p, cb) => { calls.stat++; cb(Object.assign(new Error('gone'), { code: 'ENOENT' })); },
    };
    r.vanished = await outcome(impl.lock(file, { fs: vanishing }));
    r.vanishedCalls = { ...calls };
    // A stale lock is removed and taken.
    const release = await impl.lock(file, { fs: { ...fs } });
    r.takenOver = statSync(`${file}.lock`).mtime.getTime() > Date.now() - 3000;
    await release();
    r.releasedDirGone = !existsSync(`${file}.lock`);
    return r;
  });
  assert.deepEqual(seen.adapter, seen.original);
  assert.equal(seen.original.mkdir.message, 'mkdir failed');
  assert.equal(seen.original.vanished.code, 'ELOCKED');
  assert.deepEqual(seen.original.vanishedCalls, { mkdir: 2, stat: 1 });
});

test('fs option: unlock, check and the sync forms go through the caller\'s fs', async (t) => {
  const seen = await both(t, async (impl, { file }) => {
    const r = {};
    await impl.lock(file);
    r.unlockRmdirFails = await outcome(impl.unlock(file, { fs: { ...fs, rmdir: (p, cb) => cb(new Error('rmdir failed')) } }));
    r.unlockAgain = await outcome(impl.unlock(file));
    rmSync(`${file}.lock`, { recursive: true, force: true });
    await impl.lock(file);
    let rmdirs = 0;
    r.unlockEnoent = await outcome(impl.unlock(file, { fs: { ...fs, rmdir: (p, cb) => { rmdirs++; cb(Object.assign(new Error('x'), { code: 'ENOENT' })); } } }));
    r.rmdirs = rmdirs;
    rmSync(`${file}.lock`, { recursive: true, force: true });
    r.checkStatFails = await outcome(impl.check(file, { fs: { ...fs, stat: (p, cb) => cb(new Error('stat failed')) } }));
    r.checkFree = await outcome(impl.check(file, { fs: { ...fs } }));
    const syncCalls = [];
    const syncFs = { ...fs };
    for (const m of ['mkdirSync', 'statSync', 'utimesSync', 'rmdirSync', 'realpathSync']) syncFs[m] = (...a) => { syncCalls.push(m); return fs[m](...a); };
    for (const m of ['mkdir', 'stat', 'utimes', 'rmdir', 'realpath']) syncFs[m] = () => { throw new Error(`lockSync must not call ${m}`); };
    const release = impl.lockSync(file, { fs: syncFs });
    r.checkSyncHeld = impl.checkSync(file, { fs: syncFs });
    release();
    r.syncCalls = [...new Set(syncCalls)].sort();
    r.lockSyncMkdirFails = (() => { try { impl.lockSync(file, { fs: { ...fs, mkdirSync: () => { throw new Error('mkdirSync failed'); } } }); return 'locked'; } catch (err) { return err.message; } })();
    return r;
  });
  assert.deepEqual(seen.adapter, seen.original);
  assert.equal(seen.original.unlockRmdirFails.message, 'rmdir failed');
  assert.equal(seen.original.rmdirs, 1);
  assert.deepEqual(seen.original.syncCalls, ['mkdirSync', 'realpathSync', 'rmdirSync', 'statSync', 'utimesSync']);
});

test('fs option: a failing stat or utimes during the heartbeat compromises the lock with that error once past the threshold; a slow one too', { timeout: 30_000 }, async (t) => {
  const seen = await both(t, async (impl, { dir }) => {
    const one = async (name, broken) => {
      const file = join(dir, name);
      writeFileSync(file, '');
      const custom = { ...fs };
      let heard;
      const compromised = new Promise((resolve) => { heard = resolve; });
      const started = Date.now();
      await impl.lock(file, { fs: custom, update: 1000, stale: 3000, onCompromised: heard });
      Object.assign(custom, broken);
      const err = await alive(compromised);
      return { code: err.code, message: err.message, afterStale: Date.now() - started >= 3000 };
    };
    const [stat, utimes, slow] = await Promise.all([
      one('stat', { stat: (p, cb) => cb(new Error('stat failed')) }),
      one('utimes', { utimes: (p, a, m, cb) => cb(new Error('utimes failed')) }),
      one('slow', { utimes: (p, a, m, cb) => setTimeout(() => cb(new Error('slow utimes failed')), 4000) }),
    ]);
    return { stat, utimes, slow };
  });
  assert.deepEqual(seen.adapter, seen.original);
  assert.deepEqual(seen.original.stat, { code: 'ECOMPROMISED', message: 'stat failed', afterStale: true });
});

test('fs option: a caller\'s fs that reports mtimes to the second (floored or ceiled) keeps the lock', { timeout: 20_000 }, async (t) => {
  const seen = await both(t, async (impl, { dir }) => {
    const rounded = (round) => ({
      ...fs,
      stat: (p, cb) => fs.stat(p, (err, st) => {
        if (err) return cb(err);
        st.mtime = new Date(round(st.mtime.getTime() / 1000) * 1000);
        cb(null, st);
      }),
    });
    const heard = [];
    const releases = [];
    for (const [name, round] of [['floor', Math.floor], ['ceil', Math.ceil]]) {
      const file = join(dir, name);
      writeFileSync(file, '');
      releases.push(await impl.lock(file, { fs: rounded(round), update: 1000, onCompromised: (err) => heard.push(`${name}: ${err.message}`) }));
    }
    await delay(3500);
    for (const release of releases) await release();
    return heard;
  });
  assert.deepEqual(seen, { original: [], adapter: [] });
});

test('an event-loop stall longer than stale keeps a lock whose mtime is still ours; a lock whose mtime is not is compromised with the original\'s words', { timeout: 30_000 }, async (t) => {
  const locks = await both(t, async (impl, { dir }) => {
    const kept = join(dir, 'kept');
    const lost = join(dir, 'lost');
    writeFileSync(kept, '');
    writeFileSync(lost, '');
    const heard = { kept: [], lost: [] };
    const releaseKept = await impl.lock(kept, { update: 1000, stale: 2000, onCompromised: (err) => heard.kept.push(err) });
    await impl.lock(lost, { update: 1000, stale: 2000, onCompromised: (err) => heard.lost.push(err) });
    utimesSync(`${lost}.lock`, oldTime(), oldTime()); // someone else's mtime now
    return { kept, lost, heard, releaseKept };
  });
  stall(3000); // both implementations' timers are overdue together
  await delay(3500);
  const seen = {};
  for (const [name, l] of Object.entries(locks)) {
    seen[name] = {
      keptHeard: l.heard.kept.map((e) => e.message),
      lostHeard: l.heard.lost.map((e) => [e.code, e.message]),
      keptMtimeFresh: statSync(`${l.kept}.lock`).mtime.getTime() > Date.now() - 2000,
      release: await outcome(l.releaseKept()),
      keptDirGone: !existsSync(`${l.kept}.lock`),
    };
  }
  assert.deepEqual(seen.adapter, seen.original);
  assert.deepEqual(seen.original, {
    keptHeard: [], lostHeard: [['ECOMPROMISED', 'Unable to update lock within the stale threshold']],
    keptMtimeFresh: true, release: { ok: undefined }, keptDirGone: true,
  });
});

test('a removed lock is ECOMPROMISED with the underlying ENOENT; the holder then sees ERELEASED, ENOTACQUIRED, and takes the lock anew', { timeout: 20_000 }, async (t) => {
  const seen = await both(t, async (impl, { file }) => {
    let heard;
    const compromised = new Promise((resolve) => { heard = resolve; });
    const release = await impl.lock(file, { update: 1000, onCompromised: heard });
    rmdirSync(`${file}.lock`);
    const err = await alive(compromised);
    return {
      code: err.code, enoent: /ENOENT/.test(err.message),
      release: await outcome(release()),
      unlock: await outcome(impl.unlock(file)),
      check: await impl.check(file),
      next: await outcome(impl.lock(file).then(async (r) => { await r(); return 'acquired'; })),
    };
  });
  assert.deepEqual(seen.adapter, seen.original);
  assert.deepEqual(seen.original, {
    code: 'ECOMPROMISED', enoent: true,
    release: { code: 'ERELEASED', message: 'Lock is already released' },
    unlock: { code: 'ENOTACQUIRED', message: 'Lock is not acquired/owned by you' },
    check: false, next: { ok: 'acquired' },
  });
});

/** A child that takes a lock with the default onCompromised, loses it, and reports what it saw. */
function compromisedChild(modulePath, file) {
  const script = `
    const lockfile = require(${JSON.stringify(modulePath)});
    process.on('warning', (w) => w.code === 'ECOMPROMISED' && console.log('warning ' + w.message));
    lockfile.lock(${JSON.stringify(file)}, { update: 1000 }).then((release) => {
      require('fs').rmdirSync(${JSON.stringify(`${file}.lock`)});
      setTimeout(() => release().then(() => console.log('released'), (e) => { console.log('release ' + e.code); process.exit(0); }), 2500);
    });
    setInterval(() => {}, 1000);`;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', (code) => { clearTimeout(timer); resolve({ code, out, err }); });
  });
}

test('default onCompromised (a documented difference): the original throws and the process dies; the adapter warns, and the holder sees ERELEASED', { timeout: 30_000 }, async (t) => {
  const [original, adapter] = await Promise.all([
    compromisedChild(ORIGINAL, workspace(t, 'orig').file),
    compromisedChild(ADAPTER, workspace(t, 'adapt').file),
  ]);
  assert.notEqual(original.code, 0);
  assert.match(original.err, /ECOMPROMISED|ENOENT/);
  assert.doesNotMatch(original.out, /release/);
  assert.equal(adapter.code, 0, adapter.err);
  assert.match(adapter.out, /^warning ENOENT.*\nrelease ERELEASED\n$/);
  assert.match(adapter.err, /\[ECOMPROMISED\] Warning: ENOENT/);
});
