import { z } from 'zod';
import { ErrorCode, LedgerlockError } from '../../engine/errors';
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
    const events = await withLedger(ctx.io.cwd, ctx.positionals[0]!, { create: false, telemetry: false }, async (l) => {
      const found = await l.tail(ctx.flags.n ?? 10);
      if (found.length === 0) {
        // Nothing valid at the end of a non-empty file: it holds no record at all (tail reads
        // until it finds one). Say so instead of printing nothing.
        const stats = await l.stats();
        if (stats.bytes > 0) {
          throw new LedgerlockError(
            ErrorCode.NotALedger,
            `${l.path} holds ${stats.bytes} bytes but no valid ${l.format === 'foreign' ? 'JSON line' : 'record'}: it is not a ledger, or a wholly corrupt one ("ledgerlock verify" lists its lines)`,
            { path: l.path, bytes: stats.bytes },
          );
        }
      }
      return found;
    });
    if (ctx.json) ctx.printJson({ ok: true, events });
    else for (const event of events) ctx.print(formatEvent(event));
    return Exit.Ok;
  },
});
