import * as path from 'node:path';
import { z } from 'zod';
import { discoverLedgers, listLocks, withinRoot } from '../../engine';
import { defineCommand, Exit } from '../command';
import { displayPath, formatLock, oneLine } from '../format';
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
    for (const file of ledgerPaths) ledgers.push(await withinRoot(dir, () => summarizeLedger(file)));
    const problems = locks.filter((l) => l.reapable).length + ledgers.filter((l) => l.health !== 'ok').length;
    if (ctx.json) {
      ctx.printJson({ ok: problems === 0, dir, locks, ledgers });
    } else {
      ctx.print(`locks (${locks.length}):`);
      for (const lock of locks) ctx.print(`  ${formatLock(lock)}`);
      ctx.print(`ledgers (${ledgers.length}):`);
      for (const l of ledgers) {
        const detail = l.error ? `${l.error.code}: ${l.error.message}` : l.problems[0] ? l.problems[0].message : '';
        ctx.print(`  ${l.health.padEnd(7)} ${String(l.events).padStart(8)} events ${String(l.bytes).padStart(10)} B  last id ${l.lastId ?? '-'}  ${displayPath(l.path)}${detail ? `  — ${oneLine(detail)}` : ''}`);
      }
    }
    return problems > 0 ? Exit.Problem : Exit.Ok;
  },
});
