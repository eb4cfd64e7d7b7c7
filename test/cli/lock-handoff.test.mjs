// `ledgerlock lock NAME -- CMD` hands the lock to CMD, as flock(1) does: CMD holds the lock
// file open with a kernel flock on it, so killing the ledgerlock wrapper with SIGKILL (which
// runs no release) leaves the lock held by CMD, and a second `lock NAME` waits instead of
// running beside it. Once CMD is gone the lock is stale and taken over.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, existsSync, readlinkSync, realpathSync } from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { CLI, cli, tempDir } from './helpers.mjs';

const linux = process.platform === 'linux';
// With python3 the process that takes the flock becomes CMD, so the kernel names CMD itself;
// with flock(1) alone it names the short-lived flock(1), and CMD shows only through its descriptor.
const hasPython = linux && spawnSync('sh', ['-c', 'command -v python3'], { stdio: 'ignore' }).status === 0;

/** The pid of `comm` whose parent is `ppid`, read from /proc, or undefined. */
function childNamed(ppid, comm) {
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue;
    }
    // "pid (comm) state ppid ..."; comm may hold spaces, so split after its closing paren.
    const close = stat.lastIndexOf(')');
    const own = stat.slice(stat.indexOf('(') + 1, close);
    const [, parent] = stat.slice(close + 2).split(' ');
    if (own === comm && Number(parent) === ppid) return Number(name);
  }
  return undefined;
}

/** Alive and not a zombie (a killed orphan may wait a while for its reaper). */
function running(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

async function until(what, check, ms = 10_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('lock -- CMD: after the wrapper is SIGKILLed, CMD keeps the lock until it exits', { skip: !linux ? 'Linux only: the hand-off is seen through the kernel and /proc' : false }, async (t) => {
  const dir = tempDir(t, 'll-handoff-');
  const lockFile = join(dir, '.ledgerlock/locks/build.lock');
  const wrapper = spawn(process.execPath, [CLI, 'lock', 'build', '--', 'sleep', '30'], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  wrapper.stderr.setEncoding('utf8').on('data', (c) => { stderr += c; });
  const wrapperGone = new Promise((r) => wrapper.once('exit', r));
  let sleepPid;
  t.after(() => {
    wrapper.kill('SIGKILL');
    if (sleepPid !== undefined && running(sleepPid)) process.kill(sleepPid, 'SIGKILL');
  });

  sleepPid = await until('sleep to start under the wrapper', () => childNamed(wrapper.pid, 'sleep'));
  assert.ok(existsSync(lockFile));
  // CMD has the lock file itself open (descriptor 3, as flock(1) passes it).
  assert.equal(readlinkSync(`/proc/${sleepPid}/fd/3`), realpathSync(lockFile), 'sleep holds the lock file open');

  wrapper.kill('SIGKILL');
  await wrapperGone;
  assert.ok(running(sleepPid), 'sleep outlives its wrapper');
  assert.ok(existsSync(lockFile), 'SIGKILL ran no release');

  const second = cli(['lock', 'build', '--timeout', '1500', '--', 'true'], { cwd: dir });
  assert.equal(second.code, 3, `a second lock must wait while sleep holds it, not run beside it:\n${second.stderr}`);
  assert.match(second.stderr, /E_LOCK_TIMEOUT/);
  assert.ok(running(sleepPid), 'sleep is still running');

  const listed = cli(['locks', '--json'], { cwd: dir });
  assert.equal(listed.code, 0, listed.stderr);
  const lock = listed.json().locks.find((l) => l.path === lockFile);
  assert.ok(lock, listed.stdout);
  assert.equal(lock.state, 'held', lock.reason);
  assert.equal(lock.reapable, false);
  if (hasPython) {
    const witness = lock.evidence.find((e) => e.pid === sleepPid);
    assert.ok(witness, `the evidence names sleep (pid ${sleepPid}): ${JSON.stringify(lock.evidence)}`);
    assert.equal(witness.kind, 'flock');
    assert.match(witness.command ?? '', /^sleep 30/);
  }

  process.kill(sleepPid, 'SIGKILL');
  await until('sleep to exit', () => !running(sleepPid));
  const relisted = cli(['locks', '--json'], { cwd: dir });
  const after = relisted.json().locks?.find((l) => l.path === lockFile);
  assert.ok(after, relisted.stdout + relisted.stderr);
  assert.equal(after.state, 'stale', after.reason);

  const third = cli(['lock', 'build', '--timeout', '5000', '--', 'true'], { cwd: dir });
  assert.equal(third.code, 0, third.stderr);
  assert.equal(existsSync(lockFile), false, 'released after the command');
  if (hasPython) assert.doesNotMatch(stderr, /warning/, 'the hand-off itself raised no warning');
});
