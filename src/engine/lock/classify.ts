/**
 * The staleness rules (DESIGN §3), applied to what was observed of one lock, evidence first:
 * the operating system (a kernel lock or an open descriptor on the inode is a live holder),
 * then the holder the lock names (its pid, start time and boot id), then the rule of the tool
 * that wrote it (profiles/), and only then the generic rules. A lock is stale only when its
 * holder is provably gone; orphaned when nobody provably holds it and its heartbeat is old; a
 * live holder is `held` (or `contended` when someone waits), never reapable.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { describeHolder, type LockHolderInfo, type LockKind, type ParsedLock } from './holder';
import { collectOsEvidence, gitProcessesIn, processCommand, type FileKey, type FileOpener, type KernelLockKind, type OsEvidence } from './os-evidence';
import { isKernelThread, isProcessAlive, processStart, selfIdentity, type ProcessStart } from './process';
import { gitDirOf, profileFor, type LockSubject, type ProfileId, type RuleFacts } from './profiles';
import { EMPTY_LOCK_GRACE_MS, formatAge, type ResolvedTiming } from './timing';

export type LockState = 'held' | 'contended' | 'stale' | 'orphaned' | 'unknown';

/** One fact behind a verdict, in words a person can check. */
export interface LockEvidence {
  kind: 'pid' | 'flock' | 'posix' | 'ofd' | 'open' | 'waiter' | 'heartbeat' | 'content';
  pid?: number;
  command?: string;
  detail: string;
}

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
  /** A live holder was seen: the OS holds or has the file open for it, or its pid runs here. */
  alive: boolean | null;
  bytes: number;
  /** Which tool's rules judged it. */
  profile: ProfileId;
  /** What the verdict rests on, strongest first. */
  evidence: LockEvidence[];
  /** The file this lock protects, when its tool's layout says; null otherwise. */
  guards: string | null;
  /** A live holder has kept it longer than the contention threshold: shown, not alarmed. */
  longHeld: boolean;
  /** Processes seen waiting for it (kernel waiters and Ledgerlock waiters). */
  waiters: number;
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
  /** Device and inode, for the operating system's evidence. */
  key?: FileKey;
  /** The file's first bytes (bounded); null for directories. */
  content?: Buffer | null;
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

/** A Ledgerlock process that reported waiting for a lock and has not stopped waiting. */
export interface LockWaiter {
  pid: number;
  since: number;
}

/** Everything beyond the lock's own bytes that a verdict may use. */
export interface JudgeContext {
  probe: ProcessProbe;
  os: OsEvidence;
  /** Ledgerlock waiters still waiting for this lock (from the store's telemetry). */
  waiters(lockPath: string): LockWaiter[];
  /** Live git processes working in the repository of this `.git` directory. */
  gitProcesses(gitDir: string): { pid: number; command?: string }[];
  /** A process's command line, for sentences. */
  command(pid: number): string | undefined;
  /** The pid is a kernel thread (which never holds a lock file). */
  kernelThread?(pid: number): boolean;
}

/** One answer per pid for the life of a context (one listing, one verdict). */
function memo<T>(fn: (pid: number) => T): (pid: number) => T {
  const seen = new Map<number, T>();
  return (pid) => {
    if (!seen.has(pid)) seen.set(pid, fn(pid));
    return seen.get(pid)!;
  };
}

/** The system as it is now, gathered for the given lock paths. */
export function systemContext(paths: Iterable<string>, waiters: (lockPath: string) => LockWaiter[] = () => []): JudgeContext {
  const gitCache = new Map<string, { pid: number; command?: string }[]>();
  return {
    probe: systemProbe,
    os: collectOsEvidence(paths),
    waiters,
    gitProcesses(gitDir) {
      let found = gitCache.get(gitDir);
      if (found === undefined) {
        found = gitProcessesIn(path.dirname(gitDir), gitDir);
        gitCache.set(gitDir, found);
      }
      return found;
    },
    command: memo((pid) => processCommand(pid)),
    kernelThread: memo((pid) => isKernelThread(pid)),
  };
}

