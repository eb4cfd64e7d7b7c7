/**
 * A full forward check of a ledger. Damage with no valid record after it is a torn tail (a
 * write that did not finish); damage followed by a valid record is corruption, and so is a
 * file whose complete lines are all damaged (there is no valid record for a tail to follow).
 * In a native ledger, a hole (NUL bytes) in the last HOLE_WINDOW_BYTES makes everything from
 * its line on a torn tail, valid records included: none of it was acknowledged (holes.ts).
 */
import { ErrorCode } from '../errors';
import type { OpenFile } from '../fs';
import { HOLE_WINDOW_BYTES } from './holes';
import { ForeignWalk } from './foreign';
import { interpretLine, type Interpretation } from './interpret';
import { genericProfile, type JsonlProfile } from './profiles';
import { scanLineBatches } from './scan';
import type { LedgerEvent, LedgerFormat, LedgerProblem, VerifyReport } from './types';

/** Enough to act on; a file of pure garbage would otherwise produce one problem per line. */
const MAX_PROBLEMS = 10_000;

export interface WalkOptions {
  maxLineBytes: number;
  signal?: AbortSignal | undefined;
  onProgress?: ((bytes: number, total: number) => void) | undefined;
  /** Sees every valid event in order (index builds, compaction). */
  onEvent?: (event: LedgerEvent) => void;
  /** A foreign ledger's tool: its lines are judged by its rules, and repeated records are reported. */
  profile?: JsonlProfile;
}

export async function verifyLedger(file: OpenFile, path: string, format: LedgerFormat, size: number, opts: WalkOptions): Promise<VerifyReport> {
  const problems: LedgerProblem[] = [];
  let events = 0;
  let validBytes = 0;
  let firstId: number | null = null;
  let lastId: number | null = null;
  let damageBeforeValid = false;
  let pendingDamage = false;
  let completeDamage = false;
  const foreign = format === 'foreign' ? new ForeignWalk(opts.profile ?? genericProfile) : undefined;
  const holeFloor = format === 'ledgerlock' ? size - HOLE_WINDOW_BYTES : Infinity;
  let hole = false;
  scan: for await (const batch of scanLineBatches(file, { end: size, maxLineBytes: opts.maxLineBytes, signal: opts.signal, onProgress: opts.onProgress })) {
    for (const raw of batch) {
      if (raw.offset + raw.length > holeFloor && raw.bytes !== null && raw.bytes.includes(0)) {
        problems.push({
          kind: 'torn-tail',
          code: ErrorCode.LedgerTorn,
          offset: raw.offset,
          length: size - raw.offset,
          line: raw.line,
          message: `line ${raw.line} holds a hole of zero bytes (writes lost in a power loss): the ${size - raw.offset} bytes from there on were never acknowledged`,
        });
        hole = true;
        break scan;
      }
      const seen: Interpretation = foreign !== undefined && raw.bytes !== null ? foreign.see(raw) : interpretLine(format, raw, lastId);
      if (seen.problem) {
        if (problems.length < MAX_PROBLEMS) problems.push(seen.problem);
        pendingDamage = true;
        if (raw.terminated && seen.problem.kind !== 'torn-tail' && seen.problem.kind !== 'zero-filled') completeDamage = true;
      } else if (seen.event) {
        if (pendingDamage) damageBeforeValid = true;
        pendingDamage = false;
        events++;
        firstId ??= seen.event.id;
        lastId = seen.event.id;
        validBytes = raw.offset + raw.length;
        opts.onEvent?.(seen.event);
      } else if (!pendingDamage) {
        validBytes = raw.offset + raw.length; // a blank foreign line after valid ones is not damage
      }
    }
  }
  // No valid record but complete lines that are not records: wholly corrupt (or not a ledger), never a torn tail.
  const health = damageBeforeValid || (events === 0 && completeDamage && !hole) ? 'corrupt' : problems.length > 0 ? 'torn' : 'ok';
  const report: VerifyReport = { path, format, health, events, bytes: size, validBytes, firstId, lastId, problems };
  if (foreign !== undefined) report.profile = foreign.profile.id;
  return report;
}
