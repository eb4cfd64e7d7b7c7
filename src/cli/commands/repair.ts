import { z } from 'zod';
import { defineCommand, Exit } from '../command';
import { bool } from '../flags';
import { humanBytes, humanCount } from '../format';
import { withLedger } from './open';

export const repairCommand = defineCommand({
  name: 'repair',
  usage: 'repair LEDGER [--remove-corrupt]',
  summary: 'Cut a torn tail into quarantine, reading from the end; --remove-corrupt also quarantines damaged records mid-file.',
  flags: z.object({ 'remove-corrupt': bool }).strict(),
  positionals: [1, 1],
  async run(ctx) {
    return withLedger(ctx.io.cwd, ctx.positionals[0]!, { create: false }, async (ledger) => {
      const quarantined: { offset: number; removedBytes: number; quarantine: string }[] = [];
      if (ctx.flags['remove-corrupt']) {
        // Remove from the end backwards so earlier offsets stay valid.
        const report = await ledger.verify();
        const corrupt = report.problems
          .filter((p) => p.kind !== 'torn-tail')
          .map((p) => p.offset)
          .sort((a, b) => b - a);
        for (const offset of new Set(corrupt)) quarantined.push({ offset, ...(await ledger.quarantineRecord(offset)) });
      }
      const result = await ledger.repair();
      if (ctx.json) {
        ctx.printJson({ ok: true, ...result, quarantined });
      } else {
        for (const q of quarantined)
          ctx.print(`quarantined the corrupt record at byte ${humanCount(q.offset)} (${humanBytes(q.removedBytes)}) → ${ctx.rel(q.quarantine)}`);
        ctx.print(
          result.repaired
            ? `repaired: cut ${humanBytes(result.bytesRemoved)} at byte ${humanCount(result.truncatedAt)} → ${result.quarantine !== undefined ? ctx.rel(result.quarantine) : '(not kept)'}`
            : `nothing to repair: the tail is intact (last id ${result.tail.lastId ?? '-'}); "ledgerlock verify" checks every record`,
        );
      }
      return Exit.Ok;
    });
  },
});
