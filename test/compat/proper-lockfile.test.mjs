// ledgerlock/compat/proper-lockfile against proper-lockfile's documented behaviour, and against
// the original itself running in other processes.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, rmdirSync, statSync, utimesSync, writeFileSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

const require = createRequire(import.meta.url);
const lockfile = require('../../dist/compat/proper-lockfile.js');
const original = require('proper-lockfile');
const CHILD = new URL('../fixtures/compat-lock-child.cjs', import.meta.url).pathname;

function workspace(t) {
  const dir = mkdtempSync(join(tmpdir(), 'll-compat-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'state.json');
  writeFileSync(file, '{}');
  return { dir, file };
}

/** Starts a child holding the lock; resolves once it says "locked". */
function holder(t, impl, file, options = {}) {
  const child = spawn(process.execPath, [CHILD, impl, 'hold', file, JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => child.kill('SIGKILL'));
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  child.output = () => out;
  return new Promise((resolve, reject) => {
    child.stdout.on('data', () => { if (out.includes('locked\n')) resolve(child); });
    child.once('exit', (code) => reject(new Error(`holder exited ${code}`)));
  });
}

function killed(child, signal = 'SIGKILL') {
  return new Promise((resolve) => {
    child.once('exit', resolve);
    child.kill(signal);
  });
}

/** The heartbeat timer is unref'd (it never keeps a process alive); the test waits on it. */
function awaitWithLoopAlive(promise) {
  const timer = setInterval(() => {}, 1000);
  return promise.finally(() => clearInterval(timer));
}

const anHourAgo = () => new Date(Date.now() - 3_600_000);

test('lock takes the <file>.lock directory, its holder record sits beside it, and release removes both', async (t) => {
  const { dir, file } = workspace(t);
  const release = await lockfile.lock(file);
  assert.ok(statSync(`${file}.lock`).isDirectory());
  assert.deepEqual(readdirSync(`${file}.lock`), [], 'nothing inside the directory, where proper-lockfile would trip on it');
  const record = JSON.parse(readFileSync(`${file}.lock.holder`, 'utf8'));
  assert.equal(record.pid, process.pid);
  assert.equal(record.lockDir.ino, statSync(`${file}.lock`).ino);
  await release();
  assert.deepEqual(readdirSync(dir), ['state.json']);
});

test('the module itself is lock(), as in proper-lockfile', async (t) => {
  const { file } = workspace(t);
  assert.equal(lockfile, lockfile.lock);
  const release = await lockfile(file);
  assert.equal(await lockfile.check(file), true);
  await release();
  assert.equal(await lockfile.check(file), false);
});

test('a held lock is ELOCKED for a second caller, naming the file', async (t) => {
  const { file } = workspace(t);
  const release = await lockfile.lock(file);
  await assert.rejects(lockfile.lock(file), (err) => err.code === 'ELOCKED' && err.file === file);
  assert.throws(() => lockfile.lockSync(file), { code: 'ELOCKED' });
  await release();
});

test('unlock of a lock this process does not hold is ENOTACQUIRED; releasing twice is ERELEASED', async (t) => {
  const { file } = workspace(t);
  await assert.rejects(lockfile.unlock(file), { code: 'ENOTACQUIRED' });
  assert.throws(() => lockfile.unlockSync(file), { code: 'ENOTACQUIRED' });
  const release = await lockfile.lock(file);
  await release();
  await assert.rejects(release(), { code: 'ERELEASED' });
  const again = await lockfile.lock(file);
  await lockfile.unlock(file);
  assert.equal(existsSync(`${file}.lock`), false);
  await assert.rejects(again(), { code: 'ERELEASED' });
});

test('sync forms: lockSync returns a release function, checkSync reports, retries are refused with ESYNC', (t) => {
  const { file } = workspace(t);
  assert.throws(() => lockfile.lockSync(file, { retries: 3 }), { code: 'ESYNC' });
  assert.throws(() => lockfile.lockSync(file, { retries: { retries: 1 } }), { code: 'ESYNC' });
  const release = lockfile.lockSync(file);
  assert.equal(lockfile.checkSync(file), true);
  release();
  assert.equal(lockfile.checkSync(file), false);
  lockfile.lockSync(file);
  lockfile.unlockSync(file);
  assert.equal(existsSync(`${file}.lock`), false);
});

test('realpath: a missing file is ENOENT by default; realpath:false and lockfilePath are honoured', async (t) => {
  const { dir } = workspace(t);
  const missing = join(dir, 'missing.txt');
  await assert.rejects(lockfile.lock(missing), { code: 'ENOENT' });
  const release = await lockfile.lock(missing, { realpath: false });
  assert.ok(existsSync(`${missing}.lock`));
  await release();
  const custom = join(dir, 'custom.lock');
  const r2 = await lockfile.lock(dir, { lockfilePath: custom });
  assert.ok(statSync(custom).isDirectory());
  assert.equal(await lockfile.check(dir, { lockfilePath: custom }), true);
  await r2();
  assert.equal(existsSync(custom), false);
});

test('retries: a waiter gets the lock once the holder releases it', async (t) => {
  const { file } = workspace(t);
  const release = await lockfile.lock(file);
  const waiting = lockfile.lock(file, { retries: { retries: 50, minTimeout: 20, factor: 1 } });
  setTimeout(() => void release(), 50);
  const second = await waiting;
  await second();
});

test('an original proper-lockfile lock whose mtime is older than stale is taken over; a fresh one is not', async (t) => {
  const { file } = workspace(t);
  mkdirSync(`${file}.lock`); // what a crashed proper-lockfile process leaves
  await assert.rejects(lockfile.lock(file, { stale: 5000 }), { code: 'ELOCKED' });
  assert.equal(await lockfile.check(file, { stale: 5000 }), true);
  utimesSync(`${file}.lock`, anHourAgo(), anHourAgo());
  assert.equal(await lockfile.check(file, { stale: 5000 }), false);
  const release = await lockfile.lock(file, { stale: 5000 });
  await release();
});

test('a lock left by a SIGKILLed adapter process is taken over at once: its holder pid is dead', async (t) => {
  const { file } = workspace(t);
  const child = await holder(t, 'adapter', file, { stale: 600_000 });
  await assert.rejects(lockfile.lock(file), { code: 'ELOCKED' }, 'live holder');
  await killed(child);
  assert.ok(existsSync(`${file}.lock`), 'SIGKILL leaves the lock behind');
  // Its mtime is fresh, so mtime alone would keep it for 10 minutes; the dead pid says otherwise.
  assert.equal(await lockfile.check(file, { stale: 600_000 }), false);
  const release = await lockfile.lock(file, { stale: 600_000 });
  const record = JSON.parse(readFileSync(`${file}.lock.holder`, 'utf8'));
  assert.equal(record.pid, process.pid);
  await release();
});

test('a live holder is never taken over, however old its mtime', async (t) => {
  const { file } = workspace(t);
  // A long update interval: the holder does not refresh its mtime during the test.
  const child = await holder(t, 'adapter', file, { stale: 3_600_000 });
  utimesSync(`${file}.lock`, anHourAgo(), anHourAgo());
  await assert.rejects(lockfile.lock(file, { stale: 2000 }), { code: 'ELOCKED' });
  assert.throws(() => lockfile.lockSync(file, { stale: 2000 }), { code: 'ELOCKED' });
  assert.equal(await lockfile.check(file, { stale: 2000 }), true);
  assert.ok(existsSync(`${file}.lock`));
  assert.equal(child.exitCode, null);
});

test('onCompromised hears ECOMPROMISED when the lock is replaced under its holder', async (t) => {
  const { file } = workspace(t);
  const compromised = new Promise((resolve) => {
    lockfile.lock(file, { stale: 2000, update: 1000, onCompromised: resolve }).then((release) => {
      // Someone else removes the lock and takes it anew (as a wrong "stale" verdict would).
      rmdirSync(`${file}.lock`);
      mkdirSync(`${file}.lock`);
      t.after(() => release().catch(() => undefined));
    });
  });
  const err = await awaitWithLoopAlive(compromised);
  assert.equal(err.code, 'ECOMPROMISED');
  assert.equal(err.message, 'Unable to update lock within the stale threshold', "the original's words");
  // The replacement belongs to someone else: this holder's release must not remove it.
  assert.ok(existsSync(`${file}.lock`));
});

test('by default a compromised lock is a process warning, not an exception thrown from a timer', async (t) => {
  const { file } = workspace(t);
  const warned = new Promise((resolve) => process.once('warning', resolve));
  await lockfile.lock(file, { stale: 2000, update: 1000 });
  rmdirSync(`${file}.lock`);
  const warning = await awaitWithLoopAlive(warned);
  assert.equal(warning.code, 'ECOMPROMISED');
});

test('a holder whose lock was touched by someone else stops speaking for it: the mtime rule decides from then on', async (t) => {
  const { file } = workspace(t);
  const compromised = new Promise((resolve) => {
    lockfile.lock(file, { stale: 2000, update: 1000, onCompromised: resolve }).then(() => {
      utimesSync(`${file}.lock`, anHourAgo(), anHourAgo()); // the same directory, but not our mtime any more
    });
  });
  await awaitWithLoopAlive(compromised);
  assert.equal(existsSync(`${file}.lock.holder`), false, 'its holder record is gone');
  // This process is alive, yet the lock it lost is stale by mtime and can be taken.
  const release = await lockfile.lock(file, { stale: 2000 });
  await release();
});

test('the original proper-lockfile and the adapter exclude each other: a live holder of either blocks the other', async (t) => {
  const { file } = workspace(t);
  const child = await holder(t, 'original', file);
  await assert.rejects(lockfile.lock(file), { code: 'ELOCKED' });
  await killed(child, 'SIGTERM');
  const adapterHolder = await holder(t, 'adapter', file);
  await assert.rejects(original.lock(file), { code: 'ELOCKED' });
  assert.equal(await original.check(file), true);
  await killed(adapterHolder, 'SIGTERM');
  assert.equal(existsSync(`${file}.lock`), false, 'a holder ended by a signal removes its lock, as proper-lockfile documents');
  assert.equal(existsSync(`${file}.lock.holder`), false);
});

test('original and adapter processes incrementing one counter under the lock never overlap', async (t) => {
  const { dir, file } = workspace(t);
  const counter = join(dir, 'counter');
  const inside = join(dir, 'inside');
  writeFileSync(counter, '0');
  const impls = ['original', 'adapter', 'original', 'adapter'];
  const iterations = 25;
  const results = await Promise.all(impls.map((impl) => new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, impl, 'count', file, counter, String(iterations), inside], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`${impl} exited ${code}: ${err}`))));
  })));
  assert.deepEqual(results.map((r) => r.violations), [0, 0, 0, 0]);
  assert.equal(Number(readFileSync(counter, 'utf8')), impls.length * iterations);
});

test('OS evidence: a live holder keeps its directory open, so it is never taken over even without its holder record', async (t) => {
  const { dir, file } = workspace(t);
  const child = await holder(t, 'adapter', file, { stale: 3_600_000 });
  rmSync(`${file}.lock.holder`);
  utimesSync(`${file}.lock`, anHourAgo(), anHourAgo());
  await assert.rejects(lockfile.lock(file, { stale: 2000 }), { code: 'ELOCKED' });
  assert.equal(await lockfile.check(file, { stale: 2000 }), true);
  // Ledgerlock's own lock view sees the same evidence.
  const cli = new URL('../../dist/cli.js', import.meta.url).pathname;
  const { spawnSync } = await import('node:child_process');
  const listed = JSON.parse(spawnSync(process.execPath, [cli, 'locks', '--json'], { cwd: dir, encoding: 'utf8' }).stdout);
  const lock = listed.locks.find((l) => l.path === `${file}.lock`);
  assert.equal(lock.state, 'held', lock.reason);
  assert.equal(lock.reapable, false);
  assert.equal(child.exitCode, null);
});
