// Fixes the editor makes to other tools' files in a workspace without a store are accounted
// for: each repair and reap is listed by the Recoveries request, the removed bytes (a reaped
// lock's content too) are kept in the folder's one quarantine, `.ledgerlock/quarantine/`,
// and nothing of it shows in `git status` (README.md, "Quarantine").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startServer } from '../fixtures/lsp-client.mjs';
import { deadPid, setAge, tempDir } from '../fixtures/lock-helpers.mjs';

const lockIn = (state, p) => state.folders[0]?.locks.find((l) => l.path === p);
const ledgerIn = (state, p) => state.folders[0]?.ledgers.find((l) => l.path === p);
const git = (cwd, ...args) => spawnSync('git', args, { cwd, encoding: 'utf8' });

test('server: a foreign repair and reap are listed under Recoveries, their bytes kept in .ledgerlock/quarantine/ that git ignores', async (t) => {
  const ws = tempDir(t, 'll-fixes-');
  const haveGit = git(ws, 'init', '-q').status === 0;
  // Another tool's log with a torn last line, and another tool's pid lock naming a dead process.
  const log = path.join(ws, 'logs', 'app.jsonl');
  fs.mkdirSync(path.dirname(log));
  const torn = '{"level":"info","msg":"cut sh';
  fs.writeFileSync(log, `${JSON.stringify({ level: 'info', msg: 'one' })}\n${JSON.stringify({ level: 'info', msg: 'two' })}\n${torn}`);
  const lock = path.join(ws, 'tmp', 'build.lock');
  fs.mkdirSync(path.dirname(lock));
  const lockBytes = `${await deadPid()}\n`;
  fs.writeFileSync(lock, lockBytes);
  setAge(lock, 120_000);
  if (haveGit) (git(ws, 'add', '-A'), git(ws, '-c', 'user.email=t@example.com', '-c', 'user.name=t', 'commit', '-qm', 'start'));

  const server = await startServer(t, { folders: [ws], trusted: true });
  await server.waitForState((s) => ledgerIn(s, log)?.health === 'torn' && lockIn(s, lock)?.state === 'stale', 20_000);

  const repaired = await server.request('ledgerlock/repairTail', { ledger: log });
  assert.equal(repaired.ok, true, repaired.message);
  const reaped = await server.request('ledgerlock/reapLock', { lock });
  assert.equal(reaped.ok, true, reaped.message);

  const quarantine = path.join(ws, '.ledgerlock', 'quarantine');
  assert.match(repaired.message, /kept in \.ledgerlock\/quarantine\/app\.jsonl@/, 'the outcome says where, relative to the folder');
  assert.match(reaped.message, /kept in \.ledgerlock\/quarantine\/build\.lock\./);
  assert.equal(fs.existsSync(`${log}.quarantine`), false, 'no quarantine folder beside the repaired file');
  const kept = fs.readdirSync(quarantine).filter((n) => n !== '.gitignore');
  const bytesOf = (re) => kept.filter((n) => re.test(n)).map((n) => fs.readFileSync(path.join(quarantine, n), 'utf8'));
  assert.deepEqual(bytesOf(/^app\.jsonl@/), [torn], 'the torn bytes are kept');
  assert.deepEqual(bytesOf(/^build\.lock\..*\.reaped$/), [lockBytes], "the reaped lock's content is kept, not deleted");

  const recoveries = await server.request('ledgerlock/recoveries', { limit: 50 });
  const types = recoveries.map((r) => r.type).sort();
  assert.deepEqual(types, ['CORRUPT_TAIL_RECOVERY', 'STALE_LOCK_RECOVERY']);
  assert.ok(recoveries.every((r) => r.source === path.join(ws, '.ledgerlock', 'telemetry.jsonl')));
  const reap = recoveries.find((r) => r.type === 'STALE_LOCK_RECOVERY');
  assert.equal(reap.data.lock, lock);
  assert.ok(reap.data.quarantine.startsWith(quarantine + path.sep), 'the record says where the bytes are');

  if (haveGit) {
    const status = git(ws, 'status', '--porcelain', '--untracked-files=all').stdout.split('\n').filter(Boolean);
    assert.deepEqual(
      status.filter((l) => !/^ [MD] /.test(l)),
      [],
      `nothing new for git: ${status.join(' | ')}`,
    );
  }
});
