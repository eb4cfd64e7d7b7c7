/**
 * Repair has one precise contract: only damage at the END (a torn tail, or everything from a
 * hole a power loss left in the last HOLE_WINDOW_BYTES: holes.ts) is cut, its bytes are
 * copied to quarantine and made durable before the truncate, and a healthy tail is left
 * alone, so repairing twice is the same as once. It reads backwards from the end to the newest
 * valid record, so its cost follows the damage, not the ledger's size. Damage followed by
 * valid records is corruption: never cut here, reported by verify, removed only by the
 * explicit `quarantineRecord`.
 */
import * as path from 'node:path';
import { syncParentDir, tempPathFor } from '../atomic';
import { ErrorCode, LedgerlockError } from '../errors';
import { fsl, type OpenFile } from '../fs';
import { storePathsOf } from '../store';
import type { TelemetryDraft } from '../telemetry';
import type { LedgerContext } from './context';
import { detectFormat, ForeignWalk, profileOf } from './foreign';
import { findHoleSync } from './holes';
import { interpretLine, type Interpretation } from './interpret';
import { refuseWhileWritten } from './live-writer';
import { withWriterLock } from './ledger-lock';
import { quarantineBytesSync } from './quarantine';
import { scanLines } from './scan';
import { linesBackwardSync, readBackward } from './reverse';
import type { LedgerProblem, RepairResult, SalvagedLine } from './types';

/** Quarantines [validEnd, size) then truncates to validEnd and fsyncs. Caller holds the lock. */
export function cutTornTail(ctx: LedgerContext, file: OpenFile, validEnd: number, size: number): string {
  if (validEnd === 0) refuseWithoutRecord(ctx, file, size);
  const quarantine = quarantineBytesSync(ctx.quarantineDir, ctx.path, file, validEnd, size, 'torn-tail');
  file.truncateSync(validEnd);
  file.datasyncSync();
  ctx.tailCache = null;
  ctx.keyWindow = null;
  return quarantine;
}

/**
 * A torn tail is damage after the last valid record. A file with no valid record is cut only
 * while it holds nothing but an unfinished first write (no complete line); any complete line
 * that is not a record means it is not a ledger, or a wholly corrupt one, and nothing is cut.
 */
const NEWLINE = Buffer.from('\n');

function refuseWithoutRecord(ctx: LedgerContext, file: OpenFile, size: number): void {
  // Read backwards (synchronously, under the lock): every complete line must be empty or NUL fill.
  for (const raw of linesBackwardSync(file, size, ctx.opts.maxLineBytes)) {
    if (!raw.terminated) continue;
    if (raw.bytes !== null && (raw.bytes.length === 0 || raw.bytes.every((b) => b === 0))) continue;
    const native = raw.bytes !== null && detectFormat(Buffer.concat([raw.bytes, NEWLINE]), false) === 'ledgerlock' && ctx.format === 'ledgerlock';
    const details = { path: ctx.path, bytes: size, offset: raw.offset };
    if (native) {
      throw new LedgerlockError(
        ErrorCode.LedgerCorrupt,
        `${ctx.path} is wholly corrupt: it holds no valid record (the line at offset ${raw.offset} is a damaged one), so there is no tail to cut; nothing was changed`,
        details,
      );
    }
    throw new LedgerlockError(
      ErrorCode.NotALedger,
      `${ctx.path} is not a ledger: none of its lines is a ${ctx.format === 'foreign' ? 'JSON value' : 'Ledgerlock record'} (the line at offset ${raw.offset} is not), so nothing was cut`,
      details,
    );
  }
}

