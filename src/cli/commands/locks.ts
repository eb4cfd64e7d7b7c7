import * as path from 'node:path';
import { z } from 'zod';
import { currentVantage, listLocks, vantageSummary, withinRoot } from '../../engine';
import { defineCommand, Exit, type CommandContext } from '../command';
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
    if (ctx.json) ctx.printJson({ ok: true, dir, vantage: vantageSummary(), locks });
    else if (locks.length === 0) ctx.print(`no locks under ${ctx.rel(dir)}`);
    else for (const lock of locks) ctx.print(formatLock(lock, ctx.io.cwd, ctx.paint));
    if (!ctx.json) printVantageNote(ctx);
    return locks.some((l) => l.reapable) ? Exit.Problem : Exit.Ok;
  },
});

/** Inside a container the listing says once why some locks are `unknown`. */
export function printVantageNote(ctx: Pick<CommandContext<unknown>, 'print' | 'paint'>): void {
  const v = currentVantage();
  if (v.platform !== 'linux' || v.initialPidNamespace) return;
  ctx.print(
    ctx.paint(
      'dim',
      `note: ${v.blindSpots[0] ?? 'Ledgerlock cannot see every process from here'}; locks that only such a process could hold are shown unknown, never stale`,
    ),
  );
}
