// A cloned workspace is untrusted input. Each case of a hostile tree, run through the real CLI
// (and the engine where the case is the library's), on the real file system: nothing outside
// the workspace changes, nothing hangs, nothing is read whole, and each refusal has a code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { cli, tempDir } from './helpers.mjs';

const require = createRequire(import.meta.url);
const engine = require('../../dist/engine.js');

/** A workspace with a store and one healthy ledger of `n` events, plus an outside folder. */
function hostile(t, n = 3) {
  const base = tempDir(t, 'll-hostile-');
  const ws = path.join(base, 'ws');
  const outside = path.join(base, 'outside');
  fs.mkdirSync(outside, { recursive: true });
  fs.mkdirSync(ws);
  if (n > 0) {
    const r = cli(['append', 'events', '--durability', 'none'], { cwd: ws, input: Array.from({ length: n }, (_, i) => `{"n":${i + 1}}`).join('\n') });
    assert.equal(r.code, 0, r.stderr);
  }
  return { base, ws, outside, store: path.join(ws, '.ledgerlock'), ledgers: path.join(ws, '.ledgerlock', 'ledgers') };
}

/** Every file under `dir` with its bytes, for "nothing here changed". */
function snapshotTree(dir) {
  const out = {};
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out[path.relative(dir, p)] = fs.readFileSync(p).toString('base64');
      else out[path.relative(dir, p)] = e.isSymbolicLink() ? `-> ${fs.readlinkSync(p)}` : 'special';
    }
  };
  walk(dir);
  return out;
}

const PASSWD_LIKE = Array.from({ length: 30 }, (_, i) => `user${i}:x:${1000 + i}:${1000 + i}:User ${i}:/home/user${i}:/bin/bash`).join('\n') + '\n';

test('repair of a ledger that is a symlink to a file outside the workspace refuses and leaves that file intact', (t) => {
  const h = hostile(t);
  const victim = path.join(h.outside, 'passwd');
  fs.writeFileSync(victim, PASSWD_LIKE);
  fs.symlinkSync(victim, path.join(h.ledgers, 'evil.jsonl'));
  const r = cli(['repair', 'evil', '--json'], { cwd: h.ws });
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.json().error.code, 'E_PATH_OUTSIDE_ROOT');
  assert.match(r.stderr, /links outside the workspace/);
  assert.equal(fs.readFileSync(victim, 'utf8'), PASSWD_LIKE);
});

test('a copy of a non-ledger file inside the store is not "repaired" to nothing: not a ledger, nothing cut', (t) => {
  const h = hostile(t);
  const file = path.join(h.ledgers, 'passwd.jsonl');
  fs.writeFileSync(file, PASSWD_LIKE);
  const r = cli(['repair', 'passwd', '--json'], { cwd: h.ws });
  assert.notEqual(r.code, 0);
  assert.equal(r.json().error.code, 'E_NOT_A_LEDGER');
  assert.equal(fs.readFileSync(file, 'utf8'), PASSWD_LIKE);
  const v = cli(['verify', 'passwd', '--json'], { cwd: h.ws });
  assert.equal(v.code, 1);
  assert.equal(v.json().health, 'corrupt');
});

test('a torn first write (no complete line) is still a torn tail and is repaired', (t) => {
  const h = hostile(t, 0);
  fs.mkdirSync(h.ledgers, { recursive: true });
  const file = path.join(h.ledgers, 'events.jsonl');
  fs.writeFileSync(file, '{"id":1,"ts":"2026-01-01T00:00:00.000Z","ty');
  const r = cli(['repair', 'events', '--json'], { cwd: h.ws });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.json().repaired, true);
  assert.equal(fs.statSync(file).size, 0);
});

test('append through a dangling ledger symlink creates nothing outside', (t) => {
  const h = hostile(t);
  const target = path.join(h.outside, 'created.jsonl');
  fs.symlinkSync(target, path.join(h.ledgers, 'dangling.jsonl'));
  const r = cli(['append', 'dangling', '--data', '{"x":1}'], { cwd: h.ws });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /E_PATH_OUTSIDE_ROOT/);
  assert.equal(fs.existsSync(target), false);
  assert.deepEqual(fs.readdirSync(h.outside), []);
});

test('append with .ledgerlock itself a symlink to an outside folder creates no store there', (t) => {
  const h = hostile(t, 0);
  fs.symlinkSync(h.outside, path.join(h.ws, '.ledgerlock'));
  const r = cli(['append', 'events', '--data', '{"x":1}'], { cwd: h.ws });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /E_PATH_OUTSIDE_ROOT/);
  assert.deepEqual(fs.readdirSync(h.outside), []);
});

