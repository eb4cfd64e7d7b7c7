// Each known producer's locks judged by that tool's own rules, after the producer was SIGKILLed
// at random points: Ledgerlock's verdict, one repair (or reap), then the tool's own reader and
// its own next lock acquisition. Producers: faithful re-implementations of HardKAS, remnic and
// authmux (test/fixtures/tool-writers.mjs), the real claude-flow EventStore (npm package) and
// the real proper-lockfile and git.
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import fc from 'fast-check';
import { engine, exited, FIXTURES, rejectsWithCode, setAge, tempDir, writeLock, deadPid } from '../fixtures/lock-helpers.mjs';
import { LAYOUT, readAsTool, toolCanLock } from '../fixtures/tool-writers.mjs';

const require = createRequire(import.meta.url);
const { inspectLock, reapLock, openLedger, onTelemetry, PROFILE_IDS } = engine;
const ROOT = new URL('../../', import.meta.url).pathname;
const linux = process.platform === 'linux';

/** Starts a producer and kills it with SIGKILL: once it printed "torn", or after `afterMs`. */
async function runAndKill(args, { tear = false, afterMs = 100, afterFirstAck = false } = {}) {
  const child = spawn(process.execPath, [...args, ...(tear ? ['--tear'] : [])], { stdio: ['ignore', 'pipe', 'pipe'] });
  const acked = [];
  let buffered = '';
  let stderr = '';
  let sawTorn;
  let sawAck;
  const torn = new Promise((resolve) => (sawTorn = resolve));
  const firstAck = new Promise((resolve) => (sawAck = resolve));
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (c) => (stderr += c));
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk) => {
    buffered += chunk;
    let at;
    while ((at = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, at);
      buffered = buffered.slice(at + 1);
      if (line === 'torn') sawTorn();
      else if (/^\d+$/.test(line)) {
        acked.push(Number(line));
        sawAck();
      }
    }
  });
  const ended = exited(child);
  if (tear) await Promise.race([torn, ended.then(() => { throw new Error(`producer exited before tearing: ${stderr}`); })]);
  else {
    // A loaded machine starts processes slowly: count the time from the producer's first append.
    if (afterFirstAck) await Promise.race([firstAck, ended]);
    await Promise.race([new Promise((r) => setTimeout(r, afterMs)), ended]);
  }
  child.kill('SIGKILL');
  await ended;
  if (child.exitCode !== null && child.exitCode !== 0) throw new Error(`producer failed: ${stderr}`);
  return { acked, pid: child.pid };
}

function recordTelemetry(t) {
  const events = [];
  const off = onTelemetry((e) => events.push(e));
  t.after(off);
  return events;
}

function ascending(ids) {
  for (let i = 1; i < ids.length; i++) if (ids[i] <= ids[i - 1]) return false;
  return true;
}

for (const tool of ['hardkas', 'remnic']) {
  test(`${tool}: killed mid-append at random points, its lock is stale at once and one repair lets it go on with nothing acknowledged lost`, { skip: !linux && 'Linux /proc' }, async (t) => {
    const ws = tempDir(t, `ll-${tool}-`);
    const ledgerPath = join(ws, LAYOUT[tool].ledger);
    const lockPath = join(ws, LAYOUT[tool].lock);
    const telemetry = recordTelemetry(t);
    const acked = [];
    for (let round = 0; round < 5; round++) {
      const run = await runAndKill([join(FIXTURES, 'tool-writers.mjs'), tool, ws], { tear: round === 0 || round === 3, afterFirstAck: round > 0, afterMs: Math.floor(Math.random() * 200) });
      acked.push(...run.acked);
      if (existsSync(lockPath)) {
        const info = await inspectLock(lockPath);
        assert.equal(info.profile, tool);
        assert.equal(info.guards, ledgerPath);
        if (info.bytes === 0) {
          // Killed between its exclusive create and its write: by the tool's own rule the lock
          // is given a short grace (HardKAS: 2 s; an unknown writer's empty file: 10 s) before it
          // counts as abandoned. Let that time pass.
          assert.ok(['held', 'stale'].includes(info.state), info.reason);
          setAge(lockPath, 11_000);
          assert.equal((await inspectLock(lockPath)).state, 'stale');
        } else {
          assert.equal(info.state, 'stale', info.reason);
          assert.equal(info.reapable, true);
          assert.match(info.reason, new RegExp(`pid ${run.pid} is no longer running`));
        }
      }
      // The one action: repair, under the tool's own lock (reaped first when stale).
      const ledger = await openLedger(ledgerPath, { create: false, lockTimeoutMs: 15_000 });
      try {
        await ledger.repair();
        assert.equal((await ledger.verify()).health, 'ok');
      } finally {
        await ledger.close();
      }
      assert.equal(existsSync(lockPath), false, 'no lock left behind');
      const ids = readAsTool(tool, ws);
      for (const id of acked) assert.ok(ids.includes(id), `acknowledged ${id} is in the ledger`);
      assert.ok(ascending(ids));
      assert.equal(toolCanLock(tool, ws), true);
    }
    const reaps = telemetry.filter((e) => e.type === 'STALE_LOCK_RECOVERY' && e.data.lock === lockPath);
    assert.ok(reaps.length >= 2, 'the torn rounds left a lock that repair reaped, recorded as STALE_LOCK_RECOVERY');
  });
}

