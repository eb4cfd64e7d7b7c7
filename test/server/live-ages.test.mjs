// A lock's ages travel as numbers with the time they were measured, so the editor writes every
// age in a sentence as it is when drawn: the server marks each elapsed time in the reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startServer } from '../fixtures/lsp-client.mjs';
import { commandExists, kernelLocksOn, setAge, startInGroup, tempDir } from '../fixtures/lock-helpers.mjs';

test("server: a lock's reason comes with its elapsed times marked and the time they were measured; thresholds are not marked", async (t) => {
  const ws = tempDir(t, 'll-ages-');
  const lockPath = path.join(ws, 'crash.lock');
  fs.writeFileSync(lockPath, '');
  setAge(lockPath, 40_000);
  const server = await startServer(t, { folders: [ws], trusted: true });
  const state = await server.waitForState((s) => s.folders[0]?.locks.find((l) => l.path === lockPath)?.state === 'stale', 20_000);
  const lock = state.folders[0].locks.find((l) => l.path === lockPath);
  assert.ok(Math.abs(lock.judgedAt - Date.now()) < 20_000, 'judgedAt is when it was judged');
  assert.match(lock.reason, /empty lock file \d+ s old/);
  assert.equal(lock.reasonAges.length, 1, JSON.stringify(lock.reasonAges));
  const [age] = lock.reasonAges;
  assert.equal(lock.reason.slice(age.at, age.at + age.text.length), age.text, 'the mark points at the words it stands for');
  assert.match(lock.reason.slice(age.at), /^\d+ s old/);
  assert.ok(Math.abs(age.ms - lock.ageMs) < 1000, `the elapsed time is the lock's age (${age.ms} vs ${lock.ageMs})`);
});

test(
  'server: a flock hold on an old zero-byte file is marked by its "at most" age, so the editor ages it as drawn',
  { skip: (process.platform !== 'linux' || !commandExists('flock')) && 'needs Linux and flock(1)' },
  async (t) => {
    const ws = tempDir(t, 'll-ages-');
    const lockPath = path.join(ws, 'deploy.lock');
    fs.writeFileSync(lockPath, '');
    setAge(lockPath, 3_600_000);
    await startInGroup(t, 'flock', [lockPath, 'sleep', '300'], () => kernelLocksOn(lockPath).length > 0);
    const server = await startServer(t, { folders: [ws], trusted: true });
    const state = await server.waitForState((s) => s.folders[0]?.locks.find((l) => l.path === lockPath)?.state === 'held', 20_000);
    const lock = state.folders[0].locks.find((l) => l.path === lockPath);
    assert.match(lock.reason, /held for at most \d+ (ms|s)\b/);
    assert.equal(lock.longHeld, false, 'a hold taken seconds ago is not long held');
    const age = lock.reasonAges.find((a) => lock.reason.slice(0, a.at).endsWith('held for at most '));
    assert.ok(age, `the "at most" age is marked: ${JSON.stringify(lock.reasonAges)} in ${lock.reason}`);
    assert.ok(Math.abs(age.ms - lock.ageMs) < 1000, `the marked age is the hold's (${age.ms} vs ${lock.ageMs})`);
  },
);
