import { z } from 'zod';
import { describeHolder, reapLock, resolveLockPath, withinRoot } from '../../engine';
import { defineCommand, Exit } from '../command';
import { lockTiming, lockTimingFlags } from '../flags';
import { displayPath, oneLine } from '../format';

export const reapCommand = defineCommand({
  name: 'reap',
  usage: 'reap LOCK [--stale-ms MS]',
  summary: 'Remove a stale lock (its bytes are kept in quarantine). A live holder is refused with exit 1.',
  valueFlags: ['stale-ms', 'contention-ms'],
  flags: z.object(lockTimingFlags).strict(),
  positionals: [1, 1],
  async run(ctx) {
    const lockPath = resolveLockPath(ctx.io.cwd, ctx.positionals[0]!);
    const result = await withinRoot(ctx.io.cwd, () => reapLock(lockPath, lockTiming(ctx.flags)));
    if (ctx.json) ctx.printJson({ ok: result.reaped, ...result });
    else if (result.reaped) ctx.print(`reaped ${displayPath(lockPath)} (${oneLine(result.info.reason)}; was held by ${oneLine(describeHolder(result.info.holder))})`);
    else ctx.print(`not reaped: ${displayPath(lockPath)} was replaced by a new holder while it was being broken`);
    return result.reaped ? Exit.Ok : Exit.Problem;
  },
});
