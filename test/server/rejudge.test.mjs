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
  t.after(() => {
    for (const h of holders) h.kill('SIGKILL');
  });
  const lockPath = path.join(ws, 'job.lock');
  fs.writeFileSync(lockPath, '');
  setAge(lockPath, 4_000);
  const server = await startServer(t, { folders: [ws], trusted: true });
  const first = await server.waitForState((s) => s.folders[0]?.scanning !== true && lockIn(s, lockPath) !== undefined && s.folders[0].locks.length === 121);
  assert.equal(lockIn(first, lockPath).state, 'held');
  const state = await server.waitForState((s) => lockIn(s, lockPath)?.state === 'stale', 20_000);
  assert.ok(lockIn(state, lockPath).ageMs < 16_000, `stale at ${lockIn(state, lockPath).ageMs} ms, soon after the 10 s grace`);
});

/** The first state pushed from now on that satisfies `predicate` (older states do not count). */
function nextState(server, predicate, timeoutMs) {
  const from = server.states.length;
  return server.waitForState((s) => server.states.indexOf(s) >= from && predicate(s), timeoutMs);
}

/** A holder of `lockPath`'s flock that is one process: killing it releases the lock. */
function flockHolder(t, lockPath) {
  const child = spawn('bash', ['-c', `exec 9<"${lockPath}"; flock 9; exec sleep 600`], { stdio: 'ignore' });
  t.after(() => child.kill('SIGKILL'));
  return child;
}

test('server: a zero-byte lock seen under flock is free at rest, held again within 3 s of each change, and never a problem', async (t) => {
  const ws = tempDir(t, 'll-rejudge-');
  const lockPath = path.join(ws, 'deploy.lock');
  fs.writeFileSync(lockPath, '');
  setAge(lockPath, 60_000);
  let first = flockHolder(t, lockPath);
  const server = await startServer(t, { folders: [ws], trusted: true });
  const diagnostics = [];
  server.listeners.add((m) => {
    if (m.method === 'textDocument/publishDiagnostics' && m.params.uri.endsWith('/deploy.lock')) diagnostics.push(...m.params.diagnostics);
  });
  await server.waitForState((s) => lockIn(s, lockPath)?.state === 'held', 20_000);
  for (let cycle = 0; cycle < 2; cycle++) {
    let changed = Date.now();
    first.kill('SIGKILL');
    const free = await nextState(server, (s) => lockIn(s, lockPath)?.state !== 'held', 10_000);
    const released = lockIn(free, lockPath);
    assert.equal(released.state, 'free', `released holder: ${released.state} — ${released.reason}`);
    assert.equal(released.reapable, false);
    assert.ok(Date.now() - changed < 3_000, `free ${Date.now() - changed} ms after the holder exited`);
    changed = Date.now();
    first = flockHolder(t, lockPath);
    await nextState(server, (s) => lockIn(s, lockPath)?.state === 'held', 10_000);
    assert.ok(Date.now() - changed < 3_000, `held ${Date.now() - changed} ms after flock took it again`);
  }
  assert.equal(fs.statSync(lockPath).size, 0);
  assert.deepEqual(diagnostics, [], 'a flock file at rest is no problem');
});

test('server: a stale lock among hundreds of other stale locks is re-judged within 3 s when a flock takes it', async (t) => {
  const ws = tempDir(t, 'll-rejudge-');
  const dir = path.join(ws, 'crashed');
  fs.mkdirSync(dir);
  for (let i = 0; i < 200; i++) {
    fs.writeFileSync(path.join(dir, `c${i}.lock`), '');
    setAge(path.join(dir, `c${i}.lock`), 60_000);
  }
  const lockPath = path.join(ws, 'zz-job.lock');
  fs.writeFileSync(lockPath, '');
  setAge(lockPath, 60_000);
  const server = await startServer(t, { folders: [ws], trusted: true });
  await server.waitForState((s) => s.folders[0]?.scanning !== true && s.folders[0]?.locks.length === 201 && lockIn(s, lockPath)?.state === 'stale', 30_000);
  const taken = Date.now();
  flockHolder(t, lockPath);
  await nextState(server, (s) => lockIn(s, lockPath)?.state === 'held', 20_000);
  assert.ok(Date.now() - taken < 3_000, `held ${Date.now() - taken} ms after flock took it`);
});
