import { z } from 'zod';
import type { LedgerEvent } from '../../engine';
import { parseJson } from '../../engine/text';
import { defineCommand, Exit } from '../command';
import { readLines } from '../lines';
import { withLedger } from './open';

/**
 * Test hook: die by SIGKILL after an append is durable and before its id is printed, the
 * window in which a caller that retries without a key would duplicate the event.
 */
const KILL_BEFORE_PRINT = process.env.LEDGERLOCK_TEST_KILL_BEFORE_PRINT === '1';

/** Lines per batch at most: one write and one flush each. */
const MAX_BATCH = 4096;
const MAX_LINE_BYTES = 1024 * 1024;

const IDLE = Symbol('stdin has nothing ready');
/** Resolves after pending I/O callbacks have run: a line not there by then is not ready. */
const idle = () => new Promise<typeof IDLE>((resolve) => setImmediate(() => resolve(IDLE)));

export const appendCommand = defineCommand({
  name: 'append',
  usage: 'append LEDGER [--type T] [--data JSON] [--key K] [--durability fsync|batch|none]',
  summary: 'Append one event (--data), or one per stdin line; print each id once it is durable. With --key, a retry appends nothing twice.',
  valueFlags: ['type', 'data', 'key', 'durability'],
  flags: z
    .object({
      type: z.string().min(1, 'must not be empty').max(256).optional(),
      data: z.string().optional(),
      // Stdin line n gets the key `K:n`, so a retried pipe skips the lines already appended.
      key: z.string().min(1, 'must not be empty').max(240).optional(),
      durability: z.enum(['fsync', 'batch', 'none']).optional(),
    })
    .strict(),
  positionals: [1, 1],
  async run(ctx) {
    const type = ctx.flags.type ?? 'event';
    const data = ctx.flags.data;
    const key = ctx.flags.key;
    const ids: number[] = [];
    const announce = (event: LedgerEvent) => {
      if (KILL_BEFORE_PRINT) process.kill(process.pid, 'SIGKILL');
      ids.push(event.id);
      if (!ctx.json) ctx.print(String(event.id));
    };
    await withLedger(ctx.io.cwd, ctx.positionals[0]!, { create: true, durability: ctx.flags.durability ?? 'fsync', tool: 'ledgerlock-cli' }, async (ledger) => {
      if (data !== undefined) {
        announce(ledger.appendSync(type, parseJson(data, { what: '--data' }), key === undefined ? undefined : { key }));
        return;
      }
      // Lines that arrive together go out as one batch (one write, one flush); a batch is cut
      // as soon as stdin has nothing more ready, so a slow producer still sees each id at once.
      // A batch that fails is rolled back whole, so every id printed is on disk and nothing
      // unprinted is; the one exception is a batch whose lock was taken away (E_LOCK_COMPROMISED),
      // which is never printed and whose error says which of its ids are on disk.
      const lines = readLines(ctx.io.stdin, MAX_LINE_BYTES)[Symbol.asyncIterator]();
      let batch: { type: string; data: unknown; key?: string }[] = [];
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
        batch.push(key === undefined ? { type, data: value } : { type, data: value, key: `${key}:${line}` });
      }
      flush();
    });
    if (ctx.json) ctx.printJson({ ok: true, ids });
    return Exit.Ok;
  },
});
