/**
 * The staleness rules (DESIGN §3), applied to what was observed of one lock. A lock is stale
 * only when its holder is provably gone; orphaned when nobody provably holds it and its
 * heartbeat is old; a live local holder is always `held` or `contended`, never reapable.
 */
import * as os from 'node:os';
import type { LockHolderInfo, LockKind, ParsedLock } from './holder';
import { isProcessAlive, processStart, selfIdentity, type ProcessStart } from './process';
import { EMPTY_LOCK_GRACE_MS, formatAge, type ResolvedTiming } from './timing';

export type LockState = 'held' | 'contended' | 'stale' | 'orphaned' | 'unknown';

export interface LockInfo {
  path: string;
  kind: LockKind;
  state: LockState;
  /** A sentence a person can act on. */
  reason: string;
  /** Since acquiredAt if known, else since mtime. */
  ageMs: number;
  /** Since mtime (the heartbeat). */
  heartbeatAgeMs: number;
  holder: LockHolderInfo | null;
  /** state is 'stale' or 'orphaned'. */
  reapable: boolean;
  /** Holder on this host? null when the lock does not say. */
  local: boolean | null;
  /** Holder process alive (local holders only). */
  alive: boolean | null;
  bytes: number;
}

/** What inspection saw of a lock path, before any judgment. */
export interface LockObservation {
  path: string;
  type: 'file' | 'directory' | 'unreadable';
  parsed: ParsedLock;
  /** Why an 'unreadable' lock could not be read. */
  problem?: string;
  mtimeMs: number;
  bytes: number;
}

/**
 * A pid alive today that started this long after the lock's recorded time is another process.
 * Generous because foreign lock times and /proc boot time are only second-accurate.
 */
const REUSE_TOLERANCE_MS = 5_000;

export interface ProcessProbe {
  host: string;
  bootId(): Promise<string | undefined>;
  alive(pid: number): boolean | null;
  start(pid: number): Promise<ProcessStart | undefined>;
}

export const systemProbe: ProcessProbe = {
  host: os.hostname(),
  bootId: async () => (await selfIdentity()).bootId,
  alive: isProcessAlive,
  start: processStart,
};