export async function judgeLock(obs: LockObservation, timing: ResolvedTiming, ctx: JudgeContext = systemContext([obs.path])): Promise<LockInfo> {
  const { parsed } = obs;
  const subject: LockSubject = { path: obs.path, type: obs.type, content: obs.content ?? null, parsed, mtimeMs: obs.mtimeMs, bytes: obs.bytes };
  const profile = profileFor(subject);
  const evidence: LockEvidence[] = [];

  // 1. The operating system: kernel locks and open descriptors on this very inode.
  const kernel = obs.key && ctx.os.supported ? ctx.os.kernelLocks(obs.key) : [];
  const holders = kernel.filter((k) => !k.waiting);
  // Open handles are looked for unless a kernel lock or the named pid already shows a live
  // holder: the answer would be the same, and reading every process's descriptors costs.
  const namedPid = parsed.holder?.pid;
  const namedPidLive = namedPid !== undefined && (parsed.holder?.host === undefined || parsed.holder.host === ctx.probe.host) && ctx.probe.alive(namedPid) === true && !(ctx.kernelThread ?? isKernelThread)(namedPid);
  const openers = obs.key && ctx.os.supported && holders.length === 0 && !namedPidLive ? ctx.os.openers(obs.key) : [];
  const osWaiters = kernel.filter((k) => k.waiting);
  for (const k of holders) {
    const command = k.pid > 0 ? ctx.command(k.pid) : undefined;
    evidence.push({ kind: k.kind, ...(k.pid > 0 ? { pid: k.pid } : {}), ...(command ? { command } : {}), detail: `${k.pid > 0 ? `pid ${k.pid}${command ? ` (${command})` : ''}` : 'an open file description'} holds a ${KERNEL_WORDS[k.kind]} ${k.access} lock on it` });
  }
  for (const o of dedupePids(openers)) {
    const command = ctx.command(o.pid);
    evidence.push({ kind: 'open', pid: o.pid, ...(command ? { command } : {}), detail: `pid ${o.pid}${command ? ` (${command})` : ''} has it open` });
  }
  const holder = profile?.holder ? profile.holder(subject) ?? parsed.holder : parsed.holder;
  const ledgerlockWaiters = ctx.waiters(obs.path).filter((w) => w.pid !== holder?.pid);
  for (const k of osWaiters) {
    const command = k.pid > 0 ? ctx.command(k.pid) : undefined;
    evidence.push({ kind: 'waiter', ...(k.pid > 0 ? { pid: k.pid } : {}), ...(command ? { command } : {}), detail: `pid ${k.pid}${command ? ` (${command})` : ''} is blocked waiting for its ${KERNEL_WORDS[k.kind]} lock` });
  }
  for (const w of ledgerlockWaiters) {
    evidence.push({ kind: 'waiter', pid: w.pid, detail: `Ledgerlock process ${w.pid} has been waiting for it since ${new Date(w.since).toISOString()}` });
  }

  const heartbeatAgeMs = Math.max(0, Math.round(timing.now - obs.mtimeMs));
  const acquiredMs = holder?.acquiredAt !== undefined ? Date.parse(holder.acquiredAt) : NaN;
  const ageMs = Number.isFinite(acquiredMs) ? Math.max(0, timing.now - acquiredMs) : heartbeatAgeMs;
  evidence.push({ kind: 'heartbeat', detail: `last modified ${formatAge(heartbeatAgeMs)} ago` });
  const waiters = osWaiters.length + ledgerlockWaiters.length;
  const profileId: ProfileId = profile?.id ?? (holders.length > 0 ? 'flock' : 'generic');
  const guards = profile?.guards ? profile.guards(subject) ?? null : null;

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
    profile: profileId,
    evidence,
    guards,
    longHeld: (state === 'held' || state === 'contended') && ageMs > timing.contentionMs,
    waiters,
  });
  /** A live holder: contended only when someone waits; a long hold is flagged, not alarmed. */
  const live = (what: string, local: boolean | null): LockInfo => {
    const held = `${what}, held for ${formatAge(ageMs)}`;
    return waiters > 0
      ? info('contended', `${held}; ${waiters === 1 ? 'a process is' : `${waiters} processes are`} waiting for it`, local, true)
      : info('held', held, local, true);
  };

  if (obs.type === 'unreadable' && !(obs.key && (holders.length > 0 || openers.length > 0))) {
    return info('unknown', obs.problem ?? 'the lock cannot be read');
  }

  if (holders.length > 0) {
    const h = holders[0]!;
    const command = h.pid > 0 ? ctx.command(h.pid) : undefined;
    return live(`held through ${KERNEL_WORDS[h.kind]} by ${h.pid > 0 ? `pid ${h.pid}${command ? ` (${command})` : ''}` : 'an open file description'}`, true);
  }
  if (openers.length > 0) {
    const o = openers[0]!;
    const command = ctx.command(o.pid);
    return live(`open by pid ${o.pid}${command ? ` (${command})` : ''}`, true);
  }
  const osSaysFree = ctx.os.supported && obs.key !== undefined;
  if (osSaysFree) {
    evidence.push({ kind: 'content', detail: `no process holds a kernel lock on it or has it open${ctx.os.fdsComplete ? '' : ' (processes of other users could not be looked into)'}` });
  }

  // 2. The holder the lock names: its pid, on this host, with its start time and boot id.
  const pid = holder?.pid;
  const otherHost = holder?.host !== undefined && holder.host !== ctx.probe.host;
  if (pid !== undefined && !otherHost) {
    const kthread = ctx.probe.alive(pid) === true && (ctx.kernelThread ?? isKernelThread)(pid);
    const alive = kthread ? false : ctx.probe.alive(pid);
    const command = alive ? ctx.command(pid) : undefined;
    if (kthread) {
      evidence.unshift({ kind: 'pid', pid, detail: `pid ${pid}, named in the lock, is a kernel thread: no process of any tool holds it (the content is likely torn)` });
      return info('stale', `pid ${pid} named in the lock is a kernel thread, not a lock holder: the lock's content is torn or garbage`, true, false);
    }
    if (alive === false) {
      evidence.unshift({ kind: 'pid', pid, detail: `pid ${pid}, named in the lock, is not running on this host` });
      return info('stale', `holder pid ${pid} is no longer running on this host${holder?.host === undefined ? ' (the lock names no host: its tool writes locks where it runs)' : ''}`, true, false);
    }
    const reused = alive === true ? await pidReuse(pid, parsed, holder!, ctx.probe) : undefined;
    if (reused !== undefined && namedPidLive && obs.key && ctx.os.supported) {
      // The open-handle check was skipped for a pid that looked alive; it is owed now.
      const late = ctx.os.openers(obs.key)[0];
      if (late !== undefined) {
        const c = ctx.command(late.pid);
        evidence.unshift({ kind: 'open', pid: late.pid, ...(c ? { command: c } : {}), detail: `pid ${late.pid}${c ? ` (${c})` : ''} has it open` });
        return live(`open by pid ${late.pid}${c ? ` (${c})` : ''}`, true);
      }
    }
    if (reused !== undefined) {
      evidence.unshift({ kind: 'pid', pid, ...(command ? { command } : {}), detail: reused });
      return info('stale', reused, true, false);
    }
    if (alive === true) {
      evidence.unshift({ kind: 'pid', pid, ...(command ? { command } : {}), detail: `pid ${pid}${command ? ` (${command})` : ''}, named in the lock, is running` });
      const tool = holder?.tool ? ` (${holder.tool})` : '';
      return live(`held by live pid ${pid}${tool}${holder?.host === undefined ? ' (the lock names no host)' : ''}`, holder?.host === undefined ? null : true);
    }
  }
  if (holder !== null || parsed.kind === 'ledgerlock') {
    evidence.push({ kind: 'content', detail: `the lock says: ${describeHolder(holder)}${holder?.acquiredAt ? `, since ${holder.acquiredAt}` : ''}` });
  } else if (parsed.problem) {
    evidence.push({ kind: 'content', detail: parsed.problem });
  }

  const notSeen = (what: string, local: boolean | null): LockInfo => {
    const held = `${what}, held for ${formatAge(ageMs)}`;
    return waiters > 0
      ? info('contended', `${held}; ${waiters === 1 ? 'a process is' : `${waiters} processes are`} waiting for it`, local, null)
      : info('held', held, local, null);
  };

  // 3. The tool's own rule.
  if (profile?.rule) {
    const facts: RuleFacts = {
      now: timing.now, heartbeatAgeMs, ageMs, staleMs: timing.staleMs, holder, osSaysFree,
      toolProcesses: () => (profile.id === 'git' ? ctx.gitProcesses(gitDirOf(obs.path)!) : []),
    };
    const verdict = profile.rule(subject, facts);
    if (verdict !== undefined) {
      if (verdict.state === 'held' || verdict.state === 'contended') {
        if (verdict.alive === true) {
          const running = facts.toolProcesses()[0];
          if (running) evidence.unshift({ kind: 'pid', pid: running.pid, ...(running.command ? { command: running.command } : {}), detail: verdict.reason });
          return live(verdict.reason, true);
        }
        return notSeen(verdict.reason, otherHost ? false : null);
      }
      return info(verdict.state, verdict.reason, otherHost ? false : null, null);
    }
  }

  // 4. The generic rules, for unknown producers and what a profile leaves open.
  const heartbeat = `heartbeat ${formatAge(heartbeatAgeMs)} old`;
  const window = `stale after ${formatAge(timing.staleMs)}`;

  if (obs.type === 'directory') {
    return heartbeatAgeMs > timing.staleMs
      ? info('orphaned', `directory lock not touched for ${formatAge(heartbeatAgeMs)} (${window}); nothing says who holds it`)
      : notSeen(`directory lock touched ${formatAge(heartbeatAgeMs)} ago`, null);
  }

  if (parsed.kind === 'empty') {
    if (heartbeatAgeMs <= EMPTY_LOCK_GRACE_MS) return notSeen(`empty lock file created ${formatAge(heartbeatAgeMs)} ago; its holder may still be writing it`, null);
    return osSaysFree
      ? info('stale', `empty lock file ${formatAge(heartbeatAgeMs)} old that no process holds or has open: its holder stopped between creating and writing it`)
      : info('stale', `empty lock file ${formatAge(heartbeatAgeMs)} old: its holder stopped between creating and writing it (this system cannot show who has files open)`);
  }

  if (holder === null || (holder.pid === undefined && holder.host === undefined)) {
    const what = parsed.problem ?? 'the lock names no holder';
    return heartbeatAgeMs > timing.staleMs
      ? info('orphaned', `${capitalize(what)}; not touched for ${formatAge(heartbeatAgeMs)} (${window})`)
      : notSeen(`${capitalize(what)}; touched ${formatAge(heartbeatAgeMs)} ago, so its holder may be alive`, null);
  }

  if (otherHost) {
    return heartbeatAgeMs > timing.staleMs
      ? info('orphaned', `held from host ${holder.host}, ${heartbeat} (${window}); its process cannot be checked from here`, false)
      : notSeen(`held from host ${holder.host}, ${heartbeat}`, false);
  }

  // A holder on this host that names no pid, or whose liveness cannot be asked.
  return heartbeatAgeMs > timing.staleMs
    ? info('orphaned', `names ${holder.host !== undefined ? 'this host' : 'no host'} but no pid that can be checked; ${heartbeat} (${window})`, holder.host !== undefined ? true : null)
    : notSeen(`names no pid that can be checked; ${heartbeat}`, holder.host !== undefined ? true : null);
}

