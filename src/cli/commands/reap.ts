import { z } from 'zod';
import { describeHolder, reapLock, resolveLockPath, withinRoot } from '../../engine';
import { defineCommand, Exit } from '../command';
import { lockTiming, lockTimingFlags } from '../flags';
import { oneLine } from '../format';

export const reapCommand = defineCommand({
  name: 'reap',
  usage: 'reap LOCK [--stale-ms MS] [--unknown]',
  summary: 'Remove a stale lock (its bytes are kept in quarantine). A live holder is refused with exit 1; an unknown lock only with --unknown.',
  valueFlags: ['stale-ms', 'contention-ms'],
  flags: z.object({ ...lockTimingFlags, unknown: z.boolean().optional() }).strict(),
  positionals: [1, 1],
  async run(ctx) {
    const lockPath = resolveLockPath(ctx.io.cwd, ctx.positionals[0]!);
    // --unknown is the explicit, separate confirmation: the person has read why nothing decides.
    const result = await withinRoot(ctx.io.cwd, () => reapLock(lockPath, { ...lockTiming(ctx.flags), ...(ctx.flags.unknown ? { confirmUnknown: true } : {}) }));
    if (ctx.json) ctx.printJson({ ok: result.reaped, ...result });
    else if (result.reaped)
      ctx.print(`reaped ${ctx.rel(lockPath)} (${oneLine(result.info.reason)}; was held by ${oneLine(describeHolder(result.info.holder))})`);
    else {
      const kept = result.trash !== undefined ? ` (it is kept at ${ctx.rel(result.trash)}; recorded as LOCK_LEFT_ASIDE)` : '';
      ctx.print(`not reaped: ${ctx.rel(lockPath)}: ${result.why}${kept}`);
    }
    return result.reaped ? Exit.Ok : Exit.Problem;
  },
});