test('remnic: an empty <ledger>.lock (created, not yet written) is remnic\'s; held while its creator has it open, stale once nobody does and the grace passed', { skip: !linux && 'Linux /proc' }, async (t) => {
  const ws = tempDir(t, 'll-remnic-empty-');
  const ledgerPath = join(ws, LAYOUT.remnic.ledger);
  const lockPath = join(ws, LAYOUT.remnic.lock);
  mkdirSync(join(ws, '.remnic', 'state'), { recursive: true });
  writeFileSync(ledgerPath, '');
  // A live process between its exclusive create and its write: the open handle is the witness.
  const holder = spawn(process.execPath, ['-e', `require('fs').openSync(${JSON.stringify(lockPath)}, 'wx'); console.log('open'); setInterval(() => {}, 1000)`], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => holder.kill('SIGKILL'));
  await new Promise((resolve) => holder.stdout.on('data', (c) => String(c).includes('open') && resolve()));
  setAge(lockPath, 60_000);
  let info = await inspectLock(lockPath);
  assert.equal(info.profile, 'remnic');
  assert.equal(info.guards, ledgerPath);
  assert.equal(info.state, 'held', info.reason);
  assert.equal(info.holder?.pid ?? info.evidence.find((e) => e.kind === 'open')?.pid, holder.pid);
  holder.kill('SIGKILL');
  await exited(holder);
  // Nobody has it open now; within the grace an exclusive creator may still be about to write.
  setAge(lockPath, 0);
  assert.equal((await inspectLock(lockPath)).state, 'held');
  setAge(lockPath, 11_000);
  info = await inspectLock(lockPath);
  assert.equal(info.profile, 'remnic');
  assert.equal(info.state, 'stale', info.reason);
  // Still stale (not merely orphaned) long past remnic's own 30 s window.
  setAge(lockPath, 120_000);
  assert.equal((await inspectLock(lockPath)).state, 'stale');
});

test('HardKAS: repair refuses while a live HardKAS writer holds its append lock, and cuts nothing', { skip: !linux && 'Linux /proc' }, async (t) => {
  const ws = tempDir(t, 'll-hardkas-live-');
  const writer = spawn(process.execPath, [join(FIXTURES, 'tool-writers.mjs'), 'hardkas', ws, '--tear'], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => writer.kill('SIGKILL'));
  await new Promise((resolve) => writer.stdout.on('data', (c) => String(c).includes('torn') && resolve()));
  const ledgerPath = join(ws, LAYOUT.hardkas.ledger);
  const before = readFileSync(ledgerPath);
  const info = await inspectLock(join(ws, LAYOUT.hardkas.lock));
  assert.equal(info.state, 'held');
  assert.equal(info.holder.pid, writer.pid);
  const ledger = await openLedger(ledgerPath, { create: false, lockTimeoutMs: 300 });
  try {
    const err = await rejectsWithCode(ledger.repair(), 'E_LOCK_LIVE_HOLDER');
    assert.match(err.message, new RegExp(`pid ${writer.pid}`));
  } finally {
    await ledger.close();
  }
  assert.deepEqual(readFileSync(ledgerPath), before, 'the live writer\'s bytes are untouched');
  assert.ok(existsSync(join(ws, LAYOUT.hardkas.lock)));
});