export async function repairLedger(ctx: LedgerContext, emit: (d: TelemetryDraft) => Promise<void>): Promise<RepairResult> {
  if (ctx.format === 'foreign') return repairForeign(ctx, emit);
  const result = await withWriterLock(ctx.path, ctx.format, ctx.opts, async () => {
    const file = await fsl().open(ctx.path, 'r+');
    try {
      let size = (await file.stat()).size;
      const hole = ctx.format === 'ledgerlock' ? findHoleSync(file, size, ctx.opts.maxLineBytes) : null;
      let holeCut: { at: number; bytes: number; quarantine: string } | undefined;
      if (hole !== null && hole < size) {
        holeCut = { at: hole, bytes: size - hole, quarantine: cutTornTail(ctx, file, hole, size) };
        size = hole;
      }
      const tail = await readBackward(file, ctx.format, size, 1, ctx.opts.maxLineBytes);
      const lastId = tail.events[0]?.id ?? null;
      if (holeCut !== undefined && !tail.damagedAfterValid) {
        const problem = {
          kind: 'torn-tail' as const,
          code: ErrorCode.LedgerTorn,
          offset: holeCut.at,
          length: holeCut.bytes,
          line: 0,
          message: `a hole of zero bytes (writes lost in a power loss) at offset ${holeCut.at}: the ${holeCut.bytes} bytes from there on were never acknowledged`,
        };
        return {
          repaired: true,
          bytesRemoved: holeCut.bytes,
          quarantine: holeCut.quarantine,
          truncatedAt: holeCut.at,
          tail: { health: 'torn', lastId, problems: [problem] },
        } satisfies RepairResult;
      }
      if (!tail.damagedAfterValid) {
        return { repaired: false, bytesRemoved: 0, truncatedAt: size, tail: { health: 'ok', lastId, problems: [] } } satisfies RepairResult;
      }
      const quarantine = cutTornTail(ctx, file, tail.validEnd, size);
      const problems = tail.tailProblems.reverse();
      return {
        repaired: true,
        bytesRemoved: size - tail.validEnd + (holeCut?.bytes ?? 0),
        quarantine,
        truncatedAt: tail.validEnd,
        tail: { health: 'torn', lastId, problems },
      } satisfies RepairResult;
    } finally {
      await file.close();
    }
  });
  if (result.repaired) {
    const kinds = [...new Set(result.tail.problems.map((p) => p.kind))].join(', ');
    await emit({
      type: 'CORRUPT_TAIL_RECOVERY',
      data: {
        ledger: ctx.path,
        truncatedAt: result.truncatedAt,
        bytesRemoved: result.bytesRemoved,
        quarantine: result.quarantine!,
        reason: `torn tail: ${kinds}`,
      },
    });
  }
  return result;
}

/**
 * Removes the damaged line starting at `offset`: its bytes go to quarantine (durably), then the
 * ledger is rewritten without it through a temp file and a rename. A valid record is refused.
 */
