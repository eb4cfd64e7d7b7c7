import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, existsSync, appendFileSync, utimesSync, readdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { cli, cliSpawn, tempDir } from './helpers.mjs';

const LEDGER = '.ledgerlock/ledgers/events.jsonl';

test('append --data creates the store and ledger and prints the new id', (t) => {
  const dir = tempDir(t);
  const r = cli(['append', 'events', '--type', 'build.started', '--data', '{"n":1}'], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '1\n');
  assert.ok(existsSync(join(dir, '.ledgerlock/store.json')));
  const line = JSON.parse(readFileSync(join(dir, LEDGER), 'utf8').trim());
  assert.equal(line.id, 1);
  assert.equal(line.type, 'build.started');
  assert.deepEqual(line.data, { n: 1 });
});

test('append without --data turns each stdin line into one event, ids in order', (t) => {
  const dir = tempDir(t);
  const input = Array.from({ length: 50 }, (_, i) => JSON.stringify({ i })).join('\n') + '\n';
  const r = cli(['append', 'events', '--type', 'tick'], { cwd: dir, input });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n').map(Number), Array.from({ length: 50 }, (_, i) => i + 1));
  const tail = cli(['tail', 'events', '-n', '3', '--json'], { cwd: dir }).json();
  assert.deepEqual(tail.events.map((e) => e.data.i), [47, 48, 49]);
});

test('a bad stdin line stops append with exit 2 after the lines before it were stored', (t) => {
  const dir = tempDir(t);
  const r = cli(['append', 'events'], { cwd: dir, input: '{"a":1}\n{"b":2}\nnot json\n{"c":3}\n' });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /E_BAD_JSON: stdin line 3/);
  assert.equal(r.stdout, '1\n2\n');
  assert.equal(cli(['verify', 'events'], { cwd: dir }).code, 0);
});

