/**
 * The destructive operations the editor can ask for. Each is refused in an untrusted
 * workspace (the client refuses first; this is the second wall), runs one engine call, and
 * turns an engine refusal into a message a person can act on.
 */
import * as path from 'node:path';
import { openLedger, reapLock, toLedgerlockError, type Ledger, type VerifyReport } from '../engine';
import type { ActionResult } from '../protocol';
import { shortLockName } from '../shared/lock-name';

export interface ActionContext {
  trusted: () => boolean;
  staleMsFor: (p: string) => number;
  /** `<folder>/.ledgerlock/quarantine/` of the workspace folder holding `p` (docs/ARCHITECTURE.md, "Quarantine"). */
  quarantineFor: (p: string) => string | undefined;
}

const UNTRUSTED: ActionResult = {
  ok: false,
  code: 'E_UNTRUSTED',
  message: 'Ledgerlock does not change files in an untrusted workspace. Trust the workspace to repair, reap or compact.',
};

export async function repairTail(ctx: ActionContext, ledgerPath: string): Promise<ActionResult> {
  if (!ctx.trusted()) return UNTRUSTED;
  return withLedger(ctx, ledgerPath, async (ledger) => {
    const result = await ledger.repair();
    if (!result.repaired) return { ok: true, cleared: true, message: `${base(ledgerPath)} has no torn tail any more; nothing to repair.` };
    const where = result.quarantine ? ` The cut bytes are kept in ${shown(ctx, result.quarantine)}.` : '';
    return {
      ok: true,
      message: `Repaired ${base(ledgerPath)}: removed ${n(result.bytesRemoved)} torn bytes at offset ${n(result.truncatedAt)}.${where}`,
      ...(result.quarantine ? { keptAt: result.quarantine } : {}),
    };
  });
}

export async function quarantineRecord(ctx: ActionContext, ledgerPath: string, offset: number): Promise<ActionResult> {
  if (!ctx.trusted()) return UNTRUSTED;
  return withLedger(ctx, ledgerPath, async (ledger) => {
    const result = await ledger.quarantineRecord(offset);
    return {
      ok: true,
      message: `Quarantined ${n(result.removedBytes)} bytes at offset ${n(offset)} of ${base(ledgerPath)}; they are kept in ${shown(ctx, result.quarantine)}.`,
      keptAt: result.quarantine,
    };
  });
}

export async function compactLedger(ctx: ActionContext, ledgerPath: string, keep: number): Promise<ActionResult> {
  if (!ctx.trusted()) return UNTRUSTED;
  return withLedger(undefined, ledgerPath, async (ledger) => {
    const result = await ledger.compact({ keep });
    return {
      ok: true,
      message: `Compacted ${base(ledgerPath)}: kept the newest ${n(result.kept)} events, removed ${n(result.removed)} (${n(result.bytesBefore)} → ${n(result.bytesAfter)} bytes).`,
    };
  });
}

/**
 * Reaps a stale lock; with `confirmUnknown` (the person confirmed "Remove Lock Anyway…") also
 * an unknown one. The engine refuses a holder it can see either way.
 */
