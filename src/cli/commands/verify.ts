import { z } from 'zod';
import type { VerifyReport } from '../../engine';
import { defineCommand, Exit, type CommandContext } from '../command';
import { withLedger } from './open';

export const verifyCommand = defineCommand({
  name: 'verify',
  usage: 'verify LEDGER',
  summary: 'Check every record (framing, checksum, id order); exit 1 if the ledger is torn or corrupt.',
  flags: z.object({}).strict(),
  positionals: [1, 1],
  async run(ctx) {
    const report = await withLedger(ctx.io.cwd, ctx.positionals[0]!, { create: false, telemetry: false }, (l) => l.verify());
    printReport(ctx, report);
    return report.health === 'ok' ? Exit.Ok : Exit.Problem;
  },
});

export function printReport(ctx: CommandContext<unknown>, report: VerifyReport): void {
  if (ctx.json) {
    ctx.printJson({ ok: report.health === 'ok', ...report });
    return;
  }
  ctx.print(`${report.path}: ${report.health} (${report.format}), ${report.events} events, ${report.bytes} bytes, ids ${report.firstId ?? '-'}..${report.lastId ?? '-'}`);
  for (const p of report.problems) ctx.print(`  line ${p.line} @${p.offset} (${p.length} B) ${p.kind} [${p.code}]: ${p.message}`);
}
