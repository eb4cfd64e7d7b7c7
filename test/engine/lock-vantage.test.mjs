// A verdict from absence ("not running", "no kernel lock", "nobody has it open", "no git process")
// holds only where the judge sees every process that could hold the lock. These tests put the
// judge and the holder on opposite sides of a real pid namespace (a Dev Container's shape: one
// kernel, one file system, separate process tables), with and without a hostname of its own,
// and behind another uid; every live holder must survive, and every `unknown` must say why.
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { engine, FIXTURES, setAge, tempDir, writeLock } from '../fixtures/lock-helpers.mjs';
import {
  CLI,
  exitOf,
  judgeInNamespace,
  killGroup,
  namespacesUnavailable,
  nativeHolderInNamespace,
  runInNamespace,
  startInNamespace,
  until,
} from '../fixtures/namespace.mjs';

const { inspectLock, reapLock } = engine;
const HOUR = 3_600_000;
const noNamespaces = namespacesUnavailable();
if (noNamespaces) console.log(`# skipping namespace cases: ${noNamespaces}`);
const SIDES = [{ name: 'same hostname' }, { name: 'its own hostname', hostname: 'devcontainer-test' }];

/** A host process kept for the test, in its own process group. */
function startHost(t, cmd, args, options = {}) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'], detached: true, ...options });
  t.after(() => killGroup(child));
  return child;
}

function flockHeldElsewhere(file) {
  return spawnSync('flock', ['-n', '-E', '75', file, 'true']).status === 75;
}

function assertNotBreakable(info, what) {
  assert.notEqual(info.state, 'stale', `${what}: ${info.reason}`);
  assert.notEqual(info.state, 'orphaned', `${what}: ${info.reason}`);
  assert.equal(info.reapable, false, `${what}: ${info.reason}`);
}