export async function reapStaleLock(ctx: ActionContext, lockPath: string, opts: { confirmUnknown?: boolean } = {}): Promise<ActionResult> {
  if (!ctx.trusted()) return UNTRUSTED;
  const confirmUnknown = opts.confirmUnknown === true;
  try {
    const quarantineDir = ctx.quarantineFor(lockPath);
    const { reaped, info, trash, why } = await reapLock(lockPath, {
      staleMs: ctx.staleMsFor(lockPath),
      confirmUnknown,
      ...(quarantineDir !== undefined ? { quarantineDir } : {}),
    });
    if (!reaped) {
      const kept = trash !== undefined ? `; it is kept at ${shown(ctx, trash)} (Recovery Log: "Lock left aside")` : '';
      return { ok: false, message: `${base(lockPath)} was not ${confirmUnknown ? 'removed' : 'reaped'}: ${why}${kept}.` };
    }
    const kept = trash !== undefined ? ` Its bytes are kept in ${shown(ctx, trash)}.` : '';
    const where = trash !== undefined ? { keptAt: trash } : {};
    return info.state === 'unknown'
      ? { ok: true, message: `Removed ${base(lockPath)}, whose holder Ledgerlock could not see (${info.reason}).${kept}`, ...where }
      : { ok: true, message: `Reaped ${base(lockPath)} (${info.reason}).${kept}`, ...where };
  } catch (err) {
    const result = failure(err);
    // Gone, or taken by a live holder since it was offered: nothing left to fix, nothing failed.
    if (result.code === 'E_NOT_FOUND')
      return { ok: true, cleared: true, code: result.code, message: `${base(lockPath)} is already gone (released or reaped meanwhile).` };
    if (result.code === 'E_LOCK_LIVE_HOLDER')
      return {
        ...result,
        cleared: true,
        message: `${base(lockPath)} ${confirmUnknown ? 'has a holder Ledgerlock can see now; it was left alone' : 'is no longer stale'}: ${result.message}`,
      };
    if (result.code === 'E_LOCK_NOT_STALE') {
      // A plain Reap of a lock that turned unknown: say how the editor removes it, not the CLI.
      const unknown = (err as { details?: { state?: string } }).details?.state === 'unknown';
      const message = unknown
        ? `${base(lockPath)} is unknown, not stale: Ledgerlock cannot see whether its holder is alive. Use "Remove Lock Anyway…" on it in the Locks view if you know it is gone.`
        : `${base(lockPath)} is no longer stale: ${result.message}`;
      return { ...result, cleared: true, message };
    }
    return result;
  }
}

export async function verifyLedger(
  ledgerPath: string,
  onProgress: (percent: number) => void,
  signal?: AbortSignal,
): Promise<{ result: ActionResult; report?: VerifyReport }> {
  let report: VerifyReport | undefined;
  const result = await withLedger(undefined, ledgerPath, async (ledger) => {
    report = await ledger.verify({ signal, onProgress: (bytes, total) => onProgress(total > 0 ? (100 * bytes) / total : 100) });
    const summary = report.health === 'ok' ? 'healthy' : `${report.health}: ${n(report.problems.length)} problem(s)`;
    return { ok: report.health === 'ok', message: `${base(ledgerPath)}: ${n(report.events)} events, ${summary}.` };
  });
  return report ? { result, report } : { result };
}

/** With `ctx`, a fix: a foreign ledger's removed bytes go to its workspace folder's quarantine. */
async function withLedger(ctx: ActionContext | undefined, ledgerPath: string, work: (ledger: Ledger) => Promise<ActionResult>): Promise<ActionResult> {
  let ledger: Ledger | undefined;
  const quarantineDir = ctx?.quarantineFor(ledgerPath);
  try {
    ledger = await openLedger(ledgerPath, { create: false, ...(quarantineDir !== undefined ? { quarantineDir } : {}) });
    return await work(ledger);
  } catch (err) {
    return failure(err);
  } finally {
    await ledger?.close().catch(() => undefined);
  }
}

export function failure(err: unknown): ActionResult {
  const e = (toLedgerlockError(err) ?? err) as { code?: string; message?: string };
  return { ok: false, message: e.message ?? String(err), ...(e.code ? { code: e.code } : {}) };
}

/** Numbers as people read them: 1,803,118. */
function n(value: number): string {
  return value.toLocaleString('en-US');
}

/** A path as a person reads it: relative to its workspace folder when inside one. */
function shown(ctx: ActionContext, p: string): string {
  const dir = ctx.quarantineFor(p);
  if (dir === undefined) return p;
  const rel = path.relative(path.dirname(path.dirname(dir)), p);
  return rel.startsWith('..') || path.isAbsolute(rel) ? p : rel;
}

/** A file as the editor names it (a bare `.lock` with its folder). */
function base(p: string): string {
  return shortLockName(p);
}
