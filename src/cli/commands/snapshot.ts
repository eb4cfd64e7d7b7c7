import { z } from 'zod';
import { collectGarbage, createSnapshot, deleteSnapshot, diffSnapshot, listSnapshots, restoreSnapshot, snapshotPaths, verifySnapshots } from '../../engine';
import { usage } from '../args';
import { defineCommand, Exit, type CommandContext } from '../command';
import { bool, count, millis } from '../flags';
import { humanBytes, humanCount, plural } from '../format';
import { workspaceRoot } from './workspace';

const ACTIONS = ['create', 'list', 'diff', 'restore', 'verify', 'gc', 'delete'] as const;
type Action = (typeof ACTIONS)[number];

/** Splits `a/*.json,b/{x,y}.yaml` on the commas outside braces. */
function splitGlobs(list: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < list.length; i++) {
    if (list[i] === '{') depth++;
    else if (list[i] === '}') depth = Math.max(0, depth - 1);
    else if (list[i] === ',' && depth === 0) {
      out.push(list.slice(start, i));
      start = i + 1;
    }
  }
  out.push(list.slice(start));
  return out.map((g) => g.trim()).filter((g) => g.length > 0);
}

const snapshotFlags = z
  .object({
    root: z.string().min(1).optional(),
    include: z.string().min(1).optional(),
    label: z.string().max(200).optional(),
    'grace-ms': count.optional(),
    timeout: millis.optional(),
    'max-blob-bytes': count.refine((n) => n > 0, 'must be at least 1').optional(),
    'dry-run': bool,
    'no-backup': bool,
  })
  .strict();

export const snapshotCommand = defineCommand({
  name: 'snapshot',
  usage:
    'snapshot create|list|diff|restore|verify|gc|delete [ID] [--root DIR] [--include GLOBS] [--label TEXT] [--grace-ms MS] [--dry-run] [--no-backup] [--timeout MS]',
  summary:
    'Point-in-time copies of the state documents (and --include globs, comma-separated): take, list, diff against now, restore, verify blobs, collect garbage.',
  valueFlags: ['root', 'include', 'label', 'grace-ms', 'timeout', 'max-blob-bytes'],
  flags: snapshotFlags,
  positionals: [1, 2],
  async run(ctx) {
    const action = ctx.positionals[0] as Action;
    if (!ACTIONS.includes(action)) throw usage(`unknown snapshot action ${JSON.stringify(action)}; use one of ${ACTIONS.join(', ')}`);
    const id = ctx.positionals[1];
    const root = await workspaceRoot(ctx.io.cwd, ctx.flags.root);
    const progress = ctx.progress(`snapshot ${action}`, 'items');
    const options = {
      onProgress: (done: number, total: number) => progress.update(done, total),
      ...(ctx.flags.timeout !== undefined ? { lockTimeoutMs: ctx.flags.timeout } : {}),
      ...(ctx.flags['max-blob-bytes'] !== undefined ? { maxBlobBytes: ctx.flags['max-blob-bytes'] } : {}),
      tool: `ledgerlock snapshot ${action}`,
    };
    const needsId = action === 'restore' || action === 'delete';
    if (needsId && id === undefined) throw usage(`usage: ledgerlock snapshot ${action} ID`);
    if ((action === 'create' || action === 'list' || action === 'gc') && id !== undefined) throw usage(`snapshot ${action} takes no ID`);

    try {
      return await runAction(ctx, action, root, id, options);
    } finally {
      progress.end();
    }
  },
});

type SnapshotContext = CommandContext<z.infer<typeof snapshotFlags>>;
type StoreOptions = { onProgress: (done: number, total: number) => void; lockTimeoutMs?: number; maxBlobBytes?: number; tool: string };

