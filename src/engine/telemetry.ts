/**
 * The engine's own recovery log: `.ledgerlock/telemetry.jsonl`, itself a ledger. Every
 * recovery and degradation is recorded here with a zod-typed payload, so the editor (and a
 * person with `ledgerlock tail`) can see what was repaired, reaped or degraded, and why.
 * Recording never fails the operation that triggered it.
 *
 * This module knows no store and no ledger: where events go is a sink it is given
 * (`useRecoverySink`; recovery-log.ts installs the store's log when the engine loads), so
 * atomic writes, locks and ledgers can report without importing what writes the log.
 */
import * as os from 'node:os';
import { z } from 'zod';

const holder = z
  .object({
    pid: z.number().int().optional(),
    host: z.string().optional(),
    owner: z.string().optional(),
    tool: z.string().optional(),
  })
  .passthrough();

const who = { pid: z.number().int(), host: z.string() };

export const TelemetryEventSchema = z.discriminatedUnion('type', [
  // confirmedUnknown: a person removed a lock nothing could judge, after being told what was unknown.
  z.object({
    type: z.literal('STALE_LOCK_RECOVERY'),
    data: z.object({
      lock: z.string(),
      // whose rules judged it (absent in records written before it was kept)
      profile: z.string().optional(),
      reason: z.string(),
      ageMs: z.number(),
      holder: holder.nullable(),
      confirmedUnknown: z.literal(true).optional(),
      // where the lock's bytes were kept (absent when they were deleted: no quarantine known)
      quarantine: z.string().optional(),
      ...who,
    }),
  }),
  z.object({
    type: z.literal('CORRUPT_TAIL_RECOVERY'),
    data: z.object({ ledger: z.string(), truncatedAt: z.number().int(), bytesRemoved: z.number().int(), quarantine: z.string(), reason: z.string(), ...who }),
  }),
  z.object({
    type: z.literal('CORRUPT_RECORD_QUARANTINED'),
    data: z.object({ ledger: z.string(), line: z.number().int(), bytesRemoved: z.number().int(), quarantine: z.string(), reason: z.string(), ...who }),
  }),
  z.object({
    type: z.literal('LEDGER_COMPACTED'),
    data: z.object({
      ledger: z.string(),
      kept: z.number().int(),
      removed: z.number().int(),
      bytesBefore: z.number().int(),
      bytesAfter: z.number().int(),
      ...who,
    }),
  }),
  z.object({ type: z.literal('DIR_FSYNC_UNSUPPORTED'), data: z.object({ dir: z.string(), errno: z.string(), ...who }) }),
  z.object({ type: z.literal('LOCK_COMPROMISED'), data: z.object({ lock: z.string(), reason: z.string(), ...who }) }),
  // A file a break moved aside and could not put back: it stays at `trash` (perhaps a live holder's lock).
  z.object({ type: z.literal('LOCK_LEFT_ASIDE'), data: z.object({ lock: z.string(), trash: z.string(), reason: z.string(), ...who }) }),
  z.object({
    type: z.literal('LOCK_CONTENDED'),
    data: z.object({ lock: z.string(), holder: holder.nullable(), waiterPid: z.number().int(), waitedMs: z.number(), ...who }),
  }),
  z.object({
    type: z.literal('LOCK_WAIT_ENDED'),
    data: z.object({ lock: z.string(), waiterPid: z.number().int(), waitedMs: z.number(), outcome: z.enum(['acquired', 'aborted']), ...who }),
  }),
  z.object({
    type: z.literal('LOCK_CONTENTION_TIMEOUT'),
    data: z.object({ lock: z.string(), holder: holder.nullable(), waiterPid: z.number().int(), waitedMs: z.number(), ...who }),
  }),
  z.object({
    type: z.literal('SNAPSHOT_RESTORED'),
    data: z.object({ snapshot: z.string(), written: z.number().int(), removed: z.number().int(), backup: z.string().nullable(), ...who }),
  }),
  z.object({ type: z.literal('BLOB_CORRUPT'), data: z.object({ blob: z.string(), path: z.string(), reason: z.string(), ...who }) }),
  z.object({
    type: z.literal('GC_SWEPT'),
    data: z.object({ swept: z.number().int(), bytes: z.number().int(), kept: z.number().int(), graceMs: z.number(), ...who }),
  }),
  z.object({
    type: z.literal('STORE_MIGRATED'),
    data: z.object({ store: z.string(), from: z.number().int(), to: z.number().int(), resumed: z.boolean(), ...who }),
  }),
  z.object({
    type: z.literal('BLOBS_RELOCATED'),
    data: z.object({
      from: z.string(),
      to: z.string(),
      copied: z.number().int(),
      verified: z.number().int(),
      removedSource: z.boolean(),
      resumed: z.boolean(),
      ...who,
    }),
  }),
]);
export type TelemetryEvent = z.infer<typeof TelemetryEventSchema>;
export type TelemetryType = TelemetryEvent['type'];
export const TELEMETRY_TYPES = TelemetryEventSchema.options.map((o) => o.shape.type.value) as TelemetryType[];

/** Without the `pid`/`host` fields, which emitTelemetry fills in. */
type Draft<E> = E extends { type: infer T; data: infer D } ? { type: T; data: Omit<D, 'pid' | 'host'> } : never;
export type TelemetryDraft = Draft<TelemetryEvent>;

/**
 * Where telemetry goes: a store directory (`.../.ledgerlock`), a function, `false` (nowhere),
 * or undefined (the store enclosing the path the operation touched, if there is one).
 */
export type TelemetryTarget = string | false | ((event: TelemetryEvent) => Promise<void> | void) | undefined;

type Listener = (event: TelemetryEvent, storeDir: string | undefined) => void;
const listeners = new Set<Listener>();

/** Where recorded events are kept: the store enclosing a path, and how to append to its log. */
export interface RecoverySink {
  /** The store directory (`.../.ledgerlock`) for an operation near `path`, if there is one. */
  locate(path: string): Promise<string | undefined>;
  append(storeDir: string, event: TelemetryEvent): Promise<void>;
}

let sink: RecoverySink | undefined;

/** Installs the sink events go to when no function is given. Returns the previous one. */
export function useRecoverySink(next: RecoverySink | undefined): RecoverySink | undefined {
  const previous = sink;
  sink = next;
  return previous;
}

/** In-process observers (the language server, tests). Returns the unsubscribe function. */
export function onTelemetry(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export async function emitTelemetry(target: TelemetryTarget, near: string, draft: TelemetryDraft): Promise<void> {
  if (target === false) return;
  const event = TelemetryEventSchema.parse({ type: draft.type, data: { ...draft.data, pid: process.pid, host: os.hostname() } });
  try {
    if (typeof target === 'function') {
      await target(event);
      for (const l of listeners) l(event, undefined);
      return;
    }
    const storeDir = target ?? (await sink?.locate(near));
    for (const l of listeners) l(event, storeDir);
    if (storeDir === undefined) return;
    await sink?.append(storeDir, event);
  } catch {
    // A recovery that worked must not be reported as failed because its log line could not be written.
  }
}
