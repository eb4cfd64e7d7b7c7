import { z } from 'zod';
import { readBlobsConfig, relocateBlobs, resumeRelocation, snapshotPaths } from '../../engine';
import { defineCommand, Exit } from '../command';
import { bool, millis } from '../flags';
import { workspaceRoot } from './workspace';

export const relocateCommand = defineCommand({
  name: 'relocate',
  usage: 'relocate [TARGET] [--remove-source] [--root DIR] [--timeout MS]',
  summary: 'Move the blob store to TARGET: copy, verify every blob, then switch; idempotent and resumable. Without TARGET, finish an interrupted relocation or show where the blobs live.',
  valueFlags: ['root', 'timeout'],
  flags: z.object({ root: z.string().min(1).optional(), 'remove-source': bool, timeout: millis.optional() }).strict(),
  positionals: [0, 1],
  async run(ctx) {
    const root = await workspaceRoot(ctx.io.cwd, ctx.flags.root);
    const options = {
      ...(ctx.flags.timeout !== undefined ? { lockTimeoutMs: ctx.flags.timeout } : {}),
      removeSource: ctx.flags['remove-source'] === true,
      tool: 'ledgerlock relocate',
    };
    const target = ctx.positionals[0];
    const result = target !== undefined ? await relocateBlobs(root, target, options) : await resumeRelocation(root, options);
    if (result === undefined) {
      const config = await readBlobsConfig(snapshotPaths(root));
      if (ctx.json) ctx.printJson({ ok: true, root: config.root, relocation: null });
      else ctx.print(`blobs live in ${config.root}; no relocation is under way`);
      return Exit.Ok;
    }
    if (ctx.json) ctx.printJson({ ok: true, ...result });
    else if (result.cancelled) ctx.print(`cancelled the unfinished relocation to ${result.to}; blobs stay in ${result.from}`);
    else if (result.alreadyThere) ctx.print(`blobs already live in ${result.to}`);
    else ctx.print(`${result.resumed ? 'resumed and finished' : 'finished'} relocating blobs ${result.from} → ${result.to}: ${result.copied} copied, ${result.verified} verified${options.removeSource ? `, ${result.removedSource} source copies removed` : ''}`);
    return Exit.Ok;
  },
});
