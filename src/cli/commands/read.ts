import { z } from 'zod';
import { usage } from '../args';
import { defineCommand, Exit } from '../command';
import { count, positiveCount } from '../flags';
import { formatEvent } from '../format';
import { withLedger } from './open';

export const readCommand = defineCommand({
  name: 'read',
  usage: 'read LEDGER [--from ID] [--to ID] [--limit N]',
  summary: 'Print the events with ids in [--from, --to], oldest first (served by the sparse index).',
  valueFlags: ['from', 'to', 'limit'],
  flags: z.object({ from: count.optional(), to: count.optional(), limit: positiveCount.optional() }).strict(),
  positionals: [1, 1],
  async run(ctx) {
    const { from, to, limit } = ctx.flags;
    if (from !== undefined && to !== undefined && from > to) throw usage(`--from ${from} is after --to ${to}`);
    const events = await withLedger(ctx.io.cwd, ctx.positionals[0]!, { create: false, telemetry: false }, (l) =>
      l.range({ ...(from !== undefined ? { fromId: from } : {}), ...(to !== undefined ? { toId: to } : {}), ...(limit !== undefined ? { limit } : {}) }),
    );
    if (ctx.json) ctx.printJson({ ok: true, events });
    else for (const event of events) ctx.print(formatEvent(event));
    return Exit.Ok;
  },
});
