// The write-file-atomic adapter beside write-file-atomic 6.0.0 itself: each behaviour runs
// against both with one set of assertions, so a difference fails as a comparison. Where the
// adapter differs on purpose (README.md, "Drop-in adapters"), the test asserts each side.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

const require = createRequire(import.meta.url);
const ADAPTER = new URL('../../dist/compat/write-file-atomic.js', import.meta.url).pathname;
const ORIGINAL = require.resolve('write-file-atomic');
const IMPLS = [['original', require(ORIGINAL)], ['adapter', require(ADAPTER)]];
const isRoot = process.getuid?.() === 0;

function workspace(t, name) {
  const dir = mkdtempSync(join(tmpdir(), `ll-wfa-parity-${name}-`));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function both(t, body) {
  const out = {};
  for (const [name, impl] of IMPLS) out[name] = await body(impl, workspace(t, name), name);
  return out;
}

const modeOf = (file) => (statSync(file).mode & 0o7777).toString(8);

test('a string mode is octal, as node\'s fs reads it: \'0777\' gives 0777 (async and sync)', async (t) => {
  const seen = await both(t, async (impl, dir) => {
    await impl(join(dir, 'a'), 'x', { mode: '0777' });
    impl.sync(join(dir, 's'), 'x', { mode: '0640' });
    const cb = await new Promise((resolve) => impl(join(dir, 'c'), 'x', { mode: '0600' }, resolve));
    return { async: modeOf(join(dir, 'a')), sync: modeOf(join(dir, 's')), callback: modeOf(join(dir, 'c')), cbArg: cb };
  });
  assert.deepEqual(seen.adapter, seen.original);
  assert.deepEqual(seen.original, { async: '777', sync: '640', callback: '600', cbArg: undefined });
});

test('an error thrown or rejected by tmpfileCreated comes back as that very error, and no temp file stays', async (t) => {
  const seen = await both(t, async (impl, dir) => {
    const file = join(dir, 'f');
    writeFileSync(file, 'old');
    const thrown = new Error('thrown from tmpfileCreated');
    const rejected = Object.assign(new Error('rejected from tmpfileCreated', { cause: Object.assign(new Error('inner'), { code: 'EIO' }) }), { code: 'EMINE' });
    const r = {};
    r.thrown = await impl(file, 'new', { tmpfileCreated: () => { throw thrown; } }).then(() => 'resolved', (err) => err === thrown);
    r.rejected = await impl(file, 'new', { tmpfileCreated: () => Promise.reject(rejected) }).then(() => 'resolved', (err) => err === rejected);
    r.callback = await new Promise((resolve) => impl(file, 'new', { tmpfileCreated: () => { throw thrown; } }, (err) => resolve(err === thrown)));
    try {
      impl.sync(file, 'new', { tmpfileCreated: () => { throw thrown; } });
      r.sync = 'returned';
    } catch (err) {
      r.sync = err === thrown;
    }
    r.content = readFileSync(file, 'utf8');
    r.files = readdirSync(dir);
    return r;
  });
  assert.deepEqual(seen.adapter, seen.original);
  assert.deepEqual(seen.original, { thrown: true, rejected: true, callback: true, sync: true, content: 'old', files: ['f'] });
});

/** A child whose write waits in tmpfileCreated (its temp file on disk) until it is signalled. */
function writerUntilSignal(modulePath, file, { ownHandler }) {
  const script = `
    const writeFileAtomic = require(${JSON.stringify(modulePath)});
    ${ownHandler ? "process.on('SIGTERM', () => process.exit(3));" : ''}
    writeFileAtomic(${JSON.stringify(file)}, 'new', { tmpfileCreated: () => { console.log('tmp'); return new Promise(() => {}); } });
    setInterval(() => {}, 1000);`;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout.on('data', () => child.kill('SIGTERM'));
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', (code, signal) => { clearTimeout(timer); resolve({ code, signal }); });
  });
}

