// A waiter sleeps while the lock's name is taken: changes to the held lock file (a holder
// rewriting it, the next holder creating and writing its own) do not wake it into an
// exclusive create that can only fail (README, "Processes sharing a ledger").
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { utimesSync } from 'node:fs';
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
