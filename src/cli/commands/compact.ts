import { z } from 'zod';
import { usage } from '../args';
import { defineCommand, Exit } from '../command';
import { count, positiveCount } from '../flags';
import { humanBytes, plural } from '../format';
import { withLedger } from './open';

export const compactCommand = defineCommand({
  name: 'compact',
  usage: 'compact LEDGER --keep N | --after ID',
  summary: 'Atomically rewrite the ledger keeping the newest N events (or those after ID); ids are unchanged.',
  valueFlags: ['keep', 'after'],
  flags: z.object({ keep: positiveCount.optional(), after: count.optional() }).strict(),
  positionals: [1, 1],
  async run(ctx) {
    const { keep, after } = ctx.flags;
    if ((keep === undefined) === (after === undefined)) throw usage('compact needs exactly one of --keep N or --after ID');
    const progress = ctx.progress('compact: reading', 'bytes');
    const onProgress = (bytes: number, total: number) => progress.update(bytes, total);
    const result = await withLedger(ctx.io.cwd, ctx.positionals[0]!, { create: false }, (l) =>
      l.compact(keep !== undefined ? { keep, onProgress } : { afterId: after!, onProgress }),
    );
    progress.end();
    if (ctx.json) ctx.printJson({ ok: true, ...result });
    else
      ctx.print(
        `kept ${plural(result.kept, 'event')}, removed ${plural(result.removed, 'event')}; ${humanBytes(result.bytesBefore)} → ${humanBytes(result.bytesAfter)}`,
      );
    return Exit.Ok;
  },
});
