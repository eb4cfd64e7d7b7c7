// The language server re-judges locks with no file event: when a window of the rules that
// judged a lock passes (verdictChangesIn), and in a rotation that takes every verdict, stale
// and unknown ones included, since a process can lock a file without writing it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startServer } from '../fixtures/lsp-client.mjs';
import { setAge, tempDir } from '../fixtures/lock-helpers.mjs';

const lockIn = (state, lockPath) => state.folders[0]?.locks.find((l) => l.path === lockPath);

test('server: a stale zero-byte lock taken again with flock(1) turns held within seconds, with no file event', async (t) => {
  const ws = tempDir(t, 'll-rejudge-');
  const lockPath = path.join(ws, 'job.lock');
  fs.writeFileSync(lockPath, '');
  setAge(lockPath, 60_000);
  const server = await startServer(t, { folders: [ws], trusted: true });
  await server.waitForState((s) => lockIn(s, lockPath)?.state === 'stale');
  // flock(1) opens the file without writing it: its bytes and mtime stay as they were.
  const holder = spawn('flock', [lockPath, 'sleep', '600'], { stdio: 'ignore' });
  t.after(() => holder.kill('SIGKILL'));
  const taken = Date.now();
  const state = await server.waitForState((s) => lockIn(s, lockPath)?.state === 'held', 10_000);
  assert.equal(fs.statSync(lockPath).size, 0);
  assert.equal(lockIn(state, lockPath).reapable, false);
  assert.ok(Date.now() - taken < 10_000);
});

test('server: an empty lock turns stale when the empty-lock grace passes, though other locks fill the rotation', async (t) => {
  const ws = tempDir(t, 'll-rejudge-');
  // More locks than one pass's rotation reaches for several passes, none of which can change.
  const dir = path.join(ws, 'held');
  fs.mkdirSync(dir);
  const holders = [];
  for (let i = 0; i < 120; i++) fs.writeFileSync(path.join(dir, `h${i}.lock`), '');
  const flock = spawn('bash', ['-c', `for f in ${dir}/*.lock; do exec {fd}<"$f"; flock -n "$fd"; done; sleep 600`], { stdio: 'ignore' });
  holders.push(flock);
  t.after(() => { for (const h of holders) h.kill('SIGKILL'); });
  const lockPath = path.join(ws, 'job.lock');
  fs.writeFileSync(lockPath, '');
  setAge(lockPath, 4_000);
  const server = await startServer(t, { folders: [ws], trusted: true });
  const first = await server.waitForState((s) => s.folders[0]?.scanning !== true && lockIn(s, lockPath) !== undefined && s.folders[0].locks.length === 121);
  assert.equal(lockIn(first, lockPath).state, 'held');
  const state = await server.waitForState((s) => lockIn(s, lockPath)?.state === 'stale', 20_000);
  assert.ok(lockIn(state, lockPath).ageMs < 16_000, `stale at ${lockIn(state, lockPath).ageMs} ms, soon after the 10 s grace`);
});
