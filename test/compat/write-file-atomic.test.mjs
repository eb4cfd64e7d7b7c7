// ledgerlock/compat/write-file-atomic against write-file-atomic's documented behaviour.
import assert from 'node:assert/strict';
import { chownSync, chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';

const require = createRequire(import.meta.url);
const writeFileAtomic = require('../../dist/compat/write-file-atomic.js');
const isRoot = process.getuid?.() === 0;

function workspace(t) {
  const dir = mkdtempSync(join(tmpdir(), 'll-wfa-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('writeFile(file, data, callback) replaces the file and calls back with no error (undefined, as the original)', async (t) => {
  const file = join(workspace(t), 'a.txt');
  writeFileSync(file, 'old');
  const err = await new Promise((resolve) => writeFileAtomic(file, 'new', resolve));
  assert.equal(err, undefined);
  assert.equal(readFileSync(file, 'utf8'), 'new');
});

test('without a callback it returns a promise; with options and a callback it calls back', async (t) => {
  const file = join(workspace(t), 'a.txt');
  await writeFileAtomic(file, 'promised');
  assert.equal(readFileSync(file, 'utf8'), 'promised');
  const err = await new Promise((resolve) => writeFileAtomic(file, 'both', { mode: 0o600 }, resolve));
  assert.equal(err, undefined);
  assert.equal(readFileSync(file, 'utf8'), 'both');
});

test('a string options argument is the encoding; the encoding is ignored for buffers', async (t) => {
  const file = join(workspace(t), 'a.bin');
  await writeFileAtomic(file, 'aGVsbG8=', 'base64');
  assert.equal(readFileSync(file, 'utf8'), 'hello');
  await writeFileAtomic(file, Buffer.from('raw bytes'), { encoding: 'base64' });
  assert.equal(readFileSync(file, 'utf8'), 'raw bytes');
  writeFileAtomic.sync(file, 'c3luYw==', 'base64');
  assert.equal(readFileSync(file, 'utf8'), 'sync');
  await writeFileAtomic(file, new Uint8Array([0x6f, 0x6b]));
  assert.equal(readFileSync(file, 'utf8'), 'ok');
});

test('mode: set exactly when given, the old file\'s when not, the system default when false', async (t) => {
  const dir = workspace(t);
  const file = join(dir, 'a.txt');
  await writeFileAtomic(file, 'x', { mode: 0o640 });
  assert.equal(statSync(file).mode & 0o777, 0o640);
  chmodSync(file, 0o604);
  await writeFileAtomic(file, 'y');
  assert.equal(statSync(file).mode & 0o777, 0o604, 'inherits the existing mode');
  writeFileAtomic.sync(file, 'z');
  assert.equal(statSync(file).mode & 0o777, 0o604, 'sync inherits it too');
  await writeFileAtomic(file, 'w', { mode: false });
  assert.equal(statSync(file).mode & 0o777, 0o666 & ~process.umask());
});

test('chown: set when given, the old file\'s owner kept when not', { skip: !isRoot && 'changing owners needs root' }, async (t) => {
  const file = join(workspace(t), 'a.txt');
  await writeFileAtomic(file, 'x', { chown: { uid: 1234, gid: 2345 } });
  assert.equal(statSync(file).uid, 1234);
  assert.equal(statSync(file).gid, 2345);
  chownSync(file, 4321, 5432);
  await writeFileAtomic(file, 'y');
  assert.deepEqual([statSync(file).uid, statSync(file).gid], [4321, 5432]);
  writeFileAtomic.sync(file, 'z');
  assert.deepEqual([statSync(file).uid, statSync(file).gid], [4321, 5432]);
  await writeFileAtomic(file, 'w', { chown: false });
  assert.equal(statSync(file).uid, process.getuid());
});

test('tmpfileCreated is told the temp file, beside the target, which is gone afterwards', async (t) => {
  const dir = workspace(t);
  const file = join(dir, 'a.txt');
  const seen = [];
  await writeFileAtomic(file, 'x', { tmpfileCreated: (tmp) => { seen.push([tmp, existsSync(tmp)]); } });
  writeFileAtomic.sync(file, 'y', { tmpfileCreated: (tmp) => { seen.push([tmp, existsSync(tmp)]); } });
  assert.equal(seen.length, 2);
  for (const [tmp, existed] of seen) {
    assert.equal(dirname(tmp), dir);
    assert.equal(existed, true);
    assert.equal(existsSync(tmp), false);
  }
  assert.deepEqual(readdirSync(dir), ['a.txt']);
});

test('a symlink is written through: its target gets the data and the link stays a link', async (t) => {
  const dir = workspace(t);
  const target = join(dir, 'real.json');
  const link = join(dir, 'link.json');
  writeFileSync(target, 'old');
  symlinkSync(target, link);
  await writeFileAtomic(link, 'new');
  assert.equal(readFileSync(target, 'utf8'), 'new');
  assert.ok(lstatSync(link).isSymbolicLink());
  assert.equal(readlinkSync(link), target);
  writeFileAtomic.sync(link, 'sync');
  assert.equal(readFileSync(target, 'utf8'), 'sync');
  assert.ok(lstatSync(link).isSymbolicLink());
});

test('a failed write leaves the old content and no temp file, and reports node\'s error code', async (t) => {
  const dir = workspace(t);
  const blocked = join(dir, 'is-a-dir');
  mkdirSync(join(blocked, 'inside'), { recursive: true });
  await assert.rejects(writeFileAtomic(blocked, 'x'), (err) => ['EISDIR', 'ENOTEMPTY', 'EEXIST'].includes(err.code));
  assert.throws(() => writeFileAtomic.sync(blocked, 'x'), (err) => ['EISDIR', 'ENOTEMPTY', 'EEXIST'].includes(err.code));
  const err = await new Promise((resolve) => writeFileAtomic(join(dir, 'no/such/dir/f'), 'x', resolve));
  assert.equal(err.code, 'ENOENT');
  assert.deepEqual(readdirSync(dir), ['is-a-dir']);
  assert.deepEqual(readdirSync(blocked), ['inside']);
});

test('concurrent writes to one file land in the order they were called', async (t) => {
  const file = join(workspace(t), 'a.txt');
  const writes = [];
  for (let i = 0; i < 30; i++) writes.push(writeFileAtomic(file, `write ${i}`));
  await Promise.all(writes);
  assert.equal(readFileSync(file, 'utf8'), 'write 29');
});

test('null and undefined data write an empty file; other values are written as strings', async (t) => {
  const file = join(workspace(t), 'a.txt');
  await writeFileAtomic(file, null);
  assert.equal(readFileSync(file, 'utf8'), '');
  await writeFileAtomic(file, 42);
  assert.equal(readFileSync(file, 'utf8'), '42');
});

test('fsync: false still replaces the file atomically', async (t) => {
  const file = join(workspace(t), 'a.txt');
  await writeFileAtomic(file, 'quick', { fsync: false });
  writeFileAtomic.sync(file, 'quicker', { fsync: false });
  assert.equal(readFileSync(file, 'utf8'), 'quicker');
});

const hasStrace = (await import('node:child_process')).spawnSync('strace', ['-V']).status === 0;

test('beyond the original, the directory is fsynced after the rename (async and sync forms)', { skip: !hasStrace && 'strace is not installed' }, async (t) => {
  const { spawnSync } = await import('node:child_process');
  const dir = workspace(t);
  const trace = join(dir, '..', `${dir.split('/').pop()}.trace`);
  t.after(() => rmSync(trace, { force: true }));
  const adapter = new URL('../../dist/compat/write-file-atomic.js', import.meta.url).pathname;
  const script = `const w = require(${JSON.stringify(adapter)}); w.sync(${JSON.stringify(join(dir, 'a'))}, 'x'); w(${JSON.stringify(join(dir, 'b'))}, 'y');`;
  const r = spawnSync('strace', ['-f', '-e', 'trace=openat,fsync,rename', '-o', trace, process.execPath, '-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const lines = readFileSync(trace, 'utf8').split('\n');
  for (const name of ['a', 'b']) {
    const renamed = lines.findIndex((l) => l.includes('rename(') && l.includes(`"${join(dir, name)}"`));
    assert.ok(renamed >= 0, `rename onto ${name}`);
    // After that rename, a descriptor of the directory is fsynced (opened before or after it:
    // directory descriptors are cached between writes).
    const dirFds = new Set(lines.map((l) => new RegExp(`openat\\(AT_FDCWD, "${dir}", [^)]*\\) = (\\d+)`).exec(l)).filter(Boolean).map((m) => m[1]));
    assert.ok(dirFds.size > 0, `the directory is opened (${name})`);
    assert.ok(lines.slice(renamed).some((l) => { const m = /fsync\((\d+)\)\s+= 0/.exec(l); return m !== null && dirFds.has(m[1]); }), `and fsynced after the rename onto ${name}`);
  }
});
