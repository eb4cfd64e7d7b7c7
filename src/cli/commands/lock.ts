import { spawn, type ChildProcess } from 'node:child_process';
import { z } from 'zod';
import { acquireLock, ensureStore, MAX_LOCK_BYTES, resolveLockPath, storePathsOf, withinRoot } from '../../engine';
import { fsl, type OpenFile } from '../../engine/fs';
import { ownerIn } from '../../engine/lock/file';
import { kernelLockHelper } from '../../engine/lock/probe';
import { defineCommand } from '../command';
import { lockTiming, lockTimingFlags, millis } from '../flags';

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** CMD receives the lock file as this descriptor (spawn's stdio[3]), as flock(1) hands its own down. */
const HANDOFF_FD = 3;
/** A probe's flock lasts an instant (README.md, "How a lock is judged"): the hand-off flock retries that long. */
const HANDOFF_RETRY_MS = 1_000;

/**
 * Takes an exclusive flock on descriptor 3 and becomes CMD (exec: same pid), so the kernel names
 * CMD as the flock's holder and the lock lives exactly as long as CMD and whatever it hands
 * descriptor 3 to. Run isolated (-I: no workspace module is importable) and without site.
 */
const PYTHON_EXEC_HELD = `
import errno, fcntl, os, sys, time
deadline = time.monotonic() + ${HANDOFF_RETRY_MS / 1000}
while True:
    try:
        fcntl.flock(${HANDOFF_FD}, fcntl.LOCK_EX | fcntl.LOCK_NB)
        break
    except OSError as e:
        if e.errno in (errno.EAGAIN, errno.EWOULDBLOCK) and time.monotonic() < deadline:
            time.sleep(0.005)
            continue
        sys.stderr.write('ledgerlock: warning: no kernel flock on the lock file for %s (%s); it holds the lock through its open descriptor only\\n' % (sys.argv[1], os.strerror(e.errno)))
        break
os.set_inheritable(${HANDOFF_FD}, True)
try:
    os.execvp(sys.argv[1], sys.argv[1:])
except OSError as e:
    sys.stderr.write('ledgerlock: cannot run %s: %s\\n' % (sys.argv[1], os.strerror(e.errno)))
    sys.exit(127)
`;

export const lockCommand = defineCommand({
  name: 'lock',
  usage: 'lock LOCK [--timeout MS] [--tool NAME] -- CMD [ARGS...]',
  summary: "Run CMD while holding LOCK (like flock(1)); exit with CMD's status, or 3 if the lock could not be had in time.",
  valueFlags: ['timeout', 'tool', 'stale-ms', 'contention-ms'],
  flags: z.object({ timeout: millis.optional(), tool: z.string().min(1).max(128).optional(), ...lockTimingFlags }).strict(),
  positionals: [1, 1],
  needsRest: true,
  async run(ctx) {
    const lockPath = resolveLockPath(ctx.io.cwd, ctx.positionals[0]!);
    const store = storePathsOf(lockPath);
    if (store !== undefined) await ensureStore(store.root);
    const lock = await withinRoot(ctx.io.cwd, () =>
      acquireLock(lockPath, {
        tool: ctx.flags.tool ?? 'ledgerlock lock',
        timeoutMs: ctx.flags.timeout ?? 10_000,
        ...lockTiming(ctx.flags),
      }),
    );
    lock.onCompromised((reason) => ctx.io.stderr.write(`ledgerlock: warning: lost ${lockPath} while running: ${reason}\n`));
    const warn = (text: string) => ctx.io.stderr.write(`ledgerlock: warning: ${text}\n`);
    try {
      const [cmd, ...args] = ctx.rest!;
      const file = await withinRoot(ctx.io.cwd, () => openOwnLock(lockPath, lock.owner, warn));
      let child: ChildProcess;
      try {
        const plan = await handOff(cmd!, args, file, warn);
        child = spawn(plan.file, plan.args, { stdio: plan.stdio, cwd: ctx.io.cwd });
      } finally {
        // CMD has its own copy of the descriptor now (spawn returns after the exec).
        file?.closeSync();
      }
      const forward = (signal: NodeJS.Signals) => child.kill(signal);
      for (const s of FORWARDED) process.on(s, forward);
      try {
        const status = await new Promise<number>((resolve) => {
          child.once('error', (err) => {
            ctx.io.stderr.write(`ledgerlock: cannot run ${cmd}: ${err.message}\n`);
            resolve(127);
          });
          child.once('exit', (code, signal) => resolve(code ?? 128 + (signal ? signalNumber(signal) : 0)));
        });
        if (ctx.json) ctx.printJson({ ok: status === 0, lock: lockPath, status, compromised: lock.compromised });
        return status;
      } finally {
        for (const s of FORWARDED) process.off(s, forward);
      }
    } finally {
      await lock.release();
    }
  },
});

/**
 * The lock file just created, opened read-only through the engine's file layer, and only if
 * it still names this acquisition as its owner: CMD must never be handed someone else's lock.
 * Linux only, where the kernel's and /proc's evidence of a holder is read.
 */
async function openOwnLock(lockPath: string, owner: string, warn: (text: string) => void): Promise<OpenFile | undefined> {
  if (process.platform !== 'linux') return undefined;
  let file: OpenFile;
  try {
    file = await fsl().open(lockPath, 'r');
  } catch (err) {
    warn(
      `cannot open ${lockPath} to hand it to the command (${(err as Error).message}); if ledgerlock is killed, the lock no longer shows the command as its holder`,
    );
    return undefined;
  }
  try {
    const size = Math.min(file.statSync().size, MAX_LOCK_BYTES);
    const buf = Buffer.alloc(size);
    const n = size > 0 ? file.readSync(buf, 0, size, 0) : 0;
    if (file.fd === undefined || ownerIn(buf.subarray(0, n)) !== owner) {
      warn(`${lockPath} no longer names this ledgerlock as its holder; the command runs without it`);
      file.closeSync();
      return undefined;
    }
    return file;
  } catch (err) {
    file.closeSync();
    throw err;
  }
}

interface SpawnPlan {
  file: string;
  args: string[];
  stdio: ('inherit' | number)[] | 'inherit';
}

/**
 * How to start CMD holding the lock file open as descriptor 3 with a kernel flock on it, so
 * the lock stays held while CMD runs even if this process is killed (SIGKILL runs no release):
 * the verdict then rests on the kernel lock or CMD's open descriptor, not on this pid. Through
 * python3 the flocking process becomes CMD; with flock(1) only, a short-lived flock(1) takes
 * it on the shared open file description first.
 */
async function handOff(cmd: string, args: string[], file: OpenFile | undefined, warn: (text: string) => void): Promise<SpawnPlan> {
  if (file === undefined) return { file: cmd, args, stdio: 'inherit' };
  const stdio: ('inherit' | number)[] = ['inherit', 'inherit', 'inherit', file.fd!];
  const helper = kernelLockHelper();
  if (helper?.kind === 'python3') return { file: helper.path, args: ['-I', '-S', '-c', PYTHON_EXEC_HELD, cmd, ...args], stdio };
  if (helper?.kind === 'flock') {
    const taken = await flockWithHelper(helper.path, file.fd!);
    if (taken !== true) warn(`no kernel flock on ${file.path} for ${cmd} (${taken}); it holds the lock through its open descriptor only`);
  } else {
    warn(
      `neither python3 nor flock(1) is installed: ${cmd} holds ${file.path} through its open descriptor only, which a container's separate process table cannot see`,
    );
  }
  return { file: cmd, args, stdio };
}

/** `flock -n -E 75 3` on our descriptor, retried for HANDOFF_RETRY_MS while a probe holds it for its instant; true, or why not. */
async function flockWithHelper(flockPath: string, fd: number): Promise<true | string> {
  const deadline = Date.now() + HANDOFF_RETRY_MS;
  for (;;) {
    const code = await new Promise<number | string>((resolve) => {
      const p = spawn(flockPath, ['-n', '-E', '75', String(HANDOFF_FD)], { stdio: ['ignore', 'ignore', 'ignore', fd] });
      p.once('error', (err) => resolve(err.message));
      p.once('exit', (c, signal) => resolve(c ?? `killed by ${signal}`));
    });
    if (code === 0) return true;
    if (code !== 75) return typeof code === 'string' ? code : `flock(1) exited with ${code}`;
    if (Date.now() >= deadline) return 'another process holds a flock on it';
    await new Promise((r) => setTimeout(r, 5));
  }
}

function signalNumber(signal: NodeJS.Signals): number {
  const numbers: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };
  return numbers[signal] ?? 1;
}