for (const side of SIDES) {
  test(
    `from inside a container (${side.name}): a zero-byte lock held by a host flock(1) is held, and reap cannot remove it`,
    { skip: noNamespaces },
    async (t) => {
      const dir = tempDir(t);
      const lock = join(dir, 'zero.lock');
      writeFileSync(lock, '');
      setAge(lock, HOUR);
      startHost(t, 'flock', [lock, 'sleep', '600']);
      await until(() => flockHeldElsewhere(lock), 'the host flock');
      const inode = statSync(lock).ino;
      const seen = judgeInNamespace('inspect', lock, side);
      assertNotBreakable(seen.value, 'flock-held zero.lock');
      const reaped = judgeInNamespace('reap', lock, side);
      assert.equal(reaped.ok, false, 'reap refused');
      assert.equal(statSync(lock).ino, inode, 'the file the host locked is still the lock');
      assert.ok(flockHeldElsewhere(lock), 'no second holder can take the flock');
    },
  );

  test(
    `from inside a container (${side.name}): an empty lock a host process holds open is unknown, with the reason, and never reaped`,
    { skip: noNamespaces },
    async (t) => {
      const dir = tempDir(t);
      const lock = join(dir, 'open.lock');
      writeFileSync(lock, '');
      setAge(lock, HOUR);
      startHost(t, 'sh', ['-c', 'exec 3<"$0"; exec sleep 600', lock]);
      await until(() => engine.collectOsEvidence([lock]).openers({ dev: statSync(lock).dev, ino: statSync(lock).ino }).length > 0, 'the host opener');
      const { value } = judgeInNamespace('inspect', lock, side);
      assert.equal(value.state, 'unknown', value.reason);
      assert.match(value.reason, /cannot tell from here|own pid namespace/);
      assert.ok(
        value.evidence.some((e) => e.kind === 'vantage'),
        'the evidence says what could not be seen',
      );
      assert.equal(judgeInNamespace('reap', lock, side).ok, false);
      assert.equal(judgeInNamespace('reap', lock, { ...side, reap: { force: true } }).ok, false, 'force does not break an unknown lock');
      assert.ok(existsSync(lock));
    },
  );

  test(
    `from inside a container (${side.name}): an authmux {pid, at} lock of a live host process is unknown, never stale`,
    { skip: noNamespaces },
    async (t) => {
      const dir = tempDir(t);
      const lock = join(dir, 'registry.json.lock');
      const holder = startHost(t, 'sleep', ['600']);
      writeLock(lock, JSON.stringify({ pid: holder.pid, at: Date.now() - 5 * 60_000 }), { ageMs: 5 * 60_000 });
      const { value } = judgeInNamespace('inspect', lock, side);
      assert.equal(value.profile, 'authmux');
      assert.equal(value.state, 'unknown', value.reason);
      assert.match(value.reason, new RegExp(`pid ${holder.pid}.*outside this container`, 'i'));
      assert.equal(judgeInNamespace('reap', lock, side).ok, false);
      assert.ok(existsSync(lock));
    },
  );

  test(
    `from inside a container (${side.name}): git's index.lock during a host \`git commit -a\` waiting on its editor is unknown, never reaped`,
    { skip: noNamespaces },
    async (t) => {
      const repo = tempDir(t);
      const git = (...args) =>
        execFileSync('git', ['-C', repo, ...args], {
          stdio: 'ignore',
          env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' },
        });
      git('init', '-q');
      writeFileSync(join(repo, 'a.txt'), 'one\n');
      git('add', 'a.txt');
      git('commit', '-qm', 'one');
      writeFileSync(join(repo, 'a.txt'), 'two\n');
      const lock = join(repo, '.git', 'index.lock');
      startHost(t, 'git', ['-C', repo, 'commit', '-a'], {
        env: {
          ...process.env,
          GIT_EDITOR: 'sleep 600; true',
          GIT_AUTHOR_NAME: 't',
          GIT_AUTHOR_EMAIL: 't@t',
          GIT_COMMITTER_NAME: 't',
          GIT_COMMITTER_EMAIL: 't@t',
        },
      });
      await until(() => existsSync(lock), 'git to take index.lock');
      setAge(lock, HOUR);
      const { value } = judgeInNamespace('inspect', lock, side);
      assert.equal(value.profile, 'git');
      assert.equal(value.state, 'unknown', value.reason);
      assert.match(value.reason, /outside its view/);
      assert.equal(judgeInNamespace('reap', lock, side).ok, false);
      assert.ok(existsSync(lock));
    },
  );

  test(
    `from inside a container (${side.name}): Ledgerlock's own \`lock build -- sleep\` on the host is held; a second \`lock build\` inside waits and times out`,
    { skip: noNamespaces },
    async (t) => {
      const dir = tempDir(t);
      const wrapper = startHost(t, process.execPath, [CLI, 'lock', 'build', '--', 'sleep', '600'], { cwd: dir });
      const lock = join(dir, '.ledgerlock', 'locks', 'build.lock');
      await until(() => existsSync(lock) && statSync(lock).size > 0, 'the host lock');
      const { value } = judgeInNamespace('inspect', lock, side);
      assert.equal(value.state, 'held', value.reason);
      assert.equal(judgeInNamespace('reap', lock, side).ok, false);
      const second = runInNamespace([process.execPath, CLI, 'lock', 'build', '--timeout', '1500', '--', 'true'], { ...side, cwd: dir });
      assert.equal(second.status, 3, `a second holder must not run beside the first: ${second.stdout}${second.stderr}`);
      assert.equal(wrapper.exitCode, null);
    },
  );

  test(
    `from the host: a Ledgerlock lock held inside a namespace (${side.name}) is held (found through the namespace), and a host \`lock\` waits`,
    { skip: noNamespaces },
    async (t) => {
      const dir = tempDir(t);
      const lock = join(dir, 'build.lock');
      const holder = await nativeHolderInNamespace(t, lock, side);
      assert.ok(holder.pid <= 10, `the holder is a low pid inside its namespace (${holder.pid})`);
      const record = JSON.parse(readFileSync(lock, 'utf8'));
      assert.equal(typeof record.pidns, 'number', 'native locks record their pid namespace');
      assert.notEqual(record.pidns, engine.currentVantage().pidns);
      const info = await inspectLock(lock);
      assert.equal(info.state, 'held', info.reason);
      assert.equal(info.alive, true);
      assert.match(info.reason, new RegExp(`pid ${holder.pid} \\(pid \\d+ here\\)`));
      await assert.rejects(reapLock(lock), (err) => err.code === 'E_LOCK_LIVE_HOLDER');
      const second = spawnSync(process.execPath, [CLI, 'lock', join(dir, 'build.lock'), '--timeout', '1500', '--', 'true'], { cwd: dir, encoding: 'utf8' });
      assert.equal(second.status, 3, second.stderr);

      // Its whole namespace exits: from the host, the holder is provably gone.
      killGroup(holder.child);
      await exitOf(holder.child);
      const after = await inspectLock(lock);
      assert.equal(after.state, 'stale', after.reason);
      assert.match(after.reason, /namespace/);
      assert.equal((await reapLock(lock)).reaped, true);
    },
  );

  test(
    `from the host: authmux and bare-pid locks written inside a namespace (${side.name}) are not stale while it lives; stale once it is gone`,
    { skip: noNamespaces },
    async (t) => {
      const dir = tempDir(t);
      const authmux = join(dir, 'registry.json.lock');
      const bare = join(dir, 'bare.lock');
      // The writer is pid 1 (sh) and its sleep pid 2 inside its namespace: on the host pid 1 is
      // init and pid 2 kthreadd, which once read as "reused" and "a kernel thread".
      const script = `printf '{"pid":%s,"at":%s}' $$ "$(date +%s000)" > '${authmux}'; sleep 600 & echo $! > '${bare}'; wait`;
      const ns = await startInNamespace(t, ['sh', '-c', script], {
        hostname: side.hostname,
        ready: () => existsSync(bare) && readFileSync(bare, 'utf8').trim().length > 0 && existsSync(authmux),
      });
      setAge(authmux, HOUR);
      setAge(bare, HOUR);
      for (const lock of [authmux, bare]) {
        const info = await inspectLock(lock);
        assertNotBreakable(info, lock);
        assert.equal(info.state, 'unknown', info.reason);
        assert.match(info.reason, /without saying in which pid namespace/);
        await assert.rejects(reapLock(lock), (err) => err.code === 'E_LOCK_NOT_STALE');
      }
      killGroup(ns);
      await exitOf(ns);
      await until(async () => (await inspectLock(bare)).state === 'stale', 'the bare-pid lock to be stale once the namespace is gone', 5_000);
    },
  );
}