test('authmux: a killed holder of registry.json.lock is stale at once; reaping it lets authmux lock again', { skip: !linux && 'Linux /proc' }, async (t) => {
  const ws = tempDir(t, 'll-authmux-');
  const lockPath = join(ws, LAYOUT.authmux.lock);
  for (let round = 0; round < 4; round++) {
    const run = await runAndKill([join(FIXTURES, 'tool-writers.mjs'), 'authmux', ws], { tear: round === 0, afterMs: 30 + Math.floor(Math.random() * 150) });
    if (existsSync(lockPath)) {
      let info = await inspectLock(lockPath);
      assert.equal(info.profile, 'authmux');
      assert.equal(info.guards, join(ws, LAYOUT.authmux.file));
      if (info.bytes === 0) {
        // Killed between its exclusive create and its write: no pid to check, so authmux's own
        // 30 s rule decides. Let that time pass.
        assert.equal(info.state, 'held', info.reason);
        setAge(lockPath, 31_000);
        info = await inspectLock(lockPath);
      } else {
        assert.equal(info.holder.pid, run.pid);
      }
      assert.equal(info.state, 'stale', info.reason);
      assert.equal((await reapLock(lockPath)).reaped, true);
    }
    if (existsSync(join(ws, LAYOUT.authmux.file))) assert.ok(readAsTool('authmux', ws).accounts);
    assert.equal(toolCanLock('authmux', ws), true);
  }
});

// ---- claude-flow: the real package -----------------------------------------------------------

const CLAUDE_FLOW = '@claude-flow/guidance@3.0.0-alpha.3';

/** The package's own persistence module, unpacked from its npm tarball (its dependencies are not needed for it). */
function claudeFlowPersistence() {
  const dir = join(ROOT, '.cache', 'npm-packs', 'claude-flow-guidance');
  const module = join(dir, 'package', 'dist', 'persistence.js');
  if (existsSync(module)) return module;
  try {
    mkdirSync(dir, { recursive: true });
    const name = execFileSync('npm', ['pack', CLAUDE_FLOW, '--silent', '--pack-destination', dir], { encoding: 'utf8', timeout: 120_000 }).trim().split('\n').pop();
    execFileSync('tar', ['-xzf', join(dir, name), '-C', dir]);
    writeFileSync(join(dir, 'package', 'dist', 'package.json'), '{"type":"module"}');
    return existsSync(module) ? module : undefined;
  } catch {
    rmSync(dir, { recursive: true, force: true });
    return undefined;
  }
}

const persistence = linux ? claudeFlowPersistence() : undefined;

test('claude-flow (real EventStore): killed holding its .lock with a torn line, one repair lets it read every event and lock again', { skip: !persistence && `${CLAUDE_FLOW} could not be fetched from the npm registry` }, async (t) => {
  const ws = tempDir(t, 'll-claude-flow-');
  const storage = join(ws, '.claude-flow', 'guidance');
  const eventsPath = join(storage, 'events.ndjson');
  const lockPath = join(storage, '.lock');
  const { EventStore } = await import(pathToFileURL(persistence).href);
  const acked = [];
  for (let round = 0; round < 6; round++) {
    const tear = round % 2 === 1;
    const run = await runAndKill([join(FIXTURES, 'claude-flow.mjs'), persistence, storage], tear ? { tear } : { afterFirstAck: true, afterMs: Math.floor(Math.random() * 200) });
    acked.push(...run.acked);
    if (!tear) assert.ok(acked.length > 0, 'claude-flow acknowledged events before it was killed');
    if (existsSync(lockPath)) {
      const info = await inspectLock(lockPath);
      assert.equal(info.profile, 'claude-flow');
      assert.equal(info.guards, eventsPath);
      if (info.holder === null) {
        // Killed inside its writeFile of the lock: claude-flow's own rule gives that 2 s.
        assert.ok(['held', 'stale'].includes(info.state), info.reason);
        setAge(lockPath, 3_000);
        assert.equal((await inspectLock(lockPath)).state, 'stale');
      } else {
        assert.equal(info.state, 'stale', info.reason);
        assert.match(info.reason, new RegExp(`pid ${run.pid}`));
      }
    } else {
      assert.ok(!tear, 'a torn append leaves its lock');
    }
    // The one action.
    const ledger = await openLedger(eventsPath, { create: false, lockTimeoutMs: 15_000 });
    try {
      const result = await ledger.repair();
      if (tear) assert.equal(result.repaired, true);
    } finally {
      await ledger.close();
    }
    assert.equal(existsSync(lockPath), false);
    const store = new EventStore(storage);
    const seqs = (await store.readAll()).map((e) => e.seq);
    for (const seq of acked) assert.ok(seqs.includes(seq), `acknowledged event ${seq} is read back by claude-flow`);
    assert.ok(readFileSync(eventsPath, 'utf8').endsWith('\n'), 'the next append starts on a new line');
    await store.acquireLock(); // its own acquisition: refuses while a lock younger than 30 s is there
    await store.releaseLock();
  }
});

// ---- proper-lockfile: the real library ----------------------------------------------------------

