import * as path from 'node:path';
import { z } from 'zod';
import { listLocks, withinRoot } from '../../engine';
import { defineCommand, Exit } from '../command';
import { formatLock } from '../format';
import { lockTiming, lockTimingFlags } from '../flags';

export const locksCommand = defineCommand({
  name: 'locks',
  usage: 'locks [DIR] [--stale-ms MS] [--contention-ms MS]',
  summary: 'List lock files under DIR (default: cwd) with holder, age and state; exit 1 if any is stale.',
  valueFlags: ['stale-ms', 'contention-ms'],
  flags: z.object(lockTimingFlags).strict(),
  positionals: [0, 1],
  async run(ctx) {
    const dir = path.resolve(ctx.io.cwd, ctx.positionals[0] ?? '.');
    const locks = await withinRoot(dir, () => listLocks(dir, lockTiming(ctx.flags)));
    if (ctx.json) ctx.printJson({ ok: true, dir, locks });
    else if (locks.length === 0) ctx.print(`no locks under ${dir}`);
    else for (const lock of locks) ctx.print(formatLock(lock));
    return locks.some((l) => l.reapable) ? Exit.Problem : Exit.Ok;
  },
});