/** Who holds a lock, from the strongest evidence: the process the kernel sees, else what the lock names. */
export function describeLockHolder(info: Pick<LockInfo, 'evidence' | 'holder'>): string {
  const witness = holderWitness(info);
  if (witness !== undefined && witness.kind !== 'pid') return processWords(witness);
  return describeHolder(info.holder);
}

/** The evidence entry naming the holder's process (a kernel lock, an open handle, the named pid), if any. */
export function holderWitness(info: Pick<LockInfo, 'evidence'>): (LockEvidence & { pid: number }) | undefined {
  return info.evidence.find((e): e is LockEvidence & { pid: number } => e.pid !== undefined && e.kind !== 'waiter');
}

/** "pid 4242 (python3 -m pip …)" */
export function processWords(e: { pid: number; command?: string }): string {
  return `pid ${e.pid}${e.command ? ` (${e.command})` : ''}`;
}

const KERNEL_WORDS: Record<KernelLockKind, string> = { flock: 'flock', posix: 'POSIX (fcntl)', ofd: 'open-file-description (OFD)' };

function dedupePids(openers: FileOpener[]): FileOpener[] {
  const seen = new Set<number>();
  return openers.filter((o) => (seen.has(o.pid) ? false : (seen.add(o.pid), true)));
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
