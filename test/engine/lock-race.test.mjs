// Many processes racing for one lock, and to break it whenever its holder "crashes": the
// shared counter must come out exact, no two processes may ever be inside at once, and no
// live holder may lose its lock.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { deadPid, FIXTURES, firstLine, nativeLock, tempDir, writeLock } from '../fixtures/lock-helpers.mjs';

const CONTENDERS = 6;
const ITERATIONS = 40;

test('6 processes racing to break stale locks and increment a counter never violate mutual exclusion', { timeout: 55_000 }, async (t) => {
  const dir = tempDir(t);
  const lockPath = join(dir, 'counter.lock');
  const counter = join(dir, 'counter');
  const inside = join(dir, 'inside');
  writeFileSync(counter, '0');
  const dead = await deadPid();
  // They all start by finding the same stale lock and racing to break it.
  writeLock(lockPath, nativeLock({ pid: dead, owner: 'crashed-at-start' }));

  const children = [];
  for (let i = 0; i < CONTENDERS; i++) {
    const child = spawn(process.execPath, [join(FIXTURES, 'lock-counter.mjs'), lockPath, counter, inside, String(ITERATIONS), '{}', '0.15', String(dead)], { stdio: ['pipe', 'pipe', 'inherit'] });
    t.after(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
    children.push(child);
  }
  await new Promise((r) => setTimeout(r, 300)); // let them all load the engine, then start together
  const reports = children.map((c) => firstLine(c));
  for (const child of children) child.stdin.write('go\n');
  const results = (await Promise.all(reports)).map((line) => JSON.parse(line));

  const crashes = results.reduce((n, r) => n + r.crashes, 0);
  assert.equal(Number(readFileSync(counter, 'utf8')), CONTENDERS * ITERATIONS, 'no increment lost');
  assert.deepEqual(results.map((r) => r.violations), Array(CONTENDERS).fill(0), 'never two inside at once');
  assert.deepEqual(results.map((r) => r.unexpectedCompromises), Array(CONTENDERS).fill(0), 'no live holder lost its lock');
  assert.ok(crashes > 0, 'the run included stale locks to break');
  // The last "crash" may leave a stale lock; nothing else (no trash, no guard) is left.
  const left = readdirSync(dir).filter((n) => n !== 'counter' && n !== 'counter.lock');
  assert.deepEqual(left, []);
  t.diagnostic(`${CONTENDERS} × ${ITERATIONS} increments, ${crashes + 1} stale locks broken under contention`);
});