test('ensureStore refuses a .ledgerlock that is a dangling symlink out of the workspace', async (t) => {
  const h = hostile(t, 0);
  const target = path.join(h.outside, 'store');
  fs.symlinkSync(target, path.join(h.ws, '.ledgerlock'));
  await assert.rejects(engine.ensureStore(h.ws), { code: 'E_PATH_OUTSIDE_ROOT' });
  assert.equal(fs.existsSync(target), false);
});

test('reap with .ledgerlock/locks a symlink to an outside folder holding a stale lock leaves the outside file where it is', (t) => {
  const h = hostile(t);
  const outsideLocks = path.join(h.outside, 'locks');
  fs.mkdirSync(outsideLocks);
  const lock = path.join(outsideLocks, 'build.lock');
  // A dead holder on this host: provably stale.
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  fs.writeFileSync(lock, JSON.stringify({ format: 'ledgerlock-lock', pid: Number(dead.stdout), host: os.hostname(), owner: 'x', tool: 'test', acquiredAt: new Date(Date.now() - 60_000).toISOString() }));
  fs.rmSync(path.join(h.store, 'locks'), { recursive: true, force: true });
  fs.symlinkSync(outsideLocks, path.join(h.store, 'locks'));
  const before = snapshotTree(h.outside);
  const r = cli(['reap', 'build', '--json'], { cwd: h.ws });
  assert.notEqual(r.code, 0, r.stdout);
  assert.equal(r.json().error.code, 'E_PATH_OUTSIDE_ROOT');
  assert.deepEqual(snapshotTree(h.outside), before);
});

test('tail of a ledger whose store.json is a FIFO fails at once with E_NOT_REGULAR_FILE instead of hanging', (t) => {
  const h = hostile(t);
  fs.rmSync(path.join(h.store, 'store.json'));
  execFileSync('mkfifo', [path.join(h.store, 'store.json')]);
  const r = cli(['tail', 'events', '--json'], { cwd: h.ws });
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.json().error.code, 'E_NOT_REGULAR_FILE');
});

test('store.json a symlink to /dev/zero is refused before any read', (t) => {
  const h = hostile(t);
  fs.rmSync(path.join(h.store, 'store.json'));
  fs.symlinkSync('/dev/zero', path.join(h.store, 'store.json'));
  const r = cli(['tail', 'events', '--json'], { cwd: h.ws });
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.json().error.code, 'E_PATH_OUTSIDE_ROOT');
});

test('/dev/zero reached inside the workspace (a device node) is refused as not a regular file, with little memory', { skip: process.getuid?.() !== 0 ? 'needs root to make a device node' : false }, async (t) => {
  const h = hostile(t);
  fs.rmSync(path.join(h.store, 'store.json'));
  execFileSync('mknod', [path.join(h.store, 'store.json'), 'c', '1', '5']);
  const rss = process.memoryUsage().rss;
  await assert.rejects(engine.readStoreManifest(engine.storePaths(h.ws)), { code: 'E_NOT_REGULAR_FILE' });
  assert.ok(process.memoryUsage().rss - rss < 64 * 1024 * 1024);
});

test('a 600 MB store.json is refused by its size on the descriptor, without reading it', async (t) => {
  const h = hostile(t);
  const manifest = path.join(h.store, 'store.json');
  fs.truncateSync(manifest, 600 * 1024 * 1024); // sparse
  const rss = process.memoryUsage().rss;
  await assert.rejects(engine.readStoreManifest(engine.storePaths(h.ws)), (err) => err.code === 'E_TOO_LARGE' && /600|629145600/.test(err.message));
  assert.ok(process.memoryUsage().rss - rss < 64 * 1024 * 1024, 'the document was not read into memory');
  const r = cli(['tail', 'events', '--json'], { cwd: h.ws });
  assert.equal(r.code, 2);
  assert.equal(r.json().error.code, 'E_TOO_LARGE');
});

