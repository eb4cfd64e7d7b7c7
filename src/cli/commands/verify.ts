import { z } from 'zod';
import type { VerifyReport } from '../../engine';
import { defineCommand, Exit, type CommandContext } from '../command';
import { humanBytes, humanCount, paintState, plural } from '../format';
import { withLedger } from './open';

export const verifyCommand = defineCommand({
  name: 'verify',
  usage: 'verify LEDGER',
  summary: 'Check every record (framing, checksum, id order); exit 1 if the ledger is torn or corrupt.',
  flags: z.object({}).strict(),
  positionals: [1, 1],
  async run(ctx) {
    const progress = ctx.progress('verifying', 'bytes');
    const report = await withLedger(ctx.io.cwd, ctx.positionals[0]!, { create: false, telemetry: false }, (l) =>
      l.verify({ onProgress: (bytes, total) => progress.update(bytes, total) }),
    );
    progress.end();
    printReport(ctx, report);
    return report.health === 'ok' ? Exit.Ok : Exit.Problem;
  },
});

export function printReport(ctx: CommandContext<unknown>, report: VerifyReport): void {
  if (ctx.json) {
    ctx.printJson({ ok: report.health === 'ok', ...report });
    return;
  }
  ctx.print(
    `${ctx.rel(report.path)}: ${paintState(ctx.paint, report.health)} (${report.format}), ${plural(report.events, 'event')}, ${humanBytes(report.bytes)}, ids ${report.firstId ?? '-'}..${report.lastId ?? '-'}`,
  );
  for (const p of report.problems)
    ctx.print(`  line ${humanCount(p.line)} at byte ${humanCount(p.offset)} (${humanBytes(p.length)}) ${ctx.paint('red', p.kind)} [${p.code}]: ${p.message}`);
}
