import { spawn } from 'node:child_process';
import { z } from 'zod';
import { acquireLock, ensureStore, resolveLockPath, storePathsOf, withinRoot } from '../../engine';
import { defineCommand } from '../command';
import { lockTiming, lockTimingFlags, millis } from '../flags';

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

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
    const lock = await withinRoot(ctx.io.cwd, () => acquireLock(lockPath, {
      tool: ctx.flags.tool ?? 'ledgerlock lock',
      timeoutMs: ctx.flags.timeout ?? 10_000,
      ...lockTiming(ctx.flags),
    }));
    lock.onCompromised((reason) => ctx.io.stderr.write(`ledgerlock: warning: lost ${lockPath} while running: ${reason}\n`));
    try {
      const [cmd, ...args] = ctx.rest!;
      const child = spawn(cmd!, args, { stdio: 'inherit', cwd: ctx.io.cwd });
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

function signalNumber(signal: NodeJS.Signals): number {
  const numbers: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };
  return numbers[signal] ?? 1;
}