test('one byte changed in record 1 of a native ledger is corruption: verify exits 1 and appends still work', (t) => {
  const h = hostile(t, 5);
  const file = path.join(h.ledgers, 'events.jsonl');
  const bytes = fs.readFileSync(file);
  const at = bytes.indexOf('"n":1') + 4;
  bytes[at] = '7'.charCodeAt(0);
  fs.writeFileSync(file, bytes);
  const v = cli(['verify', 'events', '--json'], { cwd: h.ws });
  assert.equal(v.code, 1, v.stdout);
  const report = v.json();
  assert.equal(report.format, 'ledgerlock');
  assert.equal(report.health, 'corrupt');
  assert.equal(report.problems[0].line, 1);
  const a = cli(['append', 'events', '--data', '{"n":6}'], { cwd: h.ws });
  assert.equal(a.code, 0, a.stderr);
  assert.equal(a.stdout.trim(), '6');
});

test('outside a store, a first line carrying a record checksum that no longer matches is a damaged native record, not a foreign line', async (t) => {
  const h = hostile(t, 3);
  const file = path.join(h.ws, 'copy.jsonl');
  const bytes = fs.readFileSync(path.join(h.ledgers, 'events.jsonl'));
  bytes[bytes.indexOf('"n":1') + 4] = '9'.charCodeAt(0);
  fs.writeFileSync(file, bytes);
  const ledger = await engine.openLedger(file, { create: false, telemetry: false });
  try {
    assert.equal(ledger.format, 'ledgerlock');
    assert.equal((await ledger.verify()).health, 'corrupt');
  } finally {
    await ledger.close();
  }
});

test('--data 1e999 is refused instead of storing null', (t) => {
  const h = hostile(t);
  for (const data of ['1e999', '{"big":-1e400}', '[1, 2e308]']) {
    const r = cli(['append', 'events', '--data', data, '--json'], { cwd: h.ws });
    assert.equal(r.code, 2, data);
    assert.equal(r.json().error.code, 'E_BAD_JSON', data);
  }
  const r = cli(['append', 'events'], { cwd: h.ws, input: '{"ok":1}\n1e999\n' });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /E_BAD_JSON: stdin line 2/);
  const tail = cli(['tail', 'events', '--json'], { cwd: h.ws }).json();
  assert.ok(tail.events.every((e) => e.data !== null));
});

test('compact keep 0 is refused by the engine (it would empty the ledger and hand its ids out again)', async (t) => {
  const h = hostile(t, 3);
  const ledger = await engine.openLedger(path.join(h.ledgers, 'events.jsonl'), { create: false, telemetry: false });
  try {
    await assert.rejects(ledger.compact({ keep: 0 }), { code: 'E_BAD_OPTION' });
    assert.equal((await ledger.verify()).events, 3);
  } finally {
    await ledger.close();
  }
});

test('tail of a non-JSON file in the store is an error, not an empty success', (t) => {
  const h = hostile(t);
  fs.writeFileSync(path.join(h.ledgers, 'notes.jsonl'), 'just some text\nand more text\n');
  const r = cli(['tail', 'notes', '--json'], { cwd: h.ws });
  assert.equal(r.code, 2, r.stdout);
  assert.equal(r.json().error.code, 'E_NOT_A_LEDGER');
});

test('a lock path holding a newline stays on one line of text output', (t) => {
  const h = hostile(t);
  const dir = path.join(h.ws, 'odd\nname');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'x.lock'), '');
  const r = cli(['locks'], { cwd: h.ws });
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 1, r.stdout);
  assert.match(lines[0], /"[^"]*odd\\nname[^"]*x\.lock"/);
});

test('ENAMETOOLONG is E_NAME_TOO_LONG with exit 2, never E_INTERNAL', (t) => {
  const h = hostile(t);
  const r = cli(['append', `${'a'.repeat(300)}.jsonl`, '--data', '1', '--json'], { cwd: h.ws });
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.json().error.code, 'E_NAME_TOO_LONG');
});

test('an ordinary folder is never reaped as a lock, whatever its name', async (t) => {
  const h = hostile(t);
  const src = path.join(h.ws, 'src.lock');
  fs.mkdirSync(src);
  fs.writeFileSync(path.join(src, 'main.ts'), 'export {};\n');
  const old = new Date(Date.now() - 3_600_000);
  fs.utimesSync(src, old, old);
  await assert.rejects(engine.reapLock(src, { staleMs: 1000, force: true }), { code: 'E_NOT_A_LOCK' });
  assert.ok(fs.existsSync(path.join(src, 'main.ts')));
  // An empty one (proper-lockfile's) still is a lock.
  const real = path.join(h.ws, 'real.lock');
  fs.mkdirSync(real);
  fs.utimesSync(real, old, old);
  assert.equal((await engine.reapLock(real, { staleMs: 1000 })).reaped, true);
});

