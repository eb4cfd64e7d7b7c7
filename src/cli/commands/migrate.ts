import { z } from 'zod';
import { migrateStore } from '../../engine';
import { defineCommand, Exit } from '../command';
import { bool, millis } from '../flags';
import { workspaceRoot } from './workspace';

export const migrateCommand = defineCommand({
  name: 'migrate',
  usage: 'migrate [--root DIR] [--dry-run] [--timeout MS]',
  summary: 'Bring an older store format up to date, one step at a time; resumes a crashed migration. A newer store is refused (exit 2).',
  valueFlags: ['root', 'timeout'],
  flags: z.object({ root: z.string().min(1).optional(), 'dry-run': bool, timeout: millis.optional() }).strict(),
  positionals: [0, 0],
  async run(ctx) {
    const root = await workspaceRoot(ctx.io.cwd, ctx.flags.root);
    const progress = ctx.progress('migrate', 'items');
    const r = await migrateStore(root, {
      dryRun: ctx.flags['dry-run'] === true,
      onProgress: (done, total) => progress.update(done, total),
      ...(ctx.flags.timeout !== undefined ? { lockTimeoutMs: ctx.flags.timeout } : {}),
    }).finally(() => progress.end());
    if (ctx.json) ctx.printJson({ ok: true, dryRun: ctx.flags['dry-run'] === true, ...r });
    else if (r.steps.length === 0 && !r.resumed) ctx.print(`${ctx.rel(r.store)} is at format ${r.to}; nothing to migrate`);
    else {
      ctx.print(
        `${ctx.rel(r.store)}: ${ctx.flags['dry-run'] ? 'would migrate' : 'migrated'} format ${r.from} → ${r.to}${r.resumed ? ' (resumed an interrupted migration)' : ''}`,
      );
      for (const s of r.steps) ctx.print(`  ${s.from} → ${s.to}: ${s.summary}`);
    }
    return Exit.Ok;
  },
});
