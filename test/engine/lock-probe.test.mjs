// probeKernelLocks asks the kernel about the lock file itself (a flock attempt given back at
// once, a POSIX/OFD query that takes nothing), which works from any pid namespace on the same
// kernel: inside `unshare --pid` /proc/locks hides the host's holders, the probe does not.
// Holders are real processes (flock(1), python3); probed files are real files, a FIFO and a
// symlink that leaves its folder.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { commandExists, engine, kernelLocksOn, startInGroup, tempDir } from '../fixtures/lock-helpers.mjs';

const require = createRequire(import.meta.url);
const ENGINE = require.resolve('../../dist/engine.js');
const { probeKernelLocks, probeProgram } = engine;
const linux = process.platform === 'linux';
const hasFlock = linux && commandExists('flock');
const hasPython = linux && commandExists('python3');

/** Why `unshare --pid --fork --mount-proc` cannot run here, or undefined when it can. */
function unshareRefusal() {
  if (!linux) return 'not Linux';
  if (!commandExists('unshare')) return 'unshare(1) is not installed';
  const r = spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true'], { encoding: 'utf8', timeout: 10_000 });
  return r.status === 0 ? undefined : `unshare --pid --fork --mount-proc is not permitted here: ${(r.stderr || r.error?.message || `exit ${r.status}`).trim()}`;
}

/** flock(1)'s own non-blocking attempt: true when it could take (and give back) the lock. */
function flockFree(file) {
  return spawnSync('flock', ['-n', file, 'true']).status === 0;
}

async function flockHolder(t, file) {
  return startInGroup(t, 'flock', [file, 'sleep', '60'], () => kernelLocksOn(file).some((k) => k.kind === 'flock' && !k.waiting));
}

test(
  'a host flock is held when probed from inside another pid namespace, where /proc/locks does not show it',
  { skip: !hasFlock || !hasPython ? 'needs flock(1) and python3' : false },
  async (t) => {
    const refusal = unshareRefusal();
    if (refusal !== undefined) {
      console.log(`# skipped the namespace case: ${refusal}`);
      t.skip(refusal);
      return;
    }
    const dir = tempDir(t, 'll-probe-ns-');
    const lock = join(dir, 'zero.lock');
    writeFileSync(lock, '');
    const holder = await flockHolder(t, lock);
    const script = join(dir, 'probe-inside.cjs');
    writeFileSync(
      script,
      `
    const { readFileSync, statSync } = require('node:fs');
    const { probeKernelLocks } = require(${JSON.stringify(ENGINE)});
    const file = process.argv[2];
    probeKernelLocks([file]).then((m) => {
      process.stdout.write(JSON.stringify({ pid: process.pid, probe: m.get(file), procLocks: readFileSync('/proc/locks', 'utf8') }));
    });
  `,
    );
    const r = spawnSync('unshare', ['--pid', '--fork', '--mount-proc', process.execPath, script, lock], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 0, r.stderr);
    const inside = JSON.parse(r.stdout);
    assert.ok(inside.pid < 10, `the probe ran in a fresh pid namespace (pid ${inside.pid} there)`);
    assert.deepEqual(kernelLocksOn(lock, inside.procLocks), [], "/proc/locks inside the namespace does not list the host's flock");
    assert.equal(inside.probe.flock, 'held', JSON.stringify(inside.probe));
    assert.equal(inside.probe.posix, 'free');
    // The probe took nothing from the holder.
    assert.ok(
      kernelLocksOn(lock).some((k) => k.kind === 'flock' && k.pid === holder.pid),
      "the host still lists the holder's flock",
    );
    assert.equal(flockFree(lock), false, 'the holder still holds its flock after the probe');
  },
);

test(
  'a flock holder stays the holder after a probe from the same namespace',
  { skip: !hasFlock || !hasPython ? 'needs flock(1) and python3' : false },
  async (t) => {
    const dir = tempDir(t, 'll-probe-');
    const lock = join(dir, 'held.lock');
    writeFileSync(lock, 'x');
    await flockHolder(t, lock);
    const before = kernelLocksOn(lock).filter((k) => !k.waiting);
    const probe = (await probeKernelLocks([lock])).get(lock);
    assert.deepEqual(probe, { flock: 'held', posix: 'free' });
    assert.deepEqual(
      kernelLocksOn(lock).filter((k) => !k.waiting),
      before,
      'the same holder, the same lock, nobody queued behind it',
    );
    assert.equal(flockFree(lock), false);
  },
);

