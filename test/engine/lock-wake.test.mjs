// A waiter sleeps while the lock's name is taken: changes to the held lock file (a holder
// rewriting it, the next holder creating and writing its own) do not wake it into an
// exclusive create that can only fail (README, "Processes sharing a ledger").
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { engine, FIXTURES, firstLine, tempDir } from '../fixtures/lock-helpers.mjs';

test('a waiter is not woken into a failed create by changes to a lock that stays held, and still gets it at the release', { timeout: 30_000 }, async (t) => {
  const dir = tempDir(t);
  const lockPath = join(dir, 'busy.lock');
  const held = await engine.acquireLock(lockPath);
  const child = spawn(process.execPath, [join(FIXTURES, 'lock-waiter-count.mjs'), lockPath], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const lines = [];
  let buffered = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk) => {
    buffered += chunk;
    for (let at = buffered.indexOf('\n'); at >= 0; at = buffered.indexOf('\n')) {
      lines.push(buffered.slice(0, at));
      buffered = buffered.slice(at + 1);
    }
  });
  while (!lines.includes('waiting')) await sleep(10);
  await sleep(200); // its first create has failed and it sleeps on the watch
  // 150 changes to the held lock file's entry, each one an event on the watched folder.
  for (let i = 0; i < 150; i++) {
    const at = new Date(Date.now() - i * 1000);
    utimesSync(lockPath, at, at);
    await sleep(2);
  }
  await sleep(100);
  const releasedAt = Date.now();
  await held.release();
  const exit = new Promise((resolve) => child.once('exit', resolve));
  while (lines.length < 2) {
    assert.ok(Date.now() - releasedAt < 10_000, 'the waiter took the lock within 10 s of its release');
    await sleep(5);
  }
  await exit;
  const { creates, taken } = JSON.parse(lines[1]);
  // The first create, plus at most a few whose look found the name free just before another
  // change (generous: the old watch woke it into a failed create per event, ~150 here).
  assert.ok(taken <= 5, `failed creates while the lock stayed held: ${taken} of ${creates}`);
  assert.equal(creates, taken + 1, 'the last create took the lock');
});

/**
 * Acquire options whose backoff is 30 s with its full jitter pinned near the top for the rest of
 * the test, so a waiter that is not woken by the watch sleeps about 30 s.
 */
function longBackoff(t) {
  const random = Math.random;
  Math.random = () => 0.99;
  t.after(() => (Math.random = random));
  return { retryBaseMs: 30_000, retryMaxMs: 30_000, timeoutMs: 50_000 };
}

test('a lock released between a waiter\'s failed create and the start of its watch is taken at once, not after the backoff', { timeout: 60_000 }, async (t) => {
  const dir = tempDir(t);
  const lockPath = join(dir, 'quick.lock');
  const held = await engine.acquireLock(lockPath);
  let releasedInTheGap = false;
  const restore = engine.useFileSystem({
    ...engine.nodeFileSystem,
    createFileSync(path, data, mode, keepOpen) {
      try {
        return engine.nodeFileSystem.createFileSync(path, data, mode, keepOpen);
      } catch (err) {
        // The holder lets go right after the waiter's create failed, before its watch is up:
        // that release fires no event the waiter can see.
        if (err.code === 'EEXIST' && path === lockPath && !releasedInTheGap) {
          releasedInTheGap = true;
          held.releaseSync();
        }
        throw err;
      }
    },
  });
  t.after(restore);
  // Only a look once the watch is up can end this wait before its backoff.
  const started = Date.now();
  const lock = await engine.acquireLock(lockPath, longBackoff(t));
  const waited = Date.now() - started;
  await lock.release();
  assert.ok(releasedInTheGap, 'the release fell between the failed create and the watch');
  assert.ok(waited < 10_000, `took the lock ${waited} ms after asking, not at the end of its backoff`);
});

/** The watch descriptors this process's inotify instance holds on the folder with inode `ino`. */
function watchesOn(ino) {
  for (const fd of readdirSync('/proc/self/fd')) {
    let link;
    try {
      link = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue;
    }
    if (link !== 'anon_inode:inotify') continue;
    const wds = [];
    for (const m of readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8').matchAll(/inotify wd:([0-9a-f]+) ino:([0-9a-f]+)/g)) if (parseInt(m[2], 16) === ino) wds.push(m[1]);
    return wds;
  }
  return [];
}

test('waits for locks in one folder share one directory watch, kept a moment after the last wait and then closed', { skip: process.platform !== 'linux', timeout: 60_000 }, async (t) => {
  const dir = tempDir(t);
  const lockPath = join(dir, 'shared.lock');
  const { ino } = statSync(dir);
  const between = [];
  for (let i = 0; i < 10; i++) {
    const held = await engine.acquireLock(lockPath);
    // Only the watch wakes this waiter before its backoff.
    const waiting = engine.acquireLock(lockPath, longBackoff(t));
    await sleep(30);
    assert.equal(watchesOn(ino).length, 1, 'the waiter watches the folder');
    held.releaseSync();
    const started = Date.now();
    (await waiting).releaseSync();
    assert.ok(Date.now() - started < 10_000, 'the waiter was woken by the release');
    // No waiter now (a closed watch is gone once the event loop turns): the watch stays up for
    // the next wait instead of being rebuilt.
    await sleep(50);
    between.push(watchesOn(ino).length);
  }
  assert.deepEqual(between, Array(10).fill(1), 'the folder stayed watched between waits');
  await sleep(1_500);
  assert.deepEqual(watchesOn(ino), [], 'a watch idle for a second is closed');
});

test('a lock folder removed and made again while its watch is kept: the next waiter is still woken by the release', { timeout: 60_000 }, async (t) => {
  const dir = join(tempDir(t), 'locks');
  mkdirSync(dir);
  const lockPath = join(dir, 'again.lock');
  // Only a live watch wakes the waiters before their backoff.
  const waitOnce = async () => {
    const held = await engine.acquireLock(lockPath);
    const waiting = engine.acquireLock(lockPath, longBackoff(t));
    await sleep(30);
    held.releaseSync();
    const started = Date.now();
    (await waiting).releaseSync();
    return Date.now() - started;
  };
  assert.ok((await waitOnce()) < 10_000, 'the first waiter was woken by the release');
  // Within the second the folder's watch is kept: the folder goes, and a new one takes its path.
  rmSync(dir, { recursive: true });
  mkdirSync(dir);
  const waited = await waitOnce();
  assert.ok(waited < 10_000, `the waiter in the new folder was woken by the release (took ${waited} ms), not by its 30 s backoff`);
});
