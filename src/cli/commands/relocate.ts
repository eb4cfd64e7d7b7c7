import { z } from 'zod';
import { claimBlobStore, readBlobsConfig, relocateBlobs, resumeRelocation, snapshotPaths } from '../../engine';
import { usage } from '../args';
import { defineCommand, Exit } from '../command';
import { bool, millis } from '../flags';
import { humanCount } from '../format';
import { workspaceRoot } from './workspace';

export const relocateCommand = defineCommand({
  name: 'relocate',
  usage: 'relocate [TARGET] [--remove-source] [--claim] [--root DIR] [--timeout MS]',
  summary:
    "Move the blob store to TARGET: copy, verify every blob, then switch; idempotent and resumable. Without TARGET, finish an interrupted relocation or show where the blobs live. --claim: make the outside blob store this (moved) workspace's again.",
  valueFlags: ['root', 'timeout'],
  flags: z.object({ root: z.string().min(1).optional(), 'remove-source': bool, claim: bool, timeout: millis.optional() }).strict(),
  positionals: [0, 1],
  async run(ctx) {
    const root = await workspaceRoot(ctx.io.cwd, ctx.flags.root);
    if (ctx.flags.claim === true) {
      if (ctx.positionals[0] !== undefined || ctx.flags['remove-source'] === true) throw usage('--claim takes no TARGET and no --remove-source');
      const claimed = await claimBlobStore(root, {
        ...(ctx.flags.timeout !== undefined ? { lockTimeoutMs: ctx.flags.timeout } : {}),
        tool: 'ledgerlock relocate',
      });
      if (ctx.json) ctx.printJson({ ok: true, ...claimed });
      else if (claimed.alreadyOurs) ctx.print(`the blob store ${ctx.rel(claimed.root)} already belongs to this workspace`);
      else
        ctx.print(
          `claimed the blob store ${ctx.rel(claimed.root)} for this workspace${claimed.previousOwner !== null ? ` (it named ${claimed.previousOwner}, which no longer exists)` : ''}: ${humanCount(claimed.verified)} blobs the snapshots need found intact`,
        );
      return Exit.Ok;
    }
    const progress = ctx.progress('relocate: copying and verifying blobs', 'items');
    const options = {
      onProgress: (done: number, total: number) => progress.update(done, total),
      ...(ctx.flags.timeout !== undefined ? { lockTimeoutMs: ctx.flags.timeout } : {}),
      removeSource: ctx.flags['remove-source'] === true,
      tool: 'ledgerlock relocate',
    };
    const target = ctx.positionals[0];
    const result = await (target !== undefined ? relocateBlobs(root, target, options) : resumeRelocation(root, options)).finally(() => progress.end());
    if (result === undefined) {
      const config = await readBlobsConfig(snapshotPaths(root));
      if (ctx.json) ctx.printJson({ ok: true, root: config.root, relocation: null });
      else ctx.print(`blobs live in ${ctx.rel(config.root)}; no relocation is under way`);
      return Exit.Ok;
    }
    if (ctx.json) ctx.printJson({ ok: true, ...result });
    else if (result.cancelled) ctx.print(`cancelled the unfinished relocation to ${ctx.rel(result.to)}; blobs stay in ${ctx.rel(result.from)}`);
    else if (result.alreadyThere) ctx.print(`blobs already live in ${ctx.rel(result.to)}`);
    else
      ctx.print(
        `${result.resumed ? 'resumed and finished' : 'finished'} relocating blobs ${ctx.rel(result.from)} → ${ctx.rel(result.to)}: ${humanCount(result.copied)} copied, ${humanCount(result.verified)} verified${options.removeSource ? `, ${humanCount(result.removedSource)} source copies removed` : ''}`,
      );
    return Exit.Ok;
  },
});