export async function quarantineRecord(
  ctx: LedgerContext,
  offset: number,
  emit: (d: TelemetryDraft) => Promise<void>,
): Promise<{ removedBytes: number; quarantine: string }> {
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw new LedgerlockError(ErrorCode.BadInput, `record offset must be a whole number >= 0, got ${offset}`, { path: ctx.path, offset });
  }
  const profile = profileOf(ctx);
  if (ctx.format === 'foreign') await refuseWhileWritten(ctx.path, profile, 'change');
  const done = await withWriterLock(ctx.path, ctx.format, ctx.opts, async () => {
    if (ctx.format === 'foreign') await refuseWhileWritten(ctx.path, profile, 'change');
    const fs = fsl();
    const file = await fs.open(ctx.path, 'r');
    try {
      const size = (await file.stat()).size;
      let target: { offset: number; length: number; line: number; reason: string } | undefined;
      let lastId: number | null = null;
      const walk = ctx.format === 'foreign' ? new ForeignWalk(profile) : undefined;
      for await (const raw of scanLines(file, { end: size, maxLineBytes: ctx.opts.maxLineBytes })) {
        if (raw.offset > offset) break;
        const seen: Interpretation = walk !== undefined && raw.bytes !== null ? walk.see(raw) : interpretLine(ctx.format, raw, lastId);
        if (raw.offset === offset) {
          if (!seen.problem) {
            throw new LedgerlockError(
              ErrorCode.BadInput,
              `line ${raw.line} of ${ctx.path} (offset ${offset}) is a valid record; only damaged records are quarantined`,
              { path: ctx.path, offset, line: raw.line },
            );
          }
          if (seen.problem.salvage !== undefined) {
            // A line holding whole records gives them back: only the bytes that are no record leave it.
            const [salvaged] = await salvageLines(ctx, file, size, [seen.problem], size);
            ctx.tailCache = null;
            const first = salvaged!.cut[0];
            return {
              quarantine: first?.quarantine ?? '',
              offset,
              length: salvaged!.cut.reduce((n, c) => n + c.length, 0),
              line: raw.line,
              reason: seen.problem.kind,
            };
          }
          target = { offset, length: raw.length, line: raw.line, reason: seen.problem.kind };
          break;
        }
        if (seen.event) lastId = seen.event.id;
      }
      if (!target) {
        throw new LedgerlockError(ErrorCode.BadInput, `no line of ${ctx.path} starts at offset ${offset}`, { path: ctx.path, offset });
      }
      const quarantine = quarantineBytesSync(ctx.quarantineDir, ctx.path, file, target.offset, target.offset + target.length, 'record');
      await rewriteWithout(ctx, file, size, target.offset, target.offset + target.length);
      ctx.tailCache = null;
      return { quarantine, ...target };
    } finally {
      await file.close();
    }
  });
  await emit({
    type: 'CORRUPT_RECORD_QUARANTINED',
    data: { ledger: ctx.path, line: done.line, bytesRemoved: done.length, quarantine: done.quarantine, reason: done.reason },
  });
  return { removedBytes: done.length, quarantine: done.quarantine };
}

/** Streams the ledger minus [cutStart, cutEnd) into a temp file, fsyncs, renames over, fsyncs the directory. */
async function rewriteWithout(ctx: LedgerContext, file: OpenFile, size: number, cutStart: number, cutEnd: number): Promise<void> {
  await rewriteLedger(ctx, async (out) => {
    let at = 0;
    at = await copyRange(file, out, 0, cutStart, at);
    await copyRange(file, out, cutEnd, size, at);
  });
}

/** The one atomic rewrite path for ledgers (quarantine, compaction): temp in the store's tmp/ or beside the ledger. */
export async function rewriteLedger(ctx: LedgerContext, fill: (out: OpenFile) => Promise<void>): Promise<void> {
  const fs = fsl();
  const store = storePathsOf(ctx.path);
  const tmpDir = store ? store.tmp : path.dirname(ctx.path);
  await fs.mkdir(tmpDir);
  const tmp = tempPathFor(ctx.path, tmpDir);
  const mode = (await fs.stat(ctx.path)).mode & 0o7777;
  const out = await fs.open(tmp, 'wx', 0o600);
  try {
    try {
      await out.chmod(mode);
      await fill(out);
      await out.sync();
    } finally {
      await out.close();
    }
    await fs.rename(tmp, ctx.path);
  } catch (err) {
    await fs.unlink(tmp).catch(() => undefined);
    throw err;
  }
  await syncParentDir(ctx.path, ctx.opts.telemetry);
}

export async function copyRange(from: OpenFile, to: OpenFile, start: number, end: number, writeAt: number): Promise<number> {
  const buf = Buffer.allocUnsafe(Math.min(1 << 20, Math.max(1, end - start)));
  for (let pos = start; pos < end;) {
    const got = await from.read(buf, 0, Math.min(buf.length, end - pos), pos);
    if (got <= 0) throw new LedgerlockError(ErrorCode.Io, `${from.path} ended at ${pos}, expected ${end} bytes`, { path: from.path });
    await to.write(buf, 0, got, writeAt);
    writeAt += got;
    pos += got;
  }
  return writeAt;
}