/** A size-limited tmpfs; undefined (with the reason) where one cannot be mounted. */
function smallTmpfs(t, size = '1m') {
  if (process.getuid?.() !== 0) return { skip: 'mounting a tmpfs needs root' };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'll-full-'));
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { encoding: 'utf8' });
  if (r.status !== 0) {
    fs.rmSync(dir, { recursive: true, force: true });
    return { skip: `mount -t tmpfs failed: ${r.stderr.trim()}` };
  }
  t.after(() => {
    spawnSync('umount', [dir]);
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { dir };
}

test('a full disk is E_NO_SPACE with exit 1, never E_INTERNAL', (t) => {
  const fsys = smallTmpfs(t);
  if (fsys.skip) return t.skip(fsys.skip);
  const ws = fsys.dir;
  assert.equal(cli(['append', 'events', '--data', '1'], { cwd: ws }).code, 0);
  const input = Array.from({ length: 20 }, (_, i) => JSON.stringify({ i, pad: 'x'.repeat(100_000) })).join('\n');
  const r = cli(['append', 'events', '--json'], { cwd: ws, input });
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.json().error.code, 'E_NO_SPACE');
  // What is on disk is whole records only.
  const v = cli(['verify', 'events', '--json'], { cwd: ws }).json();
  assert.notEqual(v.health, 'corrupt');
});

test('a repair that fails on a full disk leaves no empty or partial quarantine file', async (t) => {
  const fsys = smallTmpfs(t, '2m');
  if (fsys.skip) return t.skip(fsys.skip);
  const ws = fsys.dir;
  assert.equal(cli(['append', 'events', '--data', '1'], { cwd: ws }).code, 0);
  const ledgerFile = path.join(ws, '.ledgerlock', 'ledgers', 'events.jsonl');
  // A torn tail bigger than the room left: its copy into quarantine cannot complete.
  const fd = fs.openSync(ledgerFile, 'a');
  const chunk = Buffer.alloc(64 * 1024, 0x41);
  try {
    for (;;) fs.writeSync(fd, chunk);
  } catch (err) {
    assert.equal(err.code, 'ENOSPC');
  } finally {
    fs.closeSync(fd);
  }
  const r = cli(['repair', 'events', '--json'], { cwd: ws });
  assert.equal(r.code, 1, r.stdout);
  assert.equal(r.json().error.code, 'E_NO_SPACE');
  const quarantine = path.join(ws, '.ledgerlock', 'quarantine');
  assert.deepEqual(fs.readdirSync(quarantine), []);
});

test('an immutable ledger (EPERM) is E_PERMISSION, never E_INTERNAL', (t) => {
  if (process.getuid?.() !== 0) return t.skip('chattr +i needs root');
  const h = hostile(t);
  const file = path.join(h.ledgers, 'events.jsonl');
  const r0 = spawnSync('chattr', ['+i', file], { encoding: 'utf8' });
  if (r0.status !== 0) return t.skip(`chattr +i is not supported here: ${r0.stderr.trim()}`);
  try {
    const r = cli(['append', 'events', '--data', '1', '--json'], { cwd: h.ws });
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.json().error.code, 'E_PERMISSION');
  } finally {
    spawnSync('chattr', ['-i', file]);
  }
});

test('a foreign ledger reached through a folder that links outside the working directory is refused, and status shows the link', (t) => {
  const h = hostile(t);
  const victim = path.join(h.outside, 'app.jsonl');
  fs.writeFileSync(victim, '{"a":1}\n{"a":2}\n{"a":');
  fs.symlinkSync(h.outside, path.join(h.ws, 'logs'));
  const r = cli(['repair', 'logs/app.jsonl', '--json'], { cwd: h.ws });
  assert.equal(r.code, 2, r.stdout);
  assert.equal(r.json().error.code, 'E_PATH_OUTSIDE_ROOT');
  assert.equal(fs.readFileSync(victim, 'utf8'), '{"a":1}\n{"a":2}\n{"a":');
  fs.symlinkSync(victim, path.join(h.ledgers, 'linked.jsonl'));
  const status = cli(['status', '--json'], { cwd: h.ws }).json();
  const linked = status.ledgers.find((l) => l.path.endsWith('linked.jsonl'));
  assert.ok(linked, 'the link is listed');
  assert.equal(linked.error.code, 'E_PATH_OUTSIDE_ROOT');
  assert.match(linked.error.message, /links outside the workspace/);
});
