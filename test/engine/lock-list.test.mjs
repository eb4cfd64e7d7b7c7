// Finding locks under a workspace: real locks of every kind are listed, dependency lockfiles
// never are, dependency and VCS trees are skipped (except VCS lock files), symlinks are not
// followed out of the directory.
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { deadPid, engine, nativeLock, tempDir, writeLock } from '../fixtures/lock-helpers.mjs';

const require = createRequire(import.meta.url);
const { listLocks, ensureStore, DEPENDENCY_LOCKFILES, isDependencyLockfile, acquireLock } = engine;

const rel = (root, infos) => infos.map((i) => relative(root, i.path).split('\\').join('/')).sort();

test('dependency lockfiles are never listed as locks, wherever they are', async (t) => {
  const root = tempDir(t);
  mkdirSync(join(root, 'pkg', 'nested'), { recursive: true });
  for (const name of DEPENDENCY_LOCKFILES) {
    writeFileSync(join(root, name), '{}');
    writeFileSync(join(root, 'pkg', 'nested', name), '# lockfile');
  }
  mkdirSync(join(root, 'pkg', 'esy.lock', 'sub'), { recursive: true }); // esy's lock directory
  writeFileSync(join(root, 'pkg', 'real.lock'), '');
  assert.deepEqual(rel(root, await listLocks(root)), ['pkg/real.lock']);
});

test('isDependencyLockfile knows the common package managers and is case-insensitive', () => {
  for (const name of ['package-lock.json', 'yarn.lock', 'Cargo.lock', 'poetry.lock', 'Gemfile.lock', 'composer.lock', 'flake.lock',
    'pnpm-lock.yaml', 'Pipfile.lock', 'bun.lockb', 'bun.lock', 'go.sum', 'mix.lock', 'Podfile.lock', 'packages.lock.json',
    'pubspec.lock', 'gradle.lockfile', 'uv.lock', 'deno.lock', 'cargo.LOCK', '/a/b/Cargo.lock', 'sub/gradle.lockfile']) {
    assert.equal(isDependencyLockfile(name), true, name);
  }
  for (const name of ['index.lock', 'build.lock', 'events.jsonl.lock', 'yarn.lock.lock', 'my-package-lock.json.lock']) {
    assert.equal(isDependencyLockfile(name), false, name);
  }
  assert.throws(() => { DEPENDENCY_LOCKFILES.push('x'); });
});

test('every kind of lock is found: store locks, git index.lock, directory locks, foreign files', async (t) => {
  const root = tempDir(t);
  const store = await ensureStore(root);
  const held = await acquireLock(join(store.locks, 'events.lock'));
  t.after(() => held.release());
  mkdirSync(join(root, '.git', 'objects', 'ab'), { recursive: true });
  writeFileSync(join(root, '.git', 'index.lock'), '');
  writeFileSync(join(root, '.git', 'objects', 'ab', 'deep.lock'), ''); // VCS internals other than top-level locks are skipped
  mkdirSync(join(root, 'data.json.lock')); // proper-lockfile style
  mkdirSync(join(root, 'data.json.lock', 'inner.lock'), { recursive: true }); // never descended into
  writeLock(join(root, 'tool.lock'), { pid: await deadPid(), timestamp: Date.now() });
  mkdirSync(join(root, 'node_modules', 'dep'), { recursive: true });
  writeFileSync(join(root, 'node_modules', 'dep', 'x.lock'), '');
  writeFileSync(join(root, 'notes.txt'), 'not a lock');

  const infos = await listLocks(root);
  assert.deepEqual(rel(root, infos), ['.git/index.lock', '.ledgerlock/locks/events.lock', 'data.json.lock', 'tool.lock']);
  const byName = Object.fromEntries(infos.map((i) => [relative(root, i.path), i]));
  assert.equal(byName['.git/index.lock'].kind, 'empty');
  assert.equal(byName['.ledgerlock/locks/events.lock'].state, 'held');
  assert.equal(byName['.ledgerlock/locks/events.lock'].holder.owner, held.owner);
  assert.equal(byName['data.json.lock'].kind, 'directory');
  assert.equal(byName['tool.lock'].kind, 'json');
});

test('a lock taken by proper-lockfile is listed as a held directory lock', async (t) => {
  const lockfile = require('proper-lockfile');
  const root = tempDir(t);
  const file = join(root, 'registry.json');
  writeFileSync(file, '{}');
  const release = await lockfile.lock(file);
  t.after(() => release().catch(() => {}));
  const [info] = await listLocks(root);
  assert.equal(relative(root, info.path), 'registry.json.lock');
  assert.equal(info.kind, 'directory');
  assert.equal(info.state, 'held');
  assert.equal(info.reapable, false);
});

test('symlinks are not followed out of the listed directory; a symlinked lock is listed as unknown', async (t) => {
  const root = tempDir(t);
  const outside = tempDir(t, 'll-outside-');
  writeLock(join(outside, 'elsewhere.lock'), nativeLock({ pid: await deadPid() }));
  mkdirSync(join(outside, 'sub'));
  writeFileSync(join(outside, 'sub', 'deep.lock'), '');
  symlinkSync(outside, join(root, 'linked-dir'));
  symlinkSync(join(outside, 'elsewhere.lock'), join(root, 'pointer.lock'));
  const infos = await listLocks(root);
  assert.deepEqual(rel(root, infos), ['pointer.lock']);
  assert.equal(infos[0].state, 'unknown');
  assert.equal(infos[0].reapable, false);
});

test('include adds lock names beyond *.lock, exclude prunes paths, maxDepth bounds the walk', async (t) => {
  const root = tempDir(t);
  mkdirSync(join(root, 'a', 'b', 'c'), { recursive: true });
  writeFileSync(join(root, 'server.pid'), String(process.pid));
  writeFileSync(join(root, 'a', 'top.lock'), '');
  writeFileSync(join(root, 'a', 'b', 'c', 'deep.lock'), '');
  mkdirSync(join(root, 'vendor'));
  writeFileSync(join(root, 'vendor', 'x.lock'), '');
  writeFileSync(join(root, 'Cargo.lock'), '');

  assert.deepEqual(rel(root, await listLocks(root)), ['a/b/c/deep.lock', 'a/top.lock', 'vendor/x.lock']);
  assert.deepEqual(rel(root, await listLocks(root, { include: ['**/*.pid', '*.lock'] })), ['a/b/c/deep.lock', 'a/top.lock', 'server.pid', 'vendor/x.lock']);
  assert.deepEqual(rel(root, await listLocks(root, { exclude: ['vendor', 'a/b'] })), ['a/top.lock']);
  assert.deepEqual(rel(root, await listLocks(root, { maxDepth: 2 })), ['a/top.lock', 'vendor/x.lock']);
  const [pidFile] = (await listLocks(root, { include: ['*.pid'] })).filter((i) => i.path.endsWith('.pid'));
  assert.equal(pidFile.kind, 'text');
  assert.equal(pidFile.holder.pid, process.pid);
});

test('listing is read-only and one "now" applies to all: ages are consistent', async (t) => {
  const root = tempDir(t);
  writeFileSync(join(root, 'a.lock'), '');
  writeFileSync(join(root, 'b.lock'), '');
  const now = Date.now() + 60_000;
  const infos = await listLocks(root, { now });
  assert.equal(infos.length, 2);
  for (const info of infos) {
    assert.equal(info.state, 'stale');
    assert.ok(info.heartbeatAgeMs >= 59_000);
  }
});