/**
 * Repair of a foreign ledger (docs/ARCHITECTURE.md, "Torn tail and corruption"): refused while
 * its tool writes it; then, under the lock its writer takes, one forward walk finds what can be
 * given back — a torn record's bytes before a glued complete record, zero-filled bytes from a
 * crash, a last record missing its newline — and the torn tail after the last record. A torn
 * tail alone is cut as for any ledger; anything else is one atomic rewrite, each removed byte
 * range copied to quarantine first. Damage that holds no record (bad JSON, fragments, repeats)
 * is left to `quarantineRecord`.
 */
async function repairForeign(ctx: LedgerContext, emit: (d: TelemetryDraft) => Promise<void>): Promise<RepairResult> {
  const profile = profileOf(ctx);
  await refuseWhileWritten(ctx.path, profile, 'repair');
  const result = await withWriterLock(ctx.path, ctx.format, ctx.opts, async () => {
    await refuseWhileWritten(ctx.path, profile, 'repair');
    const file = await fsl().open(ctx.path, 'r+');
    try {
      const size = (await file.stat()).size;
      const walk = new ForeignWalk(profile);
      const salvage: LedgerProblem[] = [];
      const after: LedgerProblem[] = [];
      let validEnd = 0;
      let lastLine: number | null = null;
      let records = 0;
      for await (const raw of scanLines(file, { end: size, maxLineBytes: ctx.opts.maxLineBytes })) {
        const seen: Interpretation = raw.bytes !== null ? walk.see(raw) : interpretLine('foreign', raw, null, profile);
        if (seen.event) {
          records++;
        } else if (seen.problem?.salvage !== undefined && seen.problem.salvage.kept.length > 0) {
          salvage.push(seen.problem);
          records += seen.problem.salvage.kept.length;
        } else if (seen.problem !== undefined) {
          after.push(seen.problem);
          continue;
        } else {
          continue; // blank
        }
        validEnd = raw.offset + raw.length;
        lastLine = raw.line;
        after.length = 0;
      }
      // Zero-filled lines between records hold nothing: removed with the rest, each copied first.
      const zeroLines = await zeroLinesBefore(ctx, file, validEnd, profile);
      const tailDamage = after.length > 0 && validEnd < size;
      const base = { profile: profile.id, records };
      if (salvage.length === 0 && zeroLines.length === 0) {
        if (!tailDamage)
          return {
            repaired: false,
            bytesRemoved: 0,
            truncatedAt: size,
            tail: { health: 'ok', lastId: lastLine, problems: [] },
            ...base,
            salvaged: [],
          } satisfies RepairResult;
        const quarantine = cutTornTail(ctx, file, validEnd, size);
        return {
          repaired: true,
          bytesRemoved: size - validEnd,
          quarantine,
          truncatedAt: validEnd,
          tail: { health: 'torn', lastId: lastLine, problems: after },
          ...base,
          salvaged: [],
        } satisfies RepairResult;
      }
      const lines = [...salvage, ...zeroLines].sort((a, b) => a.offset - b.offset);
      const end = tailDamage ? validEnd : size;
      const tailQuarantine = tailDamage ? quarantineBytesSync(ctx.quarantineDir, ctx.path, file, validEnd, size, 'torn-tail') : undefined;
      const salvaged = await salvageLines(ctx, file, size, lines, end);
      ctx.tailCache = null;
      const cut = salvaged.reduce((n, l) => n + l.cut.reduce((m, c) => m + c.length, 0), 0) + (tailDamage ? size - validEnd : 0);
      // Lines of zeros go away whole and two records glued whole each get a line: the last record's line moves by both.
      const shift = salvaged.reduce((n, l) => n + (l.kept.length === 0 ? -1 : l.kept.length - 1), 0);
      return {
        repaired: true,
        bytesRemoved: cut,
        ...(tailQuarantine !== undefined ? { quarantine: tailQuarantine } : salvaged[0]?.cut[0] ? { quarantine: salvaged[0].cut[0].quarantine } : {}),
        truncatedAt: (await fsl().stat(ctx.path)).size,
        tail: { health: tailDamage ? 'torn' : 'ok', lastId: lastLine === null ? null : lastLine + shift, problems: tailDamage ? after : [] },
        ...base,
        salvaged,
      } satisfies RepairResult;
    } finally {
      await file.close();
    }
  });
  if (result.repaired) {
    for (const line of result.salvaged ?? []) {
      for (const c of line.cut) {
        await emit({
          type: 'CORRUPT_RECORD_QUARANTINED',
          data: {
            ledger: ctx.path,
            line: line.line,
            bytesRemoved: c.length,
            quarantine: c.quarantine,
            reason: `${line.kind}${line.kept.length > 0 ? `: kept ${line.kept.map((k) => k.summary).join('; ')}` : ''}`,
          },
        });
      }
    }
    if (result.tail.health === 'torn') {
      await emit({
        type: 'CORRUPT_TAIL_RECOVERY',
        data: {
          ledger: ctx.path,
          truncatedAt: result.truncatedAt,
          bytesRemoved: result.tail.problems.reduce((n, p) => n + p.length, 0),
          quarantine: result.quarantine!,
          reason: `torn tail: ${[...new Set(result.tail.problems.map((p) => p.kind))].join(', ')}`,
        },
      });
    }
  }
  return result;
}