test('a claude-flow writer inside a namespace, mid-line: repair on the host refuses and cuts nothing', { skip: noNamespaces }, async (t) => {
  const ws = tempDir(t);
  const store = join(ws, '.claude-flow', 'guidance');
  mkdirSync(store, { recursive: true });
  const events = join(store, 'events.ndjson');
  writeFileSync(events, '{"id":"e1","type":"a","timestamp":1}\n');
  // Its writer is pid 2 inside the namespace (kthreadd on the host): it takes claude-flow's lock,
  // writes half a line and is still writing.
  const writer = `sh -c 'printf "{\\"holder\\":\\"6f1d2c1e-0000-4000-8000-000000000001\\",\\"timestamp\\":%s000,\\"pid\\":%s}" "$(date +%s)" $$ > "$0/.lock"; printf "{\\"id\\":\\"e2\\",\\"ty" >> "$0/events.ndjson"; exec sleep 600' "$0"; wait`;
  await startInNamespace(t, ['sh', '-c', writer, store], { ready: () => readFileSync(events, 'utf8').endsWith('"ty') && existsSync(join(store, '.lock')) });
  setAge(join(store, '.lock'), 5 * 60_000);
  const before = readFileSync(events);
  const r = spawnSync(process.execPath, [CLI, 'repair', events], { cwd: ws, encoding: 'utf8' });
  assert.notEqual(r.status, 0, `repair must refuse while the writer may be live: ${r.stdout}`);
  assert.match(r.stderr, /unknown|held/);
  assert.deepEqual(readFileSync(events), before, 'not a byte cut');
  assert.ok(existsSync(join(store, '.lock')), "claude-flow's lock is left to its writer");
});