test('proper-lockfile (real): a killed holder\'s directory lock is held while fresh, stale past its 10 s window, then reaped and taken again', { skip: !linux && 'Linux' }, async (t) => {
  const dir = tempDir(t, 'll-plf-');
  const file = join(dir, 'registry.json');
  writeFileSync(file, '{}');
  const child = spawn(process.execPath, ['-e', `require(${JSON.stringify(require.resolve('proper-lockfile'))}).lock(${JSON.stringify(file)}, { stale: 10000 }).then(() => { console.log('locked'); setInterval(() => {}, 60000); })`], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => child.kill('SIGKILL'));
  await new Promise((resolve) => child.stdout.on('data', (c) => String(c).includes('locked') && resolve()));
  const lockDir = `${file}.lock`;
  const live = await inspectLock(lockDir);
  assert.equal(live.profile, 'proper-lockfile');
  assert.equal(live.state, 'held');
  assert.equal(live.guards, file);
  await rejectsWithCode(reapLock(lockDir), 'E_LOCK_NOT_STALE');
  child.kill('SIGKILL');
  await exited(child);
  setAge(lockDir, 11_000); // the holder's 5 s refresh stopped: 11 s later
  const dead = await inspectLock(lockDir);
  assert.equal(dead.state, 'stale', dead.reason);
  assert.match(dead.reason, /proper-lockfile/);
  assert.equal((await reapLock(lockDir)).reaped, true);
  const release = await require('proper-lockfile').lock(file, { stale: 10_000 });
  await release();
});