/** Lines of nothing but zero bytes before `end`: what a crash left where data should be. */
async function zeroLinesBefore(ctx: LedgerContext, file: OpenFile, end: number, profile: ReturnType<typeof profileOf>): Promise<LedgerProblem[]> {
  const out: LedgerProblem[] = [];
  for await (const raw of scanLines(file, { end, maxLineBytes: ctx.opts.maxLineBytes })) {
    if (raw.bytes === null || !raw.terminated || raw.bytes.length === 0 || raw.bytes.some((b) => b !== 0)) continue;
    const seen = interpretLine('foreign', raw, null, profile);
    if (seen.problem?.salvage !== undefined) out.push(seen.problem);
  }
  return out;
}

/**
 * Rewrites the ledger with each of `lines` replaced by the whole records it holds (each on its
 * own line) and everything from `end` on left out; every removed range is copied to quarantine,
 * durably, before the rename. Refused (nothing changed) if the file grew meanwhile: its tool
 * wrote to it after all.
 */
async function salvageLines(ctx: LedgerContext, file: OpenFile, size: number, lines: LedgerProblem[], end: number): Promise<SalvagedLine[]> {
  const salvaged: SalvagedLine[] = lines.map((p) => ({
    line: p.line,
    offset: p.offset,
    kind: p.kind,
    kept: p.salvage!.kept,
    cut: p.salvage!.cut.map((c) => ({
      ...c,
      quarantine: quarantineBytesSync(
        ctx.quarantineDir,
        ctx.path,
        file,
        c.offset,
        c.offset + c.length,
        p.kind === 'zero-filled' ? 'zero-filled' : 'torn-record',
      ),
    })),
  }));
  await rewriteLedger(ctx, async (out) => {
    let at = 0;
    let pos = 0;
    for (const p of lines) {
      at = await copyRange(file, out, pos, p.offset, at);
      for (const k of p.salvage!.kept) {
        at = await copyRange(file, out, k.offset, k.offset + k.length, at);
        await out.write(NEWLINE, 0, 1, at);
        at += 1;
      }
      pos = p.offset + p.length;
    }
    await copyRange(file, out, pos, Math.max(pos, end), at);
    const now = (await fsl().stat(ctx.path)).size;
    if (now !== size) {
      throw new LedgerlockError(
        ErrorCode.LockHeldByLiveProcess,
        `${ctx.path} changed while it was being repaired (${size} → ${now} bytes): its tool is writing it; nothing was changed`,
        { path: ctx.path, bytes: size, now },
      );
    }
  });
  return salvaged;
}