test('the proper-lockfile drop-in: a host holder keeps its lock against a caller inside a namespace', { skip: noNamespaces }, async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'db.json');
  writeFileSync(file, '{}');
  const child = startHost(t, process.execPath, [join(FIXTURES, 'compat-lock-child.cjs'), 'adapter', 'hold', file, '{}'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await until(() => existsSync(`${file}.lock`) && existsSync(`${file}.lock.holder`), 'the host holder');
  const adapter = join(FIXTURES, '../../dist/compat/proper-lockfile.js');
  const attempt = `require(${JSON.stringify(adapter)}).lock(${JSON.stringify(file)}, { retries: 0 }).then(() => { console.log("acquired"); process.exit(0) }, (e) => { console.log(e.code); process.exit(0) })`;
  for (const side of SIDES) {
    const r = runInNamespace([process.execPath, '-e', attempt], side);
    assert.equal(r.stdout.trim(), 'ELOCKED', `${side.name}: a second caller must not take a live holder's lock (${r.stdout}${r.stderr})`);
  }
  assert.equal(child.exitCode, null);
});

test(
  "the original proper-lockfile: a host holder's lock directory is held from inside a namespace (its own mtime heartbeat), and stale there once it stops",
  { skip: noNamespaces },
  async (t) => {
    const dir = tempDir(t);
    const file = join(dir, 'db.json');
    writeFileSync(file, '{}');
    const child = startHost(t, process.execPath, [join(FIXTURES, 'compat-lock-child.cjs'), 'original', 'hold', file, '{"update": 1000, "stale": 5000}'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await until(() => existsSync(`${file}.lock`), 'the host holder');
    await new Promise((r) => setTimeout(r, 1500)); // past a refresh
    for (const side of SIDES) {
      const { value } = judgeInNamespace('inspect', `${file}.lock`, side);
      assert.equal(value.profile, 'proper-lockfile');
      assert.equal(value.state, 'held', `${side.name}: ${value.reason}`);
      assert.equal(judgeInNamespace('reap', `${file}.lock`, side).ok, false);
    }
    killGroup(child);
    await exitOf(child);
    setAge(`${file}.lock`, 60_000);
    assert.equal(judgeInNamespace('inspect', `${file}.lock`).value.state, 'stale', 'a stopped heartbeat is evidence from any vantage');
  },
);

test(
  'two appenders across a namespace boundary, one slow for 2 s: the host appender waits, and every acknowledged id is on disk exactly once',
  {
    skip: noNamespaces || (spawnSync('strace', ['-f', '-q', '-o', '/dev/null', 'true']).status !== 0 && 'strace with fault injection is not available'),
    timeout: 60_000,
  },
  async (t) => {
    const ws = tempDir(t);
    assert.equal(spawnSync(process.execPath, [CLI, 'append', 'events', '--data', '{"who":"setup"}'], { cwd: ws }).status, 0);
    const ledger = join(ws, '.ledgerlock', 'ledgers', 'events.jsonl');
    const lock = join(ws, '.ledgerlock', 'locks', 'events.lock');
    // Inside the namespace (same hostname), the appender's writes to the ledger are held for 2 s each.
    const inner = await startInNamespace(
      t,
      [
        'strace',
        '-f',
        '-q',
        '-o',
        '/dev/null',
        '-P',
        ledger,
        '-e',
        'trace=write,pwrite64',
        '-e',
        'inject=write,pwrite64:delay_enter=2000000',
        process.execPath,
        CLI,
        'append',
        'events',
        '--data',
        '{"who":"inside"}',
      ],
      { cwd: ws, ready: () => existsSync(lock) },
    );
    let innerOut = '';
    inner.stdout.on('data', (d) => (innerOut += d));
    const host = spawnSync(process.execPath, [CLI, 'append', 'events', '--data', '{"who":"host"}'], { cwd: ws, encoding: 'utf8', timeout: 30_000 });
    await exitOf(inner);
    assert.equal(inner.exitCode, 0, 'the appender inside acknowledged');
    assert.equal(host.status, 0, host.stderr);
    const acked = [Number(innerOut.trim()), Number(host.stdout.trim())];
    assert.deepEqual([...acked].sort(), [2, 3], `ids acknowledged: ${acked}`);
    const recs = readFileSync(ledger, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    for (const [id, who] of [
      [acked[0], 'inside'],
      [acked[1], 'host'],
    ]) {
      assert.equal(recs.filter((r) => r.id === id).length, 1, `id ${id} once`);
      assert.equal(recs.find((r) => r.id === id).data.who, who);
    }
    assert.equal(JSON.stringify(recs.map((r) => r.id)), JSON.stringify([1, 2, 3]));
  },
);

test("inside a namespace, verdicts running side by side never take one another's kernel-lock probe for a holder", { skip: noNamespaces }, async (t) => {
  const dir = tempDir(t);
  const paths = [1, 2, 3].map((i) => join(dir, `l${i}.lock`));
  for (const p of paths) writeLock(p, '', { ageMs: HOUR });
  const script = `const e=require(${JSON.stringify(join(FIXTURES, '../../dist/engine.js'))}); const paths=${JSON.stringify(paths)};
(async () => { let bad = []; for (let i = 0; i < 15; i++) { const rs = await Promise.all([e.inspectLocks(paths), e.inspectLocks(paths), e.inspectLocks(paths)]);
  for (const r of rs) for (const [p, info] of r) if (info.state !== 'unknown') bad.push(info.reason); } console.log(JSON.stringify(bad)); })();`;
  const r = runInNamespace([process.execPath, '-e', script]);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), [], 'every verdict is unknown: no probe helper was named as a holder');
});

test('inside a namespace, a dead holder of that same namespace is stale and reaped from inside', { skip: noNamespaces }, async (t) => {
  const dir = tempDir(t);
  const lock = join(dir, 'inside.lock');
  // One namespace: a holder takes the lock and is SIGKILLed, then a judge there reaps it.
  const judge = join(FIXTURES, 'vantage-judge.cjs');
  const holderScript = `const e=require(${JSON.stringify(join(FIXTURES, '../../dist/engine.js'))}); e.acquireLock(${JSON.stringify(lock)}).then(()=>process.kill(process.pid,"SIGKILL"))`;
  const r = runInNamespace(['sh', '-c', `"$0" -e '${holderScript}'; "$0" "$1" reap "$2"`, process.execPath, judge, lock]);
  const answer = JSON.parse(r.stdout.trim().split('\n').pop());
  assert.equal(answer.ok, true, answer.message);
  assert.equal(answer.value.reaped, true);
  assert.equal(existsSync(lock), false);
});

test('from the host, a SIGKILLed holder on the same side is still stale at once', async (t) => {
  const dir = tempDir(t);
  const lock = join(dir, 'host.lock');
  const child = spawnSync(process.execPath, [
    '-e',
    `require(${JSON.stringify(join(FIXTURES, '../../dist/engine.js'))}).acquireLock(${JSON.stringify(lock)}).then(()=>process.kill(process.pid,'SIGKILL'))`,
  ]);
  assert.equal(child.signal, 'SIGKILL');
  const info = await inspectLock(lock);
  assert.equal(info.state, 'stale', info.reason);
  assert.match(info.reason, /no longer running/);
});

test(
  'clock steps: a {pid, at} lock whose time precedes its live holder\'s start by 60 s is held, not "reused"; by hours it is reused',
  { skip: process.platform !== 'linux' },
  async (t) => {
    const dir = tempDir(t);
    const lock = join(dir, 'registry.json.lock');
    const holder = startHost(t, 'sleep', ['600']);
    await until(() => existsSync(`/proc/${holder.pid}/stat`), 'the holder');
    const ticks = Number(readFileSync(`/proc/${holder.pid}/stat`, 'latin1').split(') ')[1].split(' ')[19]);
    const btime = Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'latin1'))[1]);
    const startedMs = btime * 1000 + ticks * 10;
    // The holder's clock ran a minute behind when it wrote the lock.
    writeLock(lock, JSON.stringify({ pid: holder.pid, at: startedMs - 60_000 }));
    const info = await inspectLock(lock);
    assert.equal(info.state, 'held', info.reason);
    assert.equal(info.reapable, false);
    writeLock(lock, JSON.stringify({ pid: holder.pid, at: startedMs - 2 * HOUR }));
    const reused = await inspectLock(lock);
    assert.equal(reused.state, 'stale', reused.reason);
    assert.match(reused.reason, /reused/);
  },
);