test('a POSIX (lockf) holder is held for posix, with its pid, and its flock side is free', { skip: !hasPython ? 'needs python3' : false }, async (t) => {
  const dir = tempDir(t, 'll-probe-');
  const lock = join(dir, 'posix.lock');
  writeFileSync(lock, 'x');
  const holder = await startInGroup(
    t,
    'python3',
    [
      '-c',
      `
import fcntl, sys, time
f = open(sys.argv[1], 'a'); fcntl.lockf(f, fcntl.LOCK_EX)
open(sys.argv[1] + '.ready', 'w').close()
time.sleep(60)
`,
      lock,
    ],
    () => existsSync(`${lock}.ready`),
  );
  const probe = (await probeKernelLocks([lock])).get(lock);
  assert.equal(probe.posix, 'held', JSON.stringify(probe));
  assert.equal(probe.posixPid, holder.pid);
  assert.equal(probe.flock, 'free');
  assert.ok(
    kernelLocksOn(lock).some((k) => k.kind === 'posix' && k.pid === holder.pid),
    'the POSIX lock is still there',
  );
});

test('a free file is free for both, and the probe leaves it unlocked', { skip: !hasFlock ? 'needs flock(1)' : false }, async (t) => {
  const dir = tempDir(t, 'll-probe-');
  const lock = join(dir, 'free.lock');
  writeFileSync(lock, 'x');
  const probe = (await probeKernelLocks([lock])).get(lock);
  assert.equal(probe.flock, 'free');
  assert.equal(probe.posix, hasPython ? 'free' : 'unavailable');
  assert.equal(flockFree(lock), true, 'flock -n right after the probe succeeds');
  assert.deepEqual(kernelLocksOn(lock), []);
  assert.equal(statSync(lock).size, 1, 'nothing was written');
});

test('a symlink leaving the folder and a FIFO are unavailable, and the FIFO does not block the probe', { skip: !linux ? 'Linux only' : false }, async (t) => {
  const dir = tempDir(t, 'll-probe-');
  const outside = mkdtempSync(join(tmpdir(), 'll-probe-outside-'));
  t.after(() => rmSync(outside, { recursive: true, force: true }));
  writeFileSync(join(outside, 'target.lock'), 'x');
  const link = join(dir, 'leaves.lock');
  symlinkSync(join(outside, 'target.lock'), link);
  const fifo = join(dir, 'pipe.lock');
  execFileSync('mkfifo', [fifo]);
  const missing = join(dir, 'missing.lock');
  const started = Date.now();
  const probes = await probeKernelLocks([link, fifo, missing]);
  const ms = Date.now() - started;
  assert.ok(ms < 2_000, `returned in ${ms} ms`);
  for (const p of [link, fifo, missing]) {
    assert.equal(probes.get(p).flock, 'unavailable', p);
    assert.equal(probes.get(p).posix, 'unavailable', p);
  }
  assert.match(probes.get(link).detail, /E_PATH_OUTSIDE_ROOT/);
  assert.match(probes.get(fifo).detail, /E_NOT_REGULAR_FILE: .*FIFO/);
  assert.match(probes.get(missing).detail, /no such file/);
  assert.ok(flockFree(join(outside, 'target.lock')), 'the link target was never locked');
});

test(
  'probing 200 files costs one helper process',
  { skip: !linux || probeProgram() === undefined ? 'needs Linux and python3 or flock(1)' : false },
  async (t) => {
    const dir = tempDir(t, 'll-probe-many-');
    const files = [];
    for (let i = 0; i < 200; i++) {
      const f = join(dir, `f${i}.lock`);
      writeFileSync(f, '');
      files.push(f);
    }
    const cp = require('node:child_process');
    const real = cp.spawn;
    let spawns = 0;
    cp.spawn = function counted(...args) {
      spawns++;
      return real.apply(this, args);
    };
    let probes;
    const started = process.hrtime.bigint();
    try {
      probes = await probeKernelLocks(files);
    } finally {
      cp.spawn = real;
    }
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    console.log(`# probed ${files.length} files in ${ms.toFixed(1)} ms with ${spawns} spawn of ${probeProgram()}`);
    assert.equal(spawns, 1);
    assert.equal(probes.size, 200);
    assert.ok(
      [...probes.values()].every((p) => p.flock === 'free'),
      'every file answered',
    );
    assert.ok(flockFree(files[0]) && flockFree(files[199]));
  },
);

test('probeKernelLocks refuses a bad list or timeout with a stable code', async () => {
  await assert.rejects(probeKernelLocks('x.lock'), { code: 'E_BAD_INPUT' });
  await assert.rejects(probeKernelLocks(['']), { code: 'E_BAD_INPUT' });
  await assert.rejects(probeKernelLocks([], { timeoutMs: 0 }), { code: 'E_BAD_OPTION' });
  assert.equal((await probeKernelLocks([])).size, 0);
});