test('usage errors and bad input exit 2 with a one-line message', (t) => {
  const dir = tempDir(t);
  const cases = [
    ['frobnicate'],
    ['append'],
    ['append', 'events', '--data', '{nope'],
    ['append', 'events', '--bogus'],
    ['tail', 'events', '-n', 'abc'],
    ['compact', 'events'],
    ['append', '../escape', '--data', '1'],
    ['lock', 'x'],
    ['tail', 'missing-ledger'],
  ];
  for (const args of cases) {
    const r = cli(args, { cwd: dir });
    assert.equal(r.code, 2, `${args.join(' ')} → ${r.code}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, `one line for ${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^ledgerlock: E_[A-Z_]+: /);
  }
});

test('--json errors are one JSON document on stdout with the stable code', (t) => {
  const dir = tempDir(t);
  const r = cli(['append', 'events', '--data', '{nope', '--json'], { cwd: dir });
  assert.equal(r.code, 2);
  const doc = r.json();
  assert.equal(doc.ok, false);
  assert.equal(doc.error.code, 'E_BAD_JSON');
});

test('verify exits 1 on a torn tail, repair cuts it into quarantine, verify then passes', (t) => {
  const dir = tempDir(t);
  cli(['append', 'events', '--data', '{"x":1}'], { cwd: dir });
  cli(['append', 'events', '--data', '{"x":2}'], { cwd: dir });
  appendFileSync(join(dir, LEDGER), '{"id":3,"ts":"2026-01-01T00:00:00.000Z","ty');
  const v = cli(['verify', 'events', '--json'], { cwd: dir });
  assert.equal(v.code, 1);
  assert.equal(v.json().health, 'torn');
  const r = cli(['repair', 'events', '--json'], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.json().repaired, true);
  // The quarantine folder keeps Git quiet with its own .gitignore; the cut bytes are the one other file.
  const q = readdirSync(join(dir, '.ledgerlock/quarantine')).filter((n) => n !== '.gitignore');
  assert.equal(q.length, 1);
  assert.equal(readFileSync(join(dir, '.ledgerlock/quarantine', q[0]), 'utf8'), '{"id":3,"ts":"2026-01-01T00:00:00.000Z","ty');
  assert.equal(cli(['verify', 'events'], { cwd: dir }).code, 0);
});

test('read --from --to returns exactly that id range', (t) => {
  const dir = tempDir(t);
  cli(['append', 'events'], { cwd: dir, input: Array.from({ length: 30 }, (_, i) => String(i)).join('\n') });
  const r = cli(['read', 'events', '--from', '10', '--to', '14', '--json'], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.json().events.map((e) => e.id), [10, 11, 12, 13, 14]);
});

test('compact --keep keeps the newest events with their ids', (t) => {
  const dir = tempDir(t);
  cli(['append', 'events'], { cwd: dir, input: Array.from({ length: 20 }, (_, i) => String(i)).join('\n') });
  const r = cli(['compact', 'events', '--keep', '5', '--json'], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.json().kept, 5);
  const tail = cli(['tail', 'events', '-n', '100', '--json'], { cwd: dir }).json();
  assert.deepEqual(tail.events.map((e) => e.id), [16, 17, 18, 19, 20]);
  assert.equal(cli(['append', 'events', '--data', '0'], { cwd: dir }).stdout, '21\n');
});

test('status --json lists locks and ledgers with the documented fields', (t) => {
  const dir = tempDir(t);
  cli(['append', 'events', '--data', '1'], { cwd: dir });
  mkdirSync(join(dir, '.ledgerlock/locks'), { recursive: true });
  writeFileSync(join(dir, '.ledgerlock/locks/dead.lock'), JSON.stringify({ pid: 2 ** 22 + 12345, hostname: hostname(), timestamp: Date.now() - 60_000 }));
  writeFileSync(join(dir, 'package-lock.json'), '{}');
  const r = cli(['status', '--json'], { cwd: dir });
  assert.equal(r.code, 1, 'a stale lock is a problem found');
  const doc = r.json();
  const lock = doc.locks.find((l) => l.path.endsWith('dead.lock'));
  assert.ok(lock, JSON.stringify(doc.locks));
  assert.equal(lock.state, 'stale');
  for (const key of ['path', 'state', 'reason', 'ageMs', 'holder']) assert.ok(key in lock, key);
  assert.ok(!doc.locks.some((l) => l.path.endsWith('package-lock.json')), 'dependency lockfiles are not locks');
  const ledger = doc.ledgers.find((l) => l.path.endsWith('events.jsonl'));
  for (const key of ['path', 'events', 'bytes', 'lastId', 'health']) assert.ok(key in ledger, key);
  assert.equal(ledger.events, 1);
  assert.equal(ledger.health, 'ok');
});

test('reap refuses a live holder with exit 1 and removes a dead one', async (t) => {
  const dir = tempDir(t);
  const holder = cliSpawn(['lock', 'build', '--', process.execPath, '-e', "require('fs').writeFileSync('cmd.pid', String(process.pid)); setTimeout(() => {}, 30000)"], { cwd: dir });
  t.after(() => holder.kill('SIGKILL'));
  const lockFile = join(dir, '.ledgerlock/locks/build.lock');
  const pidFile = join(dir, 'cmd.pid');
  for (let i = 0; i < 200 && !(existsSync(lockFile) && existsSync(pidFile)); i++) await new Promise((r) => setTimeout(r, 50));
  const cmdPid = Number(readFileSync(pidFile, 'utf8'));
  t.after(() => { try { process.kill(cmdPid, 'SIGKILL'); } catch { /* gone */ } });
  const refused = cli(['reap', 'build'], { cwd: dir });
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /E_LOCK_LIVE_HOLDER/);
  holder.kill('SIGKILL');
  await new Promise((r) => holder.once('exit', r));
  // The CLI process was killed with the lock held; the command it handed the lock to keeps
  // it (see lock-handoff.test.mjs) until it is gone too. Then the lock names a dead pid.
  process.kill(cmdPid, 'SIGKILL');
  for (let i = 0; i < 200 && existsSync(`/proc/${cmdPid}/fd/3`); i++) await new Promise((r) => setTimeout(r, 20));
  const reaped = cli(['reap', 'build', '--json'], { cwd: dir });
  assert.equal(reaped.code, 0, reaped.stderr);
  assert.equal(existsSync(lockFile), false);
});

