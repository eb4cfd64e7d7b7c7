import { z } from 'zod';
import type { LedgerEvent } from '../../engine';
import { parseJson } from '../../engine/text';
import { defineCommand, Exit } from '../command';
import { readLines } from '../lines';
import { withLedger } from './open';

/** Lines per batch at most: one write and one flush each. */
const MAX_BATCH = 4096;
const MAX_LINE_BYTES = 1024 * 1024;

const IDLE = Symbol('stdin has nothing ready');
/** Resolves after pending I/O callbacks have run: a line not there by then is not ready. */
const idle = () => new Promise<typeof IDLE>((resolve) => setImmediate(() => resolve(IDLE)));

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
        announce(ledger.appendSync(type, parseJson(data, { what: '--data' })));
        return;
      }
      // Lines that arrive together go out as one batch (one write, one flush); a batch is cut
      // as soon as stdin has nothing more ready, so a slow producer still sees each id at once.
      // A batch that fails is rolled back whole, so every id printed is on disk and nothing
      // unprinted is; the one exception is a batch whose lock was taken away (E_LOCK_COMPROMISED),
      // which is never printed and whose error says which of its ids are on disk.
      const lines = readLines(ctx.io.stdin, MAX_LINE_BYTES)[Symbol.asyncIterator]();
      let batch: { type: string; data: unknown }[] = [];
      const flush = () => {
        if (batch.length === 0) return;
        const events = ledger.appendManySync(batch);
        batch = [];
        for (const e of events) announce(e);
      };
      for (;;) {
        const next = lines.next();
        let step = batch.length > 0 ? await Promise.race([next, idle()]) : await next;
        if (step === IDLE || batch.length >= MAX_BATCH) {
          flush();
          if (step === IDLE) step = await next;
        }
        if (step.done) break;
        const { text, line } = step.value;
        if (text.trim() === '') continue;
        let value: unknown;
        try {
          value = parseJson(text, { what: `stdin line ${line}`, line });
        } catch (err) {
          flush(); // the lines before a bad one are appended and announced
          throw err;
        }
        batch.push({ type, data: value });
      }
      flush();
    });
    if (ctx.json) ctx.printJson({ ok: true, ids });
    return Exit.Ok;
  },
});