test('a process ended by a signal mid-write removes its temp file, and one that exits from its own handler does too', { timeout: 30_000 }, async (t) => {
  const seen = await both(t, async (impl, dir, name) => {
    const modulePath = name === 'original' ? ORIGINAL : ADAPTER;
    const file = join(dir, 'f');
    writeFileSync(file, 'old');
    const bySignal = await writerUntilSignal(modulePath, file, { ownHandler: false });
    const leftBySignal = readdirSync(dir);
    const byHandler = await writerUntilSignal(modulePath, file, { ownHandler: true });
    return { bySignal, leftBySignal, byHandler, leftByHandler: readdirSync(dir), content: readFileSync(file, 'utf8') };
  });
  assert.deepEqual(seen.adapter, seen.original);
  assert.deepEqual(seen.original, {
    bySignal: { code: null, signal: 'SIGTERM' }, leftBySignal: ['f'],
    byHandler: { code: 3, signal: null }, leftByHandler: ['f'], content: 'old',
  });
});

test('chown and mode as documented, async and sync, beside the original', { skip: !isRoot && 'changing owners needs root' }, async (t) => {
  const seen = await both(t, async (impl, dir) => {
    const file = join(dir, 'f');
    const owner = () => `${statSync(file).uid}:${statSync(file).gid}`;
    const r = {};
    await impl(file, 'a', { chown: { uid: 1234, gid: 2345 }, mode: 0o640 });
    r.given = [owner(), modeOf(file)];
    await impl(file, 'b');
    r.inherited = [owner(), modeOf(file)];
    impl.sync(file, 'c');
    r.inheritedSync = [owner(), modeOf(file)];
    await impl(file, 'd', { chown: false });
    r.chownFalse = [owner(), modeOf(file)];
    return r;
  });
  assert.deepEqual(seen.adapter, seen.original);
  assert.deepEqual(seen.original, { given: ['1234:2345', '640'], inherited: ['1234:2345', '640'], inheritedSync: ['1234:2345', '640'], chownFalse: ['0:0', '640'] });
});

test('chown: false and mode: false over an existing file (a documented difference): the original\'s sync form still copies the old owner and mode, and its async form throws on mode: false; the adapter does what the original\'s README says in both', { skip: !isRoot && 'changing owners needs root' }, async (t) => {
  const seen = await both(t, async (impl, dir) => {
    const file = join(dir, 'f');
    writeFileSync(file, 'old', { mode: 0o640 });
    chownSync(file, 1234, 2345);
    impl.sync(file, 'new', { chown: false, mode: false });
    const sync = [`${statSync(file).uid}:${statSync(file).gid}`, modeOf(file)];
    chownSync(file, 1234, 2345);
    const async = await impl(file, 'newer', { chown: false, mode: false }).then(() => [`${statSync(file).uid}:${statSync(file).gid}`, modeOf(file)], (err) => err.code);
    return { sync, async };
  });
  const writer = `${process.getuid()}:${process.getgid()}`;
  const fresh = (0o666 & ~process.umask()).toString(8);
  assert.deepEqual(seen.original, { sync: ['1234:2345', '640'], async: 'ERR_INVALID_ARG_TYPE' });
  assert.deepEqual(seen.adapter, { sync: [writer, fresh], async: [writer, fresh] });
});

test('a mode string that is not octal is refused before anything is written', async (t) => {
  const dir = workspace(t, 'bad-mode');
  const adapter = IMPLS[1][1];
  const file = join(dir, 'f');
  await assert.rejects(adapter(file, 'x', { mode: 'rw-r--r--' }), { code: 'E_BAD_OPTION' });
  assert.throws(() => adapter.sync(file, 'x', { mode: '9' }), { code: 'E_BAD_OPTION' });
  assert.equal(existsSync(file), false);
  assert.deepEqual(readdirSync(dir), []);
});
