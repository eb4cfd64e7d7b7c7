import * as path from 'node:path';
import { z } from 'zod';
import { discoverLedgers, listLocks, vantageSummary, withinRoot } from '../../engine';
import { fsl } from '../../engine/fs';
import { printVantageNote } from './locks';
import { defineCommand, Exit } from '../command';
import { formatLock, humanBytes, humanCount, oneLine, paintState } from '../format';
import { lockTiming, lockTimingFlags } from '../flags';
import { summarizeLedger } from './ledger-summary';

export const statusCommand = defineCommand({
  name: 'status',
  usage: 'status [DIR] [--stale-ms MS] [--contention-ms MS]',
  summary: 'Locks and ledgers under DIR (default: cwd) with their state; exit 1 if a lock is stale or a ledger damaged.',
  valueFlags: ['stale-ms', 'contention-ms'],
  flags: z.object(lockTimingFlags).strict(),
  positionals: [0, 1],
  async run(ctx) {
    const dir = path.resolve(ctx.io.cwd, ctx.positionals[0] ?? '.');
    const [locks, ledgerPaths] = await withinRoot(dir, () => Promise.all([listLocks(dir, lockTiming(ctx.flags)), discoverLedgers(dir)]));
    const ledgers = [];
    // Progress over the bytes of every ledger, since verifying them is what takes the time.
    const sizes = await Promise.all(
      ledgerPaths.map((file) =>
        fsl()
          .stat(file)
          .then(
            (s) => s.size,
            () => 0,
          ),
      ),
    );
    const total = sizes.reduce((a, b) => a + b, 0);
    const progress = ctx.progress('status: verifying ledgers', 'bytes');
    let before = 0;
    for (const [i, file] of ledgerPaths.entries()) {
      ledgers.push(await withinRoot(dir, () => summarizeLedger(file, (bytes) => progress.update(before + bytes, total))));
      before += sizes[i]!;
    }
    progress.end();
    const problems = locks.filter((l) => l.reapable).length + ledgers.filter((l) => l.health !== 'ok').length;
    if (ctx.json) {
      ctx.printJson({ ok: problems === 0, dir, vantage: vantageSummary(), locks, ledgers });
    } else {
      ctx.print(ctx.paint('bold', `locks (${humanCount(locks.length)}):`));
      for (const lock of locks) ctx.print(`  ${formatLock(lock, ctx.io.cwd, ctx.paint)}`);
      printVantageNote(ctx);
      ctx.print(ctx.paint('bold', `ledgers (${humanCount(ledgers.length)}):`));
      for (const l of ledgers) {
        const detail = l.error ? `${l.error.code}: ${l.error.message}` : l.problems[0] ? l.problems[0].message : '';
        ctx.print(
          `  ${paintState(ctx.paint, l.health, 7)} ${humanCount(l.events).padStart(10)} ${(l.format === 'foreign' ? (l.events === 1 ? 'record' : 'records') : l.events === 1 ? 'event' : 'events').padEnd(7)} ${humanBytes(l.bytes).padStart(10)}  ${l.format === 'foreign' ? `last line ${l.lastId !== null ? humanCount(l.lastId) : '-'}` : `last id ${l.lastId ?? '-'}`}  ${ctx.rel(l.path)}${detail ? ctx.paint('dim', `  — ${oneLine(detail)}`) : ''}`,
        );
      }
    }
    return problems > 0 ? Exit.Problem : Exit.Ok;
  },
});