test("proper-lockfile through Ledgerlock's adapter: the holder record beside the directory names the holder, so a killed one is stale at once", { skip: !linux && 'Linux' }, async (t) => {
  const dir = tempDir(t, 'll-plf-adapter-');
  const file = join(dir, 'registry.json');
  writeFileSync(file, '{}');
  const adapter = join(ROOT, 'dist', 'compat', 'proper-lockfile.js');
  const child = spawn(process.execPath, ['-e', `require(${JSON.stringify(adapter)}).lock(${JSON.stringify(file)}).then(() => { console.log('locked'); setInterval(() => {}, 60000); })`], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => child.kill('SIGKILL'));
  await new Promise((resolve) => child.stdout.on('data', (c) => String(c).includes('locked') && resolve()));
  const lockDir = `${file}.lock`;
  setAge(lockDir, 60_000); // an old mtime does not make a live holder stale
  const live = await inspectLock(lockDir);
  assert.equal(live.profile, 'proper-lockfile');
  assert.equal(live.state, 'held', live.reason);
  assert.equal(live.holder.pid, child.pid);
  await rejectsWithCode(reapLock(lockDir), 'E_LOCK_LIVE_HOLDER');
  child.kill('SIGKILL');
  await exited(child);
  setAge(lockDir, 1_000); // fresh by the original's mtime rule, but its holder is gone
  const dead = await inspectLock(lockDir);
  assert.equal(dead.state, 'stale', dead.reason);
  assert.match(dead.reason, new RegExp(`pid ${child.pid} is no longer running`));
  assert.ok(existsSync(`${lockDir}.holder`));
  assert.equal((await reapLock(lockDir)).reaped, true);
  assert.equal(existsSync(`${lockDir}.holder`), false, 'the dead holder\'s record goes with its directory');
  assert.deepEqual(readdirSync(dir).sort(), ['registry.json']);
  // The adapter takes the lock again at once.
  const again = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(adapter)}).lock(${JSON.stringify(file)}).then((release) => release()).then(() => console.log('ok'))`], { encoding: 'utf8' });
  assert.equal(again.stdout.trim(), 'ok', again.stderr);
});

// ---- git ------------------------------------------------------------------------------------------

const hasGit = (() => { try { execFileSync('git', ['--version'], { stdio: 'ignore' }); return true; } catch { return false; } })();

function gitRepo(t) {
  const repo = tempDir(t, 'll-git-');
  const git = (...args) => execFileSync('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=t', ...args], { cwd: repo, stdio: 'pipe' });
  git('init', '-q');
  writeFileSync(join(repo, 'a.txt'), 'a\n');
  git('add', 'a.txt');
  git('commit', '-qm', 'first');
  return { repo, git };
}

test("git: a crashed git's index.lock is stale once no git process works in the repository; reaped, git works again", { skip: !(linux && hasGit) && 'Linux and git' }, async (t) => {
  const { repo, git } = gitRepo(t);
  const lock = join(repo, '.git', 'index.lock');
  writeFileSync(lock, Buffer.from('DIRC\u0000\u0000\u0000\u0002partial index'));
  setAge(lock, 60_000);
  const info = await inspectLock(lock);
  assert.equal(info.profile, 'git');
  assert.equal(info.state, 'stale', info.reason);
  assert.equal(info.guards, join(repo, '.git', 'index'));
  assert.throws(() => git('add', 'a.txt'), /index\.lock/);
  assert.equal((await reapLock(lock)).reaped, true);
  writeFileSync(join(repo, 'a.txt'), 'b\n');
  git('add', 'a.txt');
});

test('git: index.lock during `git commit` waiting on its editor is held by that git process, never reaped', { skip: !(linux && hasGit) && 'Linux and git' }, async (t) => {
  const { repo } = gitRepo(t);
  writeFileSync(join(repo, 'a.txt'), 'changed\n');
  const lock = join(repo, '.git', 'index.lock');
  // `commit -a` keeps index.lock (closed) for the whole editor session.
  const commit = spawn('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=t', 'commit', '-a'], { cwd: repo, env: { ...process.env, GIT_EDITOR: 'sleep 120; true' }, stdio: 'ignore', detached: true });
  t.after(() => { try { process.kill(-commit.pid, 'SIGKILL'); } catch { /* gone */ } });
  const deadline = Date.now() + 10_000;
  while (!existsSync(lock) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.ok(existsSync(lock), 'git commit holds index.lock while its editor runs');
  setAge(lock, 60_000);
  const info = await inspectLock(lock);
  assert.equal(info.state, 'held', info.reason);
  assert.equal(info.reapable, false);
  assert.match(info.reason, /git/);
  await assert.rejects(reapLock(lock), (err) => ['E_LOCK_LIVE_HOLDER', 'E_LOCK_NOT_STALE'].includes(err.code));
  assert.ok(existsSync(lock));
});

// ---- checkstack keeps no lock files -----------------------------------------------------------

test('checkstack: its election is a database advisory lock, so nothing in its folder is shown as a lock', async (t) => {
  const ws = tempDir(t, 'll-checkstack-');
  mkdirSync(join(ws, 'blobs', 'sha256', 'ab'), { recursive: true });
  writeFileSync(join(ws, 'blobs', 'sha256', 'ab', 'cdef'), 'blob');
  writeFileSync(join(ws, 'bun.lock'), '{}');
  writeFileSync(join(ws, 'migration-state.json'), '{"status":"migrating"}');
  assert.deepEqual(await engine.listLocks(ws), []);
});

// ---- every profile's reading of arbitrary content ---------------------------------------------

test('fast-check: every profile reads arbitrary lock content without throwing, and the same input gets the same verdict', async (t) => {
  const dir = tempDir(t, 'll-fc-profiles-');
  const places = [
    join(dir, '.hardkas', 'locks', 'append-events.jsonl.lock'),
    join(dir, '.claude-flow', 'guidance', '.lock'),
    join(dir, '.authmux', 'registry.json.lock'),
    join(dir, 'state', 'ledger.jsonl.lock'),
    join(dir, '.git', 'index.lock'),
    join(dir, 'plain.lock'),
  ];
  for (const p of places) mkdirSync(join(p, '..'), { recursive: true });
  const dead = await deadPid();
  const pid = fc.constantFrom(process.pid, dead, 0, -1, 2 ** 31, 1.5);
  const time = fc.oneof(fc.integer({ min: 0, max: 2 ** 42 }), fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), fc.string());
  const content = fc.oneof(
    fc.record({ schema: fc.constantFrom('hardkas.lock.v1', 'other'), name: fc.string(), pid, command: fc.string(), hostname: fc.constantFrom('elsewhere', require('node:os').hostname()), createdAt: time }, { requiredKeys: [] }).map((o) => JSON.stringify(o)),
    fc.record({ holder: fc.uuid(), timestamp: time, pid }, { requiredKeys: [] }).map((o) => JSON.stringify(o)),
    fc.record({ pid, at: time }, { requiredKeys: [] }).map((o) => JSON.stringify(o)),
    fc.tuple(pid, fc.uuid(), time).map(([p, u, at]) => `${p} ${u} ${at}`),
    fc.string(),
    fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
  );
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...places), content, fc.integer({ min: 0, max: 3_600_000 }), async (place, bytes, ageMs) => {
      writeLock(place, bytes, { ageMs });
      const now = Date.now();
      const a = await inspectLock(place, { now });
      const b = await inspectLock(place, { now });
      assert.ok(PROFILE_IDS.includes(a.profile));
      assert.equal(a.state, b.state);
      assert.equal(a.reason, b.reason);
      assert.equal(a.profile, b.profile);
      if (a.reapable) assert.notEqual(a.alive, true, 'nothing with a live holder is reapable');
    }),
    { numRuns: 150 },
  );
});
