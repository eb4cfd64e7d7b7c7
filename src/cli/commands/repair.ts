import { z } from 'zod';
import type { RepairResult } from '../../engine';
import { defineCommand, Exit } from '../command';
import { bool } from '../flags';
import { humanBytes, humanCount } from '../format';
import { toolRootFlag, toolRoots, withLedgerOrSession } from './tool-root';

export const repairCommand = defineCommand({
  name: 'repair',
  usage: 'repair LEDGER [--remove-corrupt] [--tool-root TOOL=PATH ...]',
  summary:
    'Cut a torn tail into quarantine, reading from the end (a foreign file: also give back records glued onto torn ones or beside zero bytes); --remove-corrupt also quarantines damaged records mid-file.',
  valueFlags: ['tool-root'],
  repeatFlags: ['tool-root'],
  flags: z.object({ 'remove-corrupt': bool, 'tool-root': toolRootFlag }).strict(),
  positionals: [1, 1],
  async run(ctx) {
    return withLedgerOrSession(ctx.io.cwd, ctx.positionals[0]!, toolRoots(ctx.flags['tool-root']), { create: false }, async (ledger) => {
      const quarantined: { offset: number; removedBytes: number; quarantine: string }[] = [];
      const foreign = ledger.format === 'foreign';
      // A foreign repair first gives back the records inside damaged lines; only then are the
      // lines that hold none removed, so --remove-corrupt never takes a glued record with them.
      let result: RepairResult | undefined = foreign ? await ledger.repair() : undefined;
      if (ctx.flags['remove-corrupt']) {
        // Remove from the end backwards so earlier offsets stay valid.
        const report = await ledger.verify();
        const corrupt = report.problems
          .filter((p) => p.kind !== 'torn-tail' && p.kind !== 'missing-newline')
          .map((p) => p.offset)
          .sort((a, b) => b - a);
        for (const offset of new Set(corrupt)) quarantined.push({ offset, ...(await ledger.quarantineRecord(offset)) });
      }
      const last = await ledger.repair();
      // One result for both passes: what the first salvaged, what is left after the last.
      result =
        result === undefined
          ? last
          : last.repaired
            ? { ...last, salvaged: [...(result.salvaged ?? []), ...(last.salvaged ?? [])] }
            : { ...result, records: last.records, tail: { ...result.tail, lastId: last.tail.lastId } };
      if (ctx.json) {
        ctx.printJson({ ok: true, ...result, quarantined });
        return Exit.Ok;
      }
      for (const line of result.salvaged ?? []) {
        const kept = line.kept.map((k) => k.summary).join('; ');
        for (const c of line.cut)
          ctx.print(`line ${humanCount(line.line)}: moved ${humanBytes(c.length)} at byte ${humanCount(c.offset)} (${line.kind}) → ${ctx.rel(c.quarantine)}`);
        if (line.kept.length > 0)
          ctx.print(`line ${humanCount(line.line)}: kept ${line.kept.length === 1 ? 'the record' : `${line.kept.length} records`} in place: ${kept}`);
      }
      for (const q of quarantined)
        ctx.print(
          `quarantined the ${foreign ? 'damaged line' : 'corrupt record'} at byte ${humanCount(q.offset)} (${humanBytes(q.removedBytes)}) → ${ctx.rel(q.quarantine)}`,
        );
      if (result.repaired && (!foreign || result.tail.health === 'torn')) {
        const cut = foreign ? result.tail.problems.reduce((n, p) => n + p.length, 0) : result.bytesRemoved;
        ctx.print(
          `repaired: cut ${humanBytes(cut)} at byte ${humanCount(result.truncatedAt)} → ${result.quarantine !== undefined ? ctx.rel(result.quarantine) : '(not kept)'}`,
        );
      }
      if (foreign) {
        const records = result.records !== undefined ? `${humanCount(result.records)} complete records` : 'its records';
        ctx.print(
          result.repaired || quarantined.length > 0
            ? `${ctx.rel(ledger.path)} keeps ${records}${result.tail.lastId !== null ? `, the last on line ${humanCount(result.tail.lastId)}` : ''}; "ledgerlock verify" checks every line`
            : `nothing to repair: ${records} and no damage the repair can give back; "ledgerlock verify" checks every line`,
        );
      } else if (!result.repaired) {
        ctx.print(`nothing to repair: the tail is intact (last id ${result.tail.lastId ?? '-'}); "ledgerlock verify" checks every record`);
      }
      return Exit.Ok;
    });
  },
});
