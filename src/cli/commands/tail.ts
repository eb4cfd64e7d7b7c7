import { z } from 'zod';
import { defineCommand, Exit } from '../command';
import { positiveCount } from '../flags';
import { formatEvent } from '../format';
import { withLedger } from './open';

export const tailCommand = defineCommand({
  name: 'tail',
  usage: 'tail LEDGER [-n N]',
  summary: 'Print the last N events (default 10), oldest first, reading from the end of the file.',
  valueFlags: ['n'],
  aliases: { lines: 'n' },
  flags: z.object({ n: positiveCount.optional() }).strict(),
  positionals: [1, 1],
  async run(ctx) {
    const events = await withLedger(ctx.io.cwd, ctx.positionals[0]!, { create: false, telemetry: false }, (l) => l.tail(ctx.flags.n ?? 10));
    if (ctx.json) ctx.printJson({ ok: true, events });
    else for (const event of events) ctx.print(formatEvent(event));
    return Exit.Ok;
  },
});