test('lock -- CMD runs the command under the lock and exits with its status', (t) => {
  const dir = tempDir(t);
  const r = cli(['lock', 'job', '--', process.execPath, '-e', 'process.exit(7)'], { cwd: dir });
  assert.equal(r.code, 7);
  assert.equal(existsSync(join(dir, '.ledgerlock/locks/job.lock')), false, 'released after the command');
});

test('lock times out with exit 3 naming the live holder', async (t) => {
  const dir = tempDir(t);
  const holder = cliSpawn(['lock', 'job', '--', process.execPath, '-e', 'setTimeout(() => {}, 30000)'], { cwd: dir });
  t.after(() => holder.kill('SIGKILL'));
  const lockFile = join(dir, '.ledgerlock/locks/job.lock');
  for (let i = 0; i < 200 && !existsSync(lockFile); i++) await new Promise((r) => setTimeout(r, 50));
  const r = cli(['lock', 'job', '--timeout', '500', '--', process.execPath, '-e', '0'], { cwd: dir });
  assert.equal(r.code, 3);
  assert.match(r.stderr, new RegExp(`E_LOCK_TIMEOUT: .*${holder.pid}`));
});

test('a zero-byte lock older than 10 s is stale; a fresh one is not', (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'old.lock'), '');
  writeFileSync(join(dir, 'fresh.lock'), '');
  const past = new Date(Date.now() - 60_000);
  utimesSync(join(dir, 'old.lock'), past, past);
  const locks = cli(['locks', '--json'], { cwd: dir }).json().locks;
  assert.equal(locks.find((l) => l.path.endsWith('old.lock')).state, 'stale');
  assert.notEqual(locks.find((l) => l.path.endsWith('fresh.lock')).state, 'stale');
});

test('kill -9 during appends: every id the CLI printed survives exactly once, in order', async (t) => {
  const dir = tempDir(t);
  const printed = new Set();
  const rounds = 6;
  for (let round = 0; round < rounds; round++) {
    const writers = Array.from({ length: 3 }, () => {
      const child = cliSpawn(['append', 'events', '--type', `round${round}`], { cwd: dir });
      child.stdin.on('error', () => {});
      let buffered = '';
      child.stdout.on('data', (chunk) => {
        buffered += chunk;
        const lines = buffered.split('\n');
        buffered = lines.pop();
        for (const line of lines) printed.add(Number(line));
      });
      const feed = setInterval(() => {
        if (!child.stdin.writable) return;
        child.stdin.write(Array.from({ length: 20 }, () => JSON.stringify({ round, pad: 'x'.repeat(Math.floor(Math.random() * 200)) })).join('\n') + '\n');
      }, 2);
      return { child, feed };
    });
    // Kill at a random moment after the writers got going (start-up time varies with load).
    const before = printed.size;
    for (let i = 0; i < 200 && printed.size === before; i++) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, Math.random() * 300));
    for (const { child, feed } of writers) {
      clearInterval(feed);
      child.kill('SIGKILL');
    }
    await Promise.all(writers.map(({ child }) => new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r() : child.once('exit', r)))));
  }
  assert.ok(printed.size > 0, 'some appends were acknowledged');
  const repair = cli(['repair', 'events', '--json'], { cwd: dir });
  assert.equal(repair.code, 0, repair.stderr);
  const verify = cli(['verify', 'events', '--json'], { cwd: dir });
  assert.equal(verify.code, 0, verify.stdout);
  const ids = readFileSync(join(dir, LEDGER), 'utf8').trim().split('\n').map((l) => JSON.parse(l).id);
  for (let i = 1; i < ids.length; i++) assert.ok(ids[i] > ids[i - 1], `ids strictly increase at line ${i + 1}`);
  const present = new Set(ids);
  assert.equal(present.size, ids.length, 'no duplicate ids');
  for (const id of printed) assert.ok(present.has(id), `acknowledged id ${id} is present`);
});
