// An append whose ledger lock was taken from it while it wrote is never acknowledged: it fails
// with E_LOCK_COMPROMISED, says which of its ids are on disk, and cuts nothing another writer
// may have appended (README, "Guarantees"). The lock is broken the way a wrong judge would:
// its file removed or replaced while its live holder is inside a slow write.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { engine, telemetryEvents, workspace } from '../fixtures/ledger-helpers.mjs';

const cli = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../dist/cli.js');
const engineJs = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../dist/engine.js');
const SLOW_US = 2_000_000;

function hasStrace() {
  try {
    execFileSync('strace', ['-V'], { stdio: 'ignore' });
    // ptrace may be forbidden (containers without CAP_SYS_PTRACE): try it once.
    execFileSync('strace', ['-f', '-q', '-o', '/dev/null', 'true'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const strace = process.platform === 'linux' && hasStrace();
const noStrace = strace ? false : 'strace with fault injection is not available (install strace; ptrace must be allowed)';

function records(file) {
  return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

function runCli(cwd, args) {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** `ledgerlock ARGS` under strace, with SYSCALLS on the ledger file delayed by SLOW_US each. */
function slowCli(cwd, ledger, syscalls, args) {
  const child = spawn('strace', ['-f', '-q', '-o', '/dev/null', '-P', fs.realpathSync(ledger), '-e', `trace=${syscalls}`, '-e', `inject=${syscalls}:delay_enter=${SLOW_US}`, process.execPath, cli, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, out, err })));
}

async function until(what, check, ms = 15_000) {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The events whose id and payload are exactly these, counted. */
function copies(recs, id, data) {
  return recs.filter((r) => r.id === id && JSON.stringify(r.data) === JSON.stringify(data)).length;
}

function cliWorkspace() {
  const ws = workspace('ll-compromised-');
  const first = runCli(ws.root, ['append', 'events', '--data', '{"who":"setup"}']);
  assert.equal(first.code, 0, first.err);
  assert.equal(first.out.trim(), '1');
  return { ...ws, lock: path.join(ws.store, 'locks', 'events.lock') };
}

test('CLI: an appender whose lock is broken during its slow write exits 1 with E_LOCK_COMPROMISED, prints no id, and does not overwrite the other appender\'s event', { skip: noStrace, timeout: 60_000 }, async () => {
  const ws = cliWorkspace();
  // A's write to the ledger is held for 2 s before it reaches the file.
  const a = slowCli(ws.root, ws.ledger, 'write,pwrite64', ['append', 'events', '--data', '{"who":"A"}']);
  await until('A holds the ledger lock', () => fs.existsSync(ws.lock));
  await sleep(300); // A is inside its delayed write by now (it follows the lock's create within microseconds)
  fs.unlinkSync(ws.lock); // a wrong judge breaks A's live lock
  const b = runCli(ws.root, ['append', 'events', '--data', '{"who":"B"}']);
  assert.equal(b.code, 0, b.err);
  assert.equal(b.out.trim(), '2', 'B took the next id and acknowledged it');

  const ra = await a;
  assert.equal(ra.code, 1, `A must fail: ${ra.out} ${ra.err}`);
  assert.equal(ra.out, '', 'A printed no id');
  assert.match(ra.err, /^ledgerlock: E_LOCK_COMPROMISED: .*id 2 is on disk as written, and another writer's record has the same id/m);

  const recs = records(ws.ledger);
  assert.equal(copies(recs, 1, { who: 'setup' }), 1, 'acknowledged id 1 is on disk once');
  assert.equal(copies(recs, 2, { who: 'B' }), 1, 'B\'s acknowledged id 2 is on disk once, as B wrote it');
  // A's late write landed after B's record, never over it; it stays, unacknowledged, for verify to report.
  assert.deepEqual(recs.map((r) => [r.id, r.data.who]), [[1, 'setup'], [2, 'B'], [2, 'A']]);
  const lost = telemetryEvents(ws.telemetry).filter((e) => e.type === 'LOCK_COMPROMISED');
  assert.equal(lost.length, 1, 'A recorded LOCK_COMPROMISED');
  assert.equal(lost[0].data.lock, ws.lock);
});

test('CLI: an appender whose lock is broken during its slow flush reports its id as on disk but unacknowledged, and the other appender goes after it', { skip: noStrace, timeout: 60_000 }, async () => {
  const ws = cliWorkspace();
  // Batch durability: the record is written, then fdatasync runs under the lock; that flush is held for 2 s.
  const a = slowCli(ws.root, ws.ledger, 'fdatasync', ['append', 'events', '--durability', 'batch', '--data', '{"who":"A"}', '--json']);
  await until('A\'s record is in the file', () => fs.readFileSync(ws.ledger, 'utf8').includes('"who":"A"'));
  await sleep(100);
  fs.unlinkSync(ws.lock);
  const b = runCli(ws.root, ['append', 'events', '--data', '{"who":"B"}']);
  assert.equal(b.code, 0, b.err);
  assert.equal(b.out.trim(), '3', 'B appended after A\'s record');

  const ra = await a;
  assert.equal(ra.code, 1, `A must fail: ${ra.out} ${ra.err}`);
  const doc = JSON.parse(ra.out);
  assert.equal(doc.ok, false);
  assert.equal(doc.ids, undefined, 'A acknowledged no id');
  assert.equal(doc.error.code, 'E_LOCK_COMPROMISED');
  assert.deepEqual(doc.error.details.ids, [2]);
  assert.deepEqual(doc.error.details.onDisk, [{ id: 2, state: 'written' }]);
  assert.equal(doc.error.details.written, true);

  const recs = records(ws.ledger);
  assert.deepEqual(recs.map((r) => [r.id, r.data.who]), [[1, 'setup'], [2, 'A'], [3, 'B']], 'nothing was cut, and every id is on disk once');
  assert.equal(copies(recs, 3, { who: 'B' }), 1);
});

// --- The library API, with the other writer a real child process ---------------------------

/** Appends one event from another process with appendSync; returns its id. */
function appendFromChild(file, data) {
  const script = `const { openLedger } = require(${JSON.stringify(engineJs)});
    openLedger(${JSON.stringify(file)}, { telemetry: false }).then(async (l) => { const e = l.appendSync('other', ${JSON.stringify(data)}); await l.close(); process.stdout.write(String(e.id)); });`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return Number(r.stdout);
}

/**
 * The ledger's writes (sync and async) can be preceded, once, by `before()`: what another
 * process or a wrong judge does while our write is on its way. With `failWith`, half the batch
 * reaches the file and the write then fails as on a full disk.
 */
function hookLedgerWrites(ledgerPath) {
  let armed = null;
  const fire = () => {
    const now = armed;
    armed = null;
    now?.before();
    return now;
  };
  const hooked = (p, file) => {
    if (p !== ledgerPath) return file;
    const fail = (buffer, offset, length) => {
      file.writeSync(buffer, offset, Math.floor(length / 2), null);
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
    };
    return Object.assign(Object.create(Object.getPrototypeOf(file)), file, {
      async write(buffer, offset, length, position) {
        if (fire()?.failWith) fail(buffer, offset, length);
        return file.write(buffer, offset, length, position);
      },
      writeSync(buffer, offset, length, position) {
        if (fire()?.failWith) fail(buffer, offset, length);
        return file.writeSync(buffer, offset, length, position);
      },
    });
  };
  const restore = engine.useFileSystem({
    ...engine.nodeFileSystem,
    async open(p, flags, mode, options) { return hooked(p, await engine.nodeFileSystem.open(p, flags, mode, options)); },
    openSync(p, flags, mode, options) { return hooked(p, engine.nodeFileSystem.openSync(p, flags, mode, options)); },
  });
  return { arm: (before, failWith) => { armed = { before, failWith }; }, restore };
}

/** Replaces the lock file with one naming another owner (same bytes otherwise), by rename. */
function replaceLock(lockPath) {
  const content = fs.readFileSync(lockPath, 'utf8').replace(/"owner":"[0-9a-f]+"/, '"owner":"0000000000000000deadbeef"');
  fs.writeFileSync(`${lockPath}.new`, content);
  fs.renameSync(`${lockPath}.new`, lockPath);
}

/** A ledger holding event 1, its writes hooked; `done()` closes it and removes the hook. */
async function libraryLedger(mode, t) {
  const ws = workspace('ll-compromised-lib-');
  fs.mkdirSync(path.dirname(ws.ledger), { recursive: true });
  const hook = hookLedgerWrites(ws.ledger);
  const ledger = await engine.openLedger(ws.ledger, { durability: mode });
  const lock = path.join(ws.store, 'locks', 'events.lock');
  t.after(async () => {
    fs.rmSync(lock, { force: true }); // a replacement naming someone else is left behind by design
    await ledger.close();
    hook.restore();
  });
  await ledger.append('setup', { n: 1 });
  await new Promise((r) => setImmediate(r)); // the lingering lock is let go
  return { ws, ledger, lock, arm: hook.arm };
}

function expectCompromised(err, onDisk) {
  assert.equal(err.code, 'E_LOCK_COMPROMISED', err.stack);
  assert.deepEqual(err.details.onDisk, onDisk);
  return true;
}

for (const mode of ['fsync', 'batch', 'none']) {
  test(`append (${mode}) rejects with E_LOCK_COMPROMISED when the lock file is replaced under its write; the record stays, unacknowledged`, async (t) => {
    const { ws, ledger, lock, arm } = await libraryLedger(mode, t);
    arm(() => replaceLock(lock));
    await assert.rejects(ledger.append('mine', { n: 2 }), (err) => expectCompromised(err, [{ id: 2, state: 'written' }]));
    assert.deepEqual(records(ws.ledger).map((r) => r.id), [1, 2], 'nothing was cut');
    const lost = telemetryEvents(ws.telemetry).filter((e) => e.type === 'LOCK_COMPROMISED');
    assert.equal(lost.length, 1, 'LOCK_COMPROMISED is recorded before the append rejects');
    assert.match(lost[0].data.reason, /replaced/);
  });
}

test('append: a lock broken under the write while another process appends: rejected, and the other process\'s event is not overwritten', async (t) => {
  const { ws, ledger, lock, arm } = await libraryLedger('fsync', t);
  let theirs;
  arm(() => {
    fs.unlinkSync(lock);
    theirs = appendFromChild(ws.ledger, { who: 'other' });
  });
  await assert.rejects(ledger.append('mine', { who: 'me' }), (err) => expectCompromised(err, [{ id: 2, state: 'written-id-duplicated' }]));
  assert.equal(theirs, 2);
  const recs = records(ws.ledger);
  assert.equal(copies(recs, 2, { who: 'other' }), 1, 'the other process\'s acknowledged event is on disk once');
  assert.deepEqual(recs.map((r) => r.id), [1, 2, 2]);
});

for (const [how, replace] of [
  ['by a lock naming another owner', replaceLock],
  ['even by a byte-identical copy (another inode)', (p) => { fs.copyFileSync(p, `${p}.copy`); fs.renameSync(`${p}.copy`, p); }],
]) {
  test(`appendSync throws E_LOCK_COMPROMISED when the lock file is replaced under its write, ${how}`, async (t) => {
    const { ws, ledger, lock, arm } = await libraryLedger('fsync', t);
    arm(() => replace(lock));
    assert.throws(() => ledger.appendSync('mine', { n: 2 }), (err) => expectCompromised(err, [{ id: 2, state: 'written' }]));
    assert.deepEqual(records(ws.ledger).map((r) => r.id), [1, 2]);
  });
}

test('appendManySync: every id of the batch is reported, and a later append reads the file afresh', async (t) => {
  const { ws, ledger, lock, arm } = await libraryLedger('fsync', t);
  arm(() => {
    fs.unlinkSync(lock);
    appendFromChild(ws.ledger, { who: 'other' });
  });
  assert.throws(() => ledger.appendManySync([{ type: 'a', data: 1 }, { type: 'b', data: 2 }]), (err) => {
    expectCompromised(err, [{ id: 2, state: 'written-id-duplicated' }, { id: 3, state: 'written' }]);
    assert.deepEqual(err.details.ids, [2, 3]);
    assert.match(err.message, /id 2 is on disk as written, and another writer's record has the same id, id 3 is on disk as written/);
    return true;
  });
  // The next append takes the lock afresh and goes after what is there now.
  assert.equal(ledger.appendSync('after', {}).id, 4);
  assert.deepEqual(records(ws.ledger).map((r) => r.id), [1, 2, 2, 3, 4]);
});

test('appendSync never writes under a lingering lock that was taken away since the last append', async (t) => {
  const { ws, ledger, lock } = await libraryLedger('fsync', t);
  // Same tick: the first append's lock lingers for the next one.
  assert.equal(ledger.appendSync('mine', { n: 2 }).id, 2);
  fs.unlinkSync(lock);
  assert.equal(appendFromChild(ws.ledger, { who: 'other' }), 3);
  assert.equal(ledger.appendSync('mine', { n: 4 }).id, 4, 'the lock was taken afresh and the file read again');
  const recs = records(ws.ledger);
  assert.deepEqual(recs.map((r) => r.id), [1, 2, 3, 4]);
  assert.equal(copies(recs, 3, { who: 'other' }), 1);
  await until('the lost lingering lock is recorded', () => telemetryEvents(ws.telemetry).some((e) => e.type === 'LOCK_COMPROMISED'));
});

test('a failed write under a lost lock cuts nothing: the other process\'s record after ours stays', async (t) => {
  const { ws, ledger, lock, arm } = await libraryLedger('fsync', t);
  arm(() => {
    fs.unlinkSync(lock);
    appendFromChild(ws.ledger, { who: 'other' });
  }, 'ENOSPC');
  assert.throws(() => ledger.appendSync('mine', { who: 'me' }), (err) => {
    expectCompromised(err, [{ id: 2, state: 'taken-by-another' }]);
    assert.equal(err.details.errno, 'ENOSPC');
    assert.equal(err.details.written, false);
    return true;
  });
  const text = fs.readFileSync(ws.ledger, 'utf8');
  const lines = text.split('\n');
  assert.deepEqual(lines.slice(0, 2).map((l) => JSON.parse(l).data), [{ n: 1 }, { who: 'other' }], 'the other process\'s record was not cut');
  assert.ok(lines[2].length > 0 && !text.endsWith('\n'), 'our half-written record is left as a torn tail for repair');
});
