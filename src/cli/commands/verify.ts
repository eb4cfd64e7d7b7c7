import { z } from 'zod';
import type { VerifyReport } from '../../engine';
import { defineCommand, Exit, type CommandContext } from '../command';
import { humanBytes, humanCount, paintState, plural } from '../format';
import { toolRootFlag, toolRoots, withLedgerOrSession } from './tool-root';

export const verifyCommand = defineCommand({
  name: 'verify',
  usage: 'verify LEDGER [--tool-root TOOL=PATH ...]',
  summary: "Check every record (framing, checksum, id order; a foreign file by its tool's rules); exit 1 if it is torn or corrupt.",
  valueFlags: ['tool-root'],
  repeatFlags: ['tool-root'],
  flags: z.object({ 'tool-root': toolRootFlag }).strict(),
  positionals: [1, 1],
  async run(ctx) {
    const progress = ctx.progress('verifying', 'bytes');
    const report = await withLedgerOrSession(ctx.io.cwd, ctx.positionals[0]!, toolRoots(ctx.flags['tool-root']), { create: false, telemetry: false }, (l) =>
      l.verify({ onProgress: (bytes, total) => progress.update(bytes, total) }),
    );
    progress.end();
    printReport(ctx, report);
    return report.health === 'ok' ? Exit.Ok : Exit.Problem;
  },
});

/** A foreign file's tool as people name it. */
export function toolName(profile: VerifyReport['profile']): string {
  return profile === 'claude-code' ? 'Claude Code session' : profile === 'codex' ? 'Codex rollout' : 'JSONL';
}

export function printReport(ctx: CommandContext<unknown>, report: VerifyReport): void {
  if (ctx.json) {
    ctx.printJson({ ok: report.health === 'ok', ...report });
    return;
  }
  // A foreign file's records have no ids: it is told in lines and records (README.md, "Agent sessions").
  const what =
    report.format === 'foreign'
      ? `(foreign: ${toolName(report.profile)}), ${plural(report.events, 'record')}, ${humanBytes(report.bytes)}${report.lastId !== null ? `, last record on line ${humanCount(report.lastId)}` : ''}`
      : `(${report.format}), ${plural(report.events, 'event')}, ${humanBytes(report.bytes)}, ids ${report.firstId ?? '-'}..${report.lastId ?? '-'}`;
  ctx.print(`${ctx.rel(report.path)}: ${paintState(ctx.paint, report.health)} ${what}`);
  for (const p of report.problems)
    ctx.print(`  line ${humanCount(p.line)} at byte ${humanCount(p.offset)} (${humanBytes(p.length)}) ${ctx.paint('red', p.kind)} [${p.code}]: ${p.message}`);
}