async function runAction(ctx: SnapshotContext, action: Action, root: string, id: string | undefined, options: StoreOptions): Promise<number> {
  switch (action) {
    case 'create': {
      const r = await createSnapshot(root, {
        ...options,
        include: splitGlobs(ctx.flags.include ?? ''),
        ...(ctx.flags.label !== undefined ? { label: ctx.flags.label } : {}),
      });
      if (ctx.json)
        ctx.printJson({
          ok: true,
          id: r.manifest.id,
          path: r.path,
          files: r.manifest.files.length,
          blobsWritten: r.blobsWritten,
          bytesWritten: r.bytesWritten,
          manifest: r.manifest,
        });
      else
        ctx.print(
          `created snapshot ${r.manifest.id}: ${plural(r.manifest.files.length, 'file')}, ${plural(r.blobsWritten, 'new blob')} (${humanBytes(r.bytesWritten)}), ${plural(r.manifest.ledgers.length, 'ledger position')}`,
        );
      return Exit.Ok;
    }
    case 'list': {
      const { snapshots, unreadable } = await listSnapshots(snapshotPaths(root));
      if (ctx.json) ctx.printJson({ ok: unreadable.length === 0, snapshots, unreadable });
      else {
        if (snapshots.length === 0) ctx.print('no snapshots');
        for (const s of snapshots)
          ctx.print(
            `${s.current ? ctx.paint('green', '*') : ' '} ${s.id}  ${s.createdAt}  ${humanCount(s.files).padStart(5)} files ${humanBytes(s.bytes).padStart(10)}${s.label ? `  ${s.label}` : ''}`,
          );
        for (const u of unreadable) ctx.print(`${ctx.paint('red', '!')} ${ctx.rel(u.path)}: ${u.code}: ${u.message}`);
      }
      return unreadable.length === 0 ? Exit.Ok : Exit.Problem;
    }
    case 'diff': {
      const d = await diffSnapshot(root, id ?? 'current');
      if (ctx.json) ctx.printJson({ ok: true, ...d });
      else {
        const mark = { added: 'A', removed: 'D', modified: 'M' } as const;
        ctx.print(`since snapshot ${d.snapshot}: ${d.files.length} file(s) changed, ${d.unchangedFiles} unchanged`);
        for (const f of d.files) ctx.print(`  ${mark[f.change]} ${f.path}`);
        for (const l of d.ledgers) ctx.print(`  ledger ${l.name}: ${l.change} (last id ${l.lastIdThen ?? '-'} → ${l.lastIdNow ?? '-'})`);
      }
      return Exit.Ok;
    }
    case 'restore': {
      const r = await restoreSnapshot(root, id!, { ...options, backup: ctx.flags['no-backup'] !== true });
      if (ctx.json) ctx.printJson({ ok: true, ...r });
      else {
        ctx.print(
          `restored snapshot ${r.snapshot}: ${humanCount(r.written.length)} written, ${humanCount(r.removed.length)} removed, ${humanCount(r.unchanged)} already matched`,
        );
        for (const f of r.written) ctx.print(`  W ${f}`);
        for (const f of r.removed) ctx.print(`  D ${f}`);
        if (r.backup) ctx.print(`the state before the restore is snapshot ${r.backup}`);
      }
      return Exit.Ok;
    }
    case 'verify': {
      const r = await verifySnapshots(root, { ...options, ...(id !== undefined ? { snapshot: id } : {}) });
      if (ctx.json) ctx.printJson(r);
      else {
        ctx.print(
          `${r.ok ? ctx.paint('green', 'ok') : ctx.paint('red', 'PROBLEMS')}: ${plural(r.snapshots.length, 'snapshot')}, ${plural(r.blobsChecked, 'blob')} re-hashed`,
        );
        for (const p of r.problems)
          ctx.print(`  ${ctx.paint('red', p.problem)} blob ${ctx.rel(p.path)} (needed by ${p.usedBy.map((u) => `${u.snapshot}:${u.path}`).join(', ')})`);
        for (const u of r.unreadable) ctx.print(`  unreadable manifest ${ctx.rel(u.path)}: ${u.code}: ${u.message}`);
      }
      return r.ok ? Exit.Ok : Exit.Problem;
    }
    case 'gc': {
      const r = await collectGarbage(root, {
        ...options,
        dryRun: ctx.flags['dry-run'] === true,
        ...(ctx.flags['grace-ms'] !== undefined ? { graceMs: ctx.flags['grace-ms'] } : {}),
      });
      if (ctx.json) ctx.printJson({ ok: true, ...r });
      else
        ctx.print(
          `${r.dryRun ? 'would sweep' : 'swept'} ${plural(r.swept.length, 'blob')}, ${humanBytes(r.sweptBytes)}; ${humanCount(r.referenced)} referenced, ${humanCount(r.young)} unreferenced but inside the grace period; ${plural(r.tempRemoved, 'temp file')}`,
        );
      return Exit.Ok;
    }
    case 'delete': {
      const r = await deleteSnapshot(root, id!, options);
      if (ctx.json) ctx.printJson({ ok: true, ...r });
      else ctx.print(`deleted snapshot ${r.id}; its blobs go at the next "snapshot gc"`);
      return Exit.Ok;
    }
  }
}
