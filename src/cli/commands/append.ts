import { z } from 'zod';
import type { LedgerEvent } from '../../engine';
import { parseJson } from '../../engine/text';
import { defineCommand, Exit } from '../command';
import { readLines } from '../lines';
import { withLedger } from './open';

const MAX_IN_FLIGHT = 4096;
const MAX_LINE_BYTES = 1024 * 1024;

export const appendCommand = defineCommand({
  name: 'append',
  usage: 'append LEDGER [--type T] [--data JSON] [--durability fsync|batch|none]',
  summary: 'Append one event (--data), or one per stdin line; print each id once it is durable.',
  valueFlags: ['type', 'data', 'durability'],
  flags: z
    .object({
      type: z.string().min(1, 'must not be empty').max(256).optional(),
      data: z.string().optional(),
      durability: z.enum(['fsync', 'batch', 'none']).optional(),
    })
    .strict(),
  positionals: [1, 1],
  async run(ctx) {
    const type = ctx.flags.type ?? 'event';
    const data = ctx.flags.data;
    const ids: number[] = [];
    const announce = (event: LedgerEvent) => {
      ids.push(event.id);
      if (!ctx.json) ctx.print(String(event.id));
    };
    await withLedger(ctx.io.cwd, ctx.positionals[0]!, { create: true, durability: ctx.flags.durability ?? 'fsync', tool: 'ledgerlock-cli' }, async (ledger) => {
      if (data !== undefined) {
        announce(await ledger.append(type, parseJson(data, { what: '--data' })));
        return;
      }
      // Appends go out without waiting for each other so the ledger can group-commit them;
      // ids are announced strictly in order, each only after its own append resolved.
      const inFlight: Promise<LedgerEvent>[] = [];
      let failure: unknown;
      const drainOne = async () => announce(await inFlight.shift()!);
      try {
        for await (const { text, line } of readLines(ctx.io.stdin, MAX_LINE_BYTES)) {
          if (text.trim() === '') continue;
          const value = parseJson(text, { what: `stdin line ${line}`, line });
          const pending = ledger.append(type, value);
          pending.catch(() => undefined); // surfaced in order by drainOne
          inFlight.push(pending);
          while (inFlight.length >= MAX_IN_FLIGHT) await drainOne();
        }
      } catch (err) {
        failure = err;
      }
      while (inFlight.length > 0) await drainOne();
      if (failure !== undefined) throw failure;
    });
    if (ctx.json) ctx.printJson({ ok: true, ids });
    return Exit.Ok;
  },
});

