// `ledgerlock append --key`: a caller killed after its append was durable and before it printed
// the id retries with the same key and gets the original id; the ledger holds the event once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, CLI, tempDir } from './helpers.mjs';

const ledgerLines = (cwd) =>
  readFileSync(join(cwd, '.ledgerlock', 'ledgers', 'events.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));

test('append --key: SIGKILLed between the durable write and printing the id, a retry prints the original id and the event is there once', (t) => {
  const cwd = tempDir(t);
  assert.equal(cli(['append', 'events', '--data', '{"n":0}'], { cwd }).code, 0);
  const args = ['append', 'events', '--type', 'job.done', '--data', '{"job":42}', '--key', 'job-42-done'];
  const killed = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', env: { ...process.env, LEDGERLOCK_TEST_KILL_BEFORE_PRINT: '1' } });
  assert.equal(killed.signal, 'SIGKILL', `the first attempt was to die by SIGKILL: ${killed.stderr}`);
  assert.equal(killed.stdout, '', 'the killed attempt printed nothing: its caller never saw an id');
  const written = ledgerLines(cwd).filter((r) => r.key === 'job-42-done');
  assert.equal(written.length, 1, 'the killed attempt wrote its event (durably, before the kill)');

  const retry = cli(args, { cwd });
  assert.equal(retry.code, 0, retry.stderr);
  assert.equal(retry.stdout.trim(), String(written[0].id), 'the retry prints the id of the event the killed attempt wrote');
  const again = cli([...args, '--json'], { cwd });
  assert.deepEqual(again.json().ids, [written[0].id]);
  assert.equal(ledgerLines(cwd).filter((r) => r.key === 'job-42-done').length, 1, 'exactly one event with the key');
  assert.equal(cli(['verify', 'events'], { cwd }).code, 0);
});

test('append --key with stdin: line n gets key K:n, so a retried pipe appends only the lines not yet there', (t) => {
  const cwd = tempDir(t);
  const first = cli(['append', 'events', '--key', 'import-7'], { cwd, input: '{"a":1}\n{"a":2}\n' });
  assert.equal(first.code, 0, first.stderr);
  const retry = cli(['append', 'events', '--key', 'import-7', '--json'], { cwd, input: '{"a":1}\n{"a":2}\n{"a":3}\n' });
  assert.equal(retry.code, 0, retry.stderr);
  assert.deepEqual(retry.json().ids, [1, 2, 3]);
  assert.deepEqual(
    ledgerLines(cwd).map((r) => [r.id, r.key]),
    [
      [1, 'import-7:1'],
      [2, 'import-7:2'],
      [3, 'import-7:3'],
    ],
  );
});

test('append --key refuses a key a record cannot carry, with E_BAD_INPUT, and writes nothing', (t) => {
  const cwd = tempDir(t);
  const r = cli(['append', 'events', '--data', '1', '--key', 'has"quote', '--json'], { cwd });
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.json().error.code, 'E_BAD_INPUT');
});
