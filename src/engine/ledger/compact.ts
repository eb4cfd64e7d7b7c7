/**
 * Compaction keeps the newest N events (or those after an id) and drops the rest: under the
 * lock, the kept bytes are streamed to a temp file, fsynced and renamed over the ledger. Ids
 * are unchanged, so a ledger's first id can be greater than 1. A damaged ledger is refused:
 * compaction must not hide a torn tail or corruption.
 */
import { ErrorCode, LedgerDamageError, LedgerlockError } from '../errors';
import { fsl } from '../fs';
import { checkCount } from '../options';
import type { TelemetryDraft } from '../telemetry';
import type { LedgerContext } from './context';
import { emptyIndex, extendIndex, saveIndex } from './index-file';
import { withLedgerLock } from './ledger-lock';
import { copyRange, rewriteLedger } from './repair';
import { verifyLedger } from './verify';
import type { CompactOptions, CompactResult } from './types';

export type { CompactOptions } from './types';

export async function compactLedger(ctx: LedgerContext, opts: CompactOptions, emit: (d: TelemetryDraft) => Promise<void>): Promise<CompactResult> {
  if (opts.keep === undefined && opts.afterId === undefined) {
    throw new LedgerlockError(ErrorCode.BadOption, 'compact needs keep (newest events to keep) or afterId', { path: ctx.path });
  }
  // keep: 0 would empty the ledger, and the next append would hand out its ids again.
  const keep = opts.keep === undefined ? undefined : checkCount('keep', opts.keep);
  const afterId = opts.afterId === undefined ? undefined : checkCount('afterId', opts.afterId, { allowZero: true });
  const result = await withLedgerLock(ctx.path, ctx.opts, async () => {
    const file = await fsl().open(ctx.path, 'r');
    try {
      const size = (await file.stat()).size;
      // Offsets of the newest `keep` events, in a ring, so memory stays bounded by keep, not by the ledger.
      const ring: number[] = [];
      let seen = 0;
      let afterCut: number | undefined;
      let afterIndex = 0;
      const report = await verifyLedger(file, ctx.path, ctx.format, size, {
        maxLineBytes: ctx.opts.maxLineBytes,
        onProgress: opts.onProgress,
        onEvent(e) {
          if (keep) {
            if (ring.length < keep) ring.push(e.offset);
            else ring[seen % keep] = e.offset;
          }
          if (afterId !== undefined && afterCut === undefined && e.id > afterId) {
            afterCut = e.offset;
            afterIndex = seen;
          }
          seen++;
        },
      });
      if (report.health !== 'ok') {
        const code = report.health === 'torn' ? ErrorCode.LedgerTorn : ErrorCode.LedgerCorrupt;
        throw new LedgerDamageError(code, `${ctx.path} is ${report.health}; repair it before compacting`, {
          path: ctx.path,
          health: report.health,
          problems: report.problems.length,
        });
      }
      // Both bounds select a suffix of the events; with both, the shorter suffix wins.
      let cut = 0;
      let kept = seen;
      if (keep !== undefined && seen > keep) {
        cut = keep === 0 ? size : ring[(seen - keep) % keep]!;
        kept = keep;
      }
      if (afterId !== undefined) {
        const keptAfter = afterCut === undefined ? 0 : seen - afterIndex;
        if (keptAfter < kept) {
          kept = keptAfter;
          cut = afterCut ?? size;
        }
      }
      if (cut === 0) return { kept: seen, removed: 0, bytesBefore: size, bytesAfter: size };
      await rewriteLedger(ctx, async (out) => {
        await copyRange(file, out, cut, size, 0);
      });
      ctx.tailCache = null;
      return { kept, removed: seen - kept, bytesBefore: size, bytesAfter: size - cut };
    } finally {
      await file.close();
    }
  });
  if (result.removed > 0) {
    await rebuildIndex(ctx);
    await emit({ type: 'LEDGER_COMPACTED', data: { ledger: ctx.path, ...result } });
  }
  return result;
}

/** After a rewrite the old index describes bytes that are gone: build a fresh one. */
async function rebuildIndex(ctx: LedgerContext): Promise<void> {
  const file = await fsl().open(ctx.path, 'r');
  try {
    const index = await extendIndex(emptyIndex(ctx.format), { file, format: ctx.format, size: (await file.stat()).size, maxLineBytes: ctx.opts.maxLineBytes });
    ctx.index = index;
    if (ctx.indexPath) await saveIndex(ctx.indexPath, index);
  } finally {
    await file.close();
  }
}