test(
  "another user: an empty lock held open by root and root's `git commit -a` are unknown to an unprivileged judge, and it cannot reap them",
  { skip: (process.platform !== 'linux' || process.getuid() !== 0) && 'needs root to start a process as another user' },
  async (t) => {
    const dir = tempDir(t);
    chmodSync(dir, 0o777); // a group-writable shared repository
    const lock = join(dir, 'shared.lock');
    writeFileSync(lock, '');
    chmodSync(lock, 0o666);
    setAge(lock, HOUR);
    startHost(t, 'sh', ['-c', 'exec 3<"$0"; exec sleep 600', lock]);
    const repo = join(dir, 'repo');
    mkdirSync(repo);
    const env = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' };
    const git = (...args) => execFileSync('git', ['-C', repo, ...args], { stdio: 'ignore', env });
    git('init', '-q');
    writeFileSync(join(repo, 'a.txt'), 'one\n');
    git('add', 'a.txt');
    git('commit', '-qm', 'one');
    writeFileSync(join(repo, 'a.txt'), 'two\n');
    execFileSync('chmod', ['-R', 'a+rwX', repo]);
    const index = join(repo, '.git', 'index.lock');
    startHost(t, 'git', ['-C', repo, 'commit', '-a'], { env: { ...env, GIT_EDITOR: 'sleep 600; true' } });
    await until(() => existsSync(index), 'git to take index.lock');
    setAge(index, HOUR);
    const judge = join(FIXTURES, 'vantage-judge.cjs');
    const asNobody = (op, p) => JSON.parse(execFileSync('runuser', ['-u', 'nobody', '--', process.execPath, judge, op, p], { encoding: 'utf8' }));
    for (const p of [lock, index]) {
      const { value } = asNobody('inspect', p);
      assert.equal(value.state, 'unknown', `${p}: ${value.reason}`);
      assert.match(value.reason, /cannot|outside its view/);
      assert.equal(asNobody('reap', p).ok, false);
      assert.ok(existsSync(p));
    }
    // root, who sees every process, still judges them held.
    assert.equal((await inspectLock(lock)).state, 'held');
    assert.equal((await inspectLock(index)).state, 'held');
  },
);

test('an ordinary single-namespace judge keeps its verdicts: locks record pid namespace, uid, platform and heartbeat', async (t) => {
  const dir = tempDir(t);
  const lock = join(dir, 'fields.lock');
  const held = await engine.acquireLock(lock, { staleMs: 30_000 });
  t.after(() => held.release());
  const record = JSON.parse(readFileSync(lock, 'utf8'));
  assert.equal(record.platform, process.platform);
  if (process.platform === 'linux') {
    assert.equal(record.pidns, engine.currentVantage().pidns);
    assert.equal(record.uid, process.geteuid());
    assert.equal(record.heartbeatMs, 10_000);
    assert.equal(typeof record.startTicks, 'number');
  }
  assert.equal(record.host, hostname());
  assert.equal((await inspectLock(lock)).state, 'held');
});