export async function judgeLock(obs: LockObservation, timing: ResolvedTiming, probe: ProcessProbe = systemProbe): Promise<LockInfo> {
  const { parsed } = obs;
  const holder = parsed.holder;
  const heartbeatAgeMs = Math.max(0, Math.round(timing.now - obs.mtimeMs));
  const acquiredMs = holder?.acquiredAt !== undefined ? Date.parse(holder.acquiredAt) : NaN;
  const ageMs = Number.isFinite(acquiredMs) ? Math.max(0, timing.now - acquiredMs) : heartbeatAgeMs;
  const info = (state: LockState, reason: string, local: boolean | null = null, alive: boolean | null = null): LockInfo => ({
    path: obs.path,
    kind: parsed.kind,
    state,
    reason,
    ageMs,
    heartbeatAgeMs,
    holder,
    reapable: state === 'stale' || state === 'orphaned',
    local,
    alive,
    bytes: obs.bytes,
  });
  const heartbeat = `heartbeat ${formatAge(heartbeatAgeMs)} old`;
  const window = `stale after ${formatAge(timing.staleMs)}`;
  const heldOrContended = (what: string, local: boolean | null, alive: boolean | null): LockInfo =>
    ageMs > timing.contentionMs
      ? info('contended', `${what}, held for ${formatAge(ageMs)} (longer than ${formatAge(timing.contentionMs)})`, local, alive)
      : info('held', `${what}, held for ${formatAge(ageMs)}`, local, alive);

  if (obs.type === 'unreadable') return info('unknown', obs.problem ?? 'the lock cannot be read');

  if (obs.type === 'directory') {
    return heartbeatAgeMs > timing.staleMs
      ? info('orphaned', `directory lock not touched for ${formatAge(heartbeatAgeMs)} (${window}); nothing says who holds it`)
      : heldOrContended(`directory lock touched ${formatAge(heartbeatAgeMs)} ago`, null, null);
  }

  if (parsed.kind === 'empty') {
    return heartbeatAgeMs > EMPTY_LOCK_GRACE_MS
      ? info('stale', `empty lock file ${formatAge(heartbeatAgeMs)} old: its holder stopped between creating and writing it`)
      : info('held', `empty lock file created ${formatAge(heartbeatAgeMs)} ago; its holder may still be writing it`);
  }

  if (holder === null || (holder.pid === undefined && holder.host === undefined)) {
    const what = parsed.problem ?? 'the lock names no holder';
    return heartbeatAgeMs > timing.staleMs
      ? info('orphaned', `${capitalize(what)}; not touched for ${formatAge(heartbeatAgeMs)} (${window})`)
      : heldOrContended(`${capitalize(what)}; touched ${formatAge(heartbeatAgeMs)} ago, so its holder may be alive`, null, null);
  }

  if (holder.host !== undefined && holder.host !== probe.host) {
    return heartbeatAgeMs > timing.staleMs
      ? info('orphaned', `held from host ${holder.host}, ${heartbeat} (${window}); its process cannot be checked from here`, false)
      : heldOrContended(`held from host ${holder.host}, ${heartbeat}`, false, null);
  }

  const pid = holder.pid;
  if (holder.host === undefined) {
    // The lock does not say where its holder runs: only its heartbeat can tell it is abandoned,
    // but a running local process with that pid keeps it.
    const aliveHere = pid !== undefined ? probe.alive(pid) === true : false;
    if (aliveHere) return heldOrContended(`pid ${pid} is running on this host (the lock names no host)`, null, null);
    return heartbeatAgeMs > timing.staleMs
      ? info('orphaned', `names no host${pid !== undefined ? ` and pid ${pid} is not running here` : ''}; ${heartbeat} (${window})`)
      : heldOrContended(`names no host; ${heartbeat}`, null, null);
  }

  if (pid === undefined) {
    return heartbeatAgeMs > timing.staleMs
      ? info('orphaned', `names this host but no pid; ${heartbeat} (${window})`, true)
      : heldOrContended(`names this host but no pid; ${heartbeat}`, true, null);
  }

  const alive = probe.alive(pid);
  if (alive === false) return info('stale', `holder pid ${pid} is no longer running on this host`, true, false);

  const reused = await pidReuse(pid, parsed, holder, probe);
  if (reused !== undefined) return info('stale', reused, true, false);

  return heldOrContended(`held by live pid ${pid}${holder.tool ? ` (${holder.tool})` : ''}`, true, true);
}

/** A sentence when the live process named `pid` is provably not the lock's holder. */
async function pidReuse(pid: number, parsed: ParsedLock, holder: LockHolderInfo, probe: ProcessProbe): Promise<string | undefined> {
  const native = parsed.native;
  if (native?.bootId !== undefined) {
    const boot = await probe.bootId();
    if (boot !== undefined && boot !== native.bootId) return `the lock was taken before this machine restarted; pid ${pid} is now another process`;
  }
  const start = await probe.start(pid);
  if (start === undefined) return undefined;
  if (native?.startTicks !== undefined) {
    return start.ticks !== native.startTicks
      ? `pid ${pid} was reused: the process running now started at ${iso(start.startedAtMs)}, not when the holder did`
      : undefined;
  }
  const recorded = native?.startTime ?? holder.acquiredAt;
  const recordedMs = recorded !== undefined ? Date.parse(recorded) : NaN;
  if (Number.isFinite(recordedMs) && start.startedAtMs > recordedMs + REUSE_TOLERANCE_MS) {
    return `pid ${pid} was reused: the process running now started at ${iso(start.startedAtMs)}, after the lock was taken at ${recorded}`;
  }
  return undefined;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
