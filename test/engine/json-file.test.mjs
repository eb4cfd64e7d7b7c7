// JSON documents under a lock: schema-checked reads with stable codes, and updates that reload
// under the lock so concurrent processes never lose each other's entries.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { test } from 'node:test';
import { engine, exited, FIXTURES, rejectsWithCode, startHolder, tempDir } from '../fixtures/lock-helpers.mjs';

const require = createRequire(import.meta.url);
const { z } = require('zod');
const { readJsonFile, updateJsonFile, jsonLockPathFor, ensureStore } = engine;
const Registry = z.record(z.number().int());

test('readJsonFile: E_NOT_FOUND, E_INVALID_UTF8, E_BAD_JSON and E_SCHEMA, each naming the path', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'doc.json');
  let err = await rejectsWithCode(readJsonFile(file, Registry), 'E_NOT_FOUND');
  assert.match(err.message, /doc\.json/);
  writeFileSync(file, Buffer.from([0x7b, 0xff, 0x7d]));
  err = await rejectsWithCode(readJsonFile(file, Registry), 'E_INVALID_UTF8');
  assert.match(err.message, /doc\.json/);
  writeFileSync(file, '{"a": 1,');
  err = await rejectsWithCode(readJsonFile(file, Registry), 'E_BAD_JSON');
  assert.match(err.message, /doc\.json/);
  writeFileSync(file, '{"a": "one"}');
  err = await rejectsWithCode(readJsonFile(file, Registry), 'E_SCHEMA');
  assert.match(err.message, /doc\.json.*a/);
  writeFileSync(file, '\ufeff{"a": 1}');
  assert.deepEqual(await readJsonFile(file, Registry), { a: 1 });
});

test('updateJsonFile creates, reloads and rewrites the document, and leaves only the document behind', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'reg.json');
  const seen = [];
  await updateJsonFile(file, Registry, (cur) => { seen.push(cur); return { a: 1 }; });
  await updateJsonFile(file, Registry, (cur) => { seen.push(cur); return { ...cur, b: 2 }; });
  assert.deepEqual(seen, [undefined, { a: 1 }]);
  assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), { a: 1, b: 2 });
  assert.deepEqual(readdirSync(dir), ['reg.json']);
});

test('updateJsonFile never overwrites a document that does not parse, nor writes one that breaks the schema', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'reg.json');
  writeFileSync(file, '{"broken": ');
  await rejectsWithCode(updateJsonFile(file, Registry, () => ({ fresh: 1 })), 'E_BAD_JSON');
  assert.equal(readFileSync(file, 'utf8'), '{"broken": ');
  writeFileSync(file, '{"a": 1}');
  await rejectsWithCode(updateJsonFile(file, Registry, () => ({ a: 'not a number' })), 'E_SCHEMA');
  assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), { a: 1 });
  assert.equal(existsSync(`${file}.lock`), false, 'the lock is released after a failure');
});

test("the lock is <path>.lock beside a plain file, and the store's locks/ for a file inside a store", async (t) => {
  const dir = tempDir(t);
  assert.equal(jsonLockPathFor(join(dir, 'a.json')), join(dir, 'a.json.lock'));
  const store = await ensureStore(dir);
  const inStore = join(store.state, 'registry.json');
  assert.equal(jsonLockPathFor(inStore), join(store.locks, 'state--registry.json.lock'));
  await updateJsonFile(inStore, Registry, () => ({ x: 1 }));
  assert.deepEqual(await readJsonFile(inStore, Registry), { x: 1 });
  assert.deepEqual(readdirSync(store.state), ['registry.json']);
  assert.deepEqual(readdirSync(store.tmp), []);
});

test('updateJsonFile waits for the lock and gives up with E_LOCK_TIMEOUT, leaving the document unchanged', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'reg.json');
  writeFileSync(file, '{"a": 1}');
  const holder = await startHolder(t, `${file}.lock`);
  await rejectsWithCode(updateJsonFile(file, Registry, () => ({ b: 2 }), { timeoutMs: 200, telemetry: false }), 'E_LOCK_TIMEOUT');
  assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), { a: 1 });
  holder.child.stdin.write('release\n');
  await exited(holder.child);
  await updateJsonFile(file, Registry, (cur) => ({ ...cur, b: 2 }), { lockPath: join(dir, 'custom.lock') });
  assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), { a: 1, b: 2 });
});

test('3 processes each adding 40 distinct keys to one registry lose no entry', { timeout: 50_000 }, async (t) => {
  const dir = tempDir(t);
  const store = await ensureStore(dir);
  const file = join(store.state, 'registry.json');
  const children = ['p', 'q', 'r'].map((prefix) => {
    const child = spawn(process.execPath, [join(FIXTURES, 'json-adder.mjs'), file, prefix, '40'], { stdio: ['ignore', 'pipe', 'inherit'] });
    t.after(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
    return child;
  });
  const codes = await Promise.all(children.map((c) => new Promise((r) => c.once('exit', (code) => r(code)))));
  assert.deepEqual(codes, [0, 0, 0]);
  const registry = await readJsonFile(file, Registry);
  assert.equal(Object.keys(registry).length, 120);
  for (const prefix of ['p', 'q', 'r']) for (let i = 0; i < 40; i++) assert.equal(registry[`${prefix}-${i}`], i);
});
