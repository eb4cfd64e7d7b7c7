/**
 * The staleness rules (docs/ARCHITECTURE.md, "How a lock is judged"), applied to what was
 * observed of one lock in four steps, evidence first: the operating system (a kernel lock or an
 * open descriptor on the inode is a live holder), then the process the lock names (process.ts,
 * which knows this judge's vantage), then the rule of the tool that wrote it (profiles/), and
 * only then the generic rules. A lock is stale only when its holder is provably gone; orphaned
 * when nobody provably holds it and its heartbeat is old; unknown when nothing this judge can
 * see decides; a live holder is `held` (or `contended` when someone waits), never reapable.
 */
import * as path from 'node:path';
import { describeHolder, type LockHolderInfo, type LockKind, type ParsedLock } from './holder';
import { collectOsEvidence, gitProcessesIn, processCommand, type FileKey, type FileOpener, type KernelLockKind, type OsEvidence } from './os-evidence';
import { probeKernelLocks } from './probe';
import { judgeNamedProcess, systemProcessView, type NamedProcess, type ProcessVerdict, type ProcessView } from './process';
import { gitDirOf, profileFor, type LockProfile, type LockSubject, type ProfileId, type RuleFacts } from './profiles';
import { EMPTY_LOCK_GRACE_MS, formatAge, type ResolvedTiming } from './timing';

import type { LockState } from './state';

export type { LockState } from './state';

/** One fact behind a verdict, in words a person can check. */
export interface LockEvidence {
  /** probe: a non-blocking kernel-lock probe on the file; vantage: what this judge could not see. */
  kind: 'pid' | 'flock' | 'posix' | 'ofd' | 'open' | 'waiter' | 'heartbeat' | 'content' | 'probe' | 'vantage';
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
  /** How long its holder may go without refreshing it, when the lock or its tool declares a heartbeat. */
  heartbeatWindowMs?: number;
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
  /** The file's owner: the user whose process created it. */
  uid?: number;
  /** The file's first bytes (bounded); null for directories. */
  content?: Buffer | null;
}

/** A non-blocking kernel-lock probe on the lock file itself (probe.ts), for judges that cannot read every lock in /proc/locks. */
interface KernelLockProbe {
  flock: 'held' | 'free' | 'unavailable';
  posix: 'held' | 'free' | 'unavailable';
  posixPid?: number;
  detail?: string;
}

/** A Ledgerlock process that reported waiting for a lock and has not stopped waiting. */
export interface LockWaiter {
  pid: number;
  since: number;
}

/** Everything beyond the lock's own bytes that a verdict may use; tests pass their own. */
export interface JudgeContext {
  /** Where the judge stands, and the one liveness check (process.ts). */
  processes: ProcessView;
  os: OsEvidence;
  /** Probes the file's kernel locks directly; undefined where no probe can run or it is not needed. */
  kernelProbe?(lockPath: string): Promise<KernelLockProbe | undefined>;
  /** Ledgerlock waiters still waiting for this lock (from the store's telemetry). */
  waiters(lockPath: string): LockWaiter[];
  /**
   * Whether this very inode was seen under a kernel lock before (kept by a long-lived caller, the
   * language server): a flock-style tool's zero-byte file, free between holds, not a crash's.
   */
  kernelLockedBefore?(key: FileKey): boolean;
  /** Live git processes working in the repository of this `.git` directory. */
  gitProcesses(gitDir: string): { pid: number; command?: string }[];
  /** A process's command line, for sentences. */
  command(pid: number): string | undefined;
}

/** One answer per pid for the life of a context (one listing, one verdict). */
function memo<T>(fn: (pid: number) => T): (pid: number) => T {
  const seen = new Map<number, T>();
  return (pid) => {
    if (!seen.has(pid)) seen.set(pid, fn(pid));
    return seen.get(pid) as T;
  };
}

/** The system as it is now, gathered for the given lock paths. */
export function systemContext(paths: Iterable<string>, waiters: (lockPath: string) => LockWaiter[] = () => []): JudgeContext {
  const list = [...paths];
  const gitCache = new Map<string, { pid: number; command?: string }[]>();
  const view = systemProcessView();
  const kernelVisible = view.vantage.initialPidNamespace && view.vantage.procVisible;
  let probed: Promise<Map<string, KernelLockProbe>> | undefined;
  const alive = memo((pid) => view.alive(pid));
  const kthread = memo((pid) => view.kernelThread(pid));
  return {
    processes: { ...view, alive, kernelThread: kthread },
    os: collectOsEvidence(list),
    // /proc/locks from the initial namespace shows every kernel lock; elsewhere ask the kernel
    // about the file itself, once for all the paths of this look.
    ...(kernelVisible || view.vantage.platform !== 'linux'
      ? {}
      : { kernelProbe: async (p: string) => (await (probed ??= probeKernelLocks(list).catch(() => new Map<string, KernelLockProbe>()))).get(p) }),
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
  };
}

/** What one verdict is being built from: the lock, what was seen of the system, the clock. */
interface Judging {
  obs: LockObservation;
  subject: LockSubject;
  profile: LockProfile | undefined;
  holder: LockHolderInfo | null;
  ctx: JudgeContext;
  timing: ResolvedTiming;
  evidence: LockEvidence[];
  waiters: number;
  heartbeatAgeMs: number;
  ageMs: number;
  /** A kernel lock was found (/proc/locks or the probe): its flavour names the profile. */
  kernelHeld: boolean;
  /** "held for at most" where the age is its holder process's, not the lock's own. */
  agePhrase?: string;
  /** A kernel-lock probe on the file found neither a flock nor a POSIX lock. */
  probedFree?: boolean;
  /** The named pid, when nothing this judge can see decides about it. */
  unseen?: Extract<ProcessVerdict, { kind: 'unseen' }>;
}

export async function judgeLock(obs: LockObservation, timing: ResolvedTiming, ctx: JudgeContext = systemContext([obs.path])): Promise<LockInfo> {
  const subject: LockSubject = { path: obs.path, type: obs.type, content: obs.content ?? null, parsed: obs.parsed, mtimeMs: obs.mtimeMs, bytes: obs.bytes };
  const profile = profileFor(subject);
  const holder = profile?.holder ? (profile.holder(subject) ?? obs.parsed.holder) : obs.parsed.holder;
  const heartbeatAgeMs = Math.max(0, Math.round(timing.now - obs.mtimeMs));
  const acquiredMs = holder?.acquiredAt !== undefined ? Date.parse(holder.acquiredAt) : NaN;
  const j: Judging = {
    obs,
    subject,
    profile,
    holder,
    ctx,
    timing,
    evidence: [],
    waiters: 0,
    heartbeatAgeMs,
    ageMs: Number.isFinite(acquiredMs) ? Math.max(0, timing.now - acquiredMs) : heartbeatAgeMs,
    kernelHeld: false,
  };
  return (await byOperatingSystem(j)) ?? byNamedProcess(j) ?? byToolRule(j) ?? byGenericRule(j);
}

/** The verdict's shape, from the facts gathered so far. */
function verdict(j: Judging, state: LockState, reason: string, local: boolean | null = null, alive: boolean | null = null): LockInfo {
  return {
    path: j.obs.path,
    kind: j.obs.parsed.kind,
    state,
    reason,
    ageMs: j.ageMs,
    heartbeatAgeMs: j.heartbeatAgeMs,
    holder: j.holder,
    reapable: state === 'stale' || state === 'orphaned',
    local,
    alive,
    bytes: j.obs.bytes,
    profile: j.profile?.id ?? (j.kernelHeld ? 'flock' : 'generic'),
    evidence: j.evidence,
    guards: j.profile?.guards ? (j.profile.guards(j.subject) ?? null) : null,
    longHeld: (state === 'held' || state === 'contended') && j.ageMs > j.timing.contentionMs,
    ...(declaredHeartbeat(j) !== undefined ? { heartbeatWindowMs: heartbeatWindow(j) } : {}),
    waiters: j.waiters,
  };
}

/** A holder that something shows alive (`alive` true) or that nothing shows gone (`alive` null). */
function heldVerdict(j: Judging, what: string, local: boolean | null, alive: true | null): LockInfo {
  const held = `${what}, ${j.agePhrase ?? 'held for'} ${formatAge(j.ageMs)}`;
  return j.waiters > 0
    ? verdict(j, 'contended', `${held}; ${j.waiters === 1 ? 'a process is' : `${j.waiters} processes are`} waiting for it`, local, alive)
    : verdict(j, 'held', held, local, alive);
}

/** Step 1: kernel locks and open descriptors on this very inode are a live holder, whatever the bytes say. */
async function byOperatingSystem(j: Judging): Promise<LockInfo | undefined> {
  const { obs, ctx, evidence } = j;
  const supported = obs.key !== undefined && ctx.os.supported;
  const kernel = supported ? ctx.os.kernelLocks(obs.key!) : [];
  const holders = kernel.filter((k) => !k.waiting);
  const osWaiters = kernel.filter((k) => k.waiting);
  // Open handles are looked for unless a kernel lock or the named pid already shows a live
  // holder: the answer would be the same, and reading every process's descriptors costs.
  const namedPid = j.holder?.pid;
  const namedPidLive =
    namedPid !== undefined &&
    (j.holder?.host === undefined || j.holder.host === ctx.processes.host) &&
    ctx.processes.alive(namedPid) === true &&
    !ctx.processes.kernelThread(namedPid);
  const openers = supported && holders.length === 0 && !namedPidLive ? dedupePids(ctx.os.openers(obs.key!)) : [];
  for (const k of holders) {
    evidence.push({
      kind: k.kind,
      ...processFields(ctx, k.pid),
      detail: `${kernelHolderWords(ctx, k.pid)} holds a ${KERNEL_WORDS[k.kind]} ${k.access} lock on it`,
    });
  }
  for (const o of openers)
    evidence.push({ kind: 'open', ...processFields(ctx, o.pid), detail: `${processWords({ pid: o.pid, ...commandOf(ctx, o.pid) })} has it open` });
  const ledgerlockWaiters = ctx.waiters(obs.path).filter((w) => w.pid !== j.holder?.pid);
  for (const k of osWaiters)
    evidence.push({
      kind: 'waiter',
      ...processFields(ctx, k.pid),
      detail: `${kernelHolderWords(ctx, k.pid)} is blocked waiting for its ${KERNEL_WORDS[k.kind]} lock`,
    });
  for (const w of ledgerlockWaiters)
    evidence.push({ kind: 'waiter', pid: w.pid, detail: `Ledgerlock process ${w.pid} has been waiting for it since ${new Date(w.since).toISOString()}` });
  j.waiters = osWaiters.length + ledgerlockWaiters.length;
  evidence.push({ kind: 'heartbeat', detail: `last modified ${formatAge(j.heartbeatAgeMs)} ago` });

  if (obs.type === 'unreadable' && holders.length === 0 && openers.length === 0) return verdict(j, 'unknown', obs.problem ?? 'the lock cannot be read');
  const first = holders[0];
  if (first !== undefined) {
    j.kernelHeld = true;
    holdNoOlderThan(j, first.pid);
    return heldVerdict(j, `held through ${KERNEL_WORDS[first.kind]} by ${kernelHolderWords(ctx, first.pid)}`, true, true);
  }
  const opener = openers[0];
  if (opener !== undefined) {
    // A Ledgerlock holder keeps its own lock file open: when the opener is the very holder the
    // lock names (through another pid namespace), step 2 says so by the lock's own words.
    if (openers.some((o) => namedHolderIs(j, o.pid))) return undefined;
    holdNoOlderThan(j, opener.pid);
    return heldVerdict(j, `open by ${processWords({ pid: opener.pid, ...commandOf(ctx, opener.pid) })}`, true, true);
  }

  // Where /proc/locks cannot show every holder, ask the kernel about the file itself.
  const probe = obs.type !== 'unreadable' && ctx.kernelProbe ? await ctx.kernelProbe(obs.path) : undefined;
  if (probe !== undefined && (probe.flock === 'held' || probe.posix === 'held')) {
    const kind: KernelLockKind = probe.flock === 'held' ? 'flock' : 'posix';
    const who = kind === 'posix' && probe.posixPid !== undefined && probe.posixPid > 0 ? `pid ${probe.posixPid}` : 'a process Ledgerlock cannot see from here';
    evidence.unshift({ kind: 'probe', detail: `a non-blocking probe found a ${KERNEL_WORDS[kind]} lock on it, held by ${who}` });
    j.kernelHeld = true;
    return heldVerdict(j, `held through ${KERNEL_WORDS[kind]} by ${who} (found by probing the file)`, null, true);
  }
  if (probe !== undefined && probe.flock === 'free' && probe.posix === 'free') {
    j.probedFree = true;
    evidence.push({ kind: 'probe', detail: 'a non-blocking probe found no flock or POSIX lock on it' });
  }
  for (const blind of blindSpots(j)) evidence.push({ kind: 'vantage', detail: blind });
  if (osSaysFree(j)) evidence.push({ kind: 'content', detail: 'no process holds a kernel lock on it or has it open' });
  return undefined;
}

/**
 * A hold cannot be older than the process that holds it. A flock-style tool reuses one file for
 * years, so the file's age says nothing of the hold: "held for 2 h" of a lock taken a second ago
 * is false, and would flag it long held. The process's start bounds it (docs/ARCHITECTURE.md,
 * "How a lock is judged").
 */
function holdNoOlderThan(j: Judging, pid: number): void {
  const started = pid > 0 ? j.ctx.processes.start(pid) : undefined;
  if (started === undefined) return;
  const bound = Math.max(0, Math.round(j.timing.now - started.startedAtMs));
  if (bound < j.ageMs) {
    j.ageMs = bound;
    j.agePhrase = 'held for at most';
  }
}

/**
 * Absence of a kernel lock and of an opener proves nothing held it only where the judge sees
 * every process that could have: the initial pid namespace, and the descriptors of every process
 * of the file's owner (the user whose process created it).
 */
function osSaysFree(j: Judging): boolean {
  const v = j.ctx.processes.vantage;
  return j.obs.key !== undefined && j.ctx.os.supported && v.initialPidNamespace && v.procVisible && j.ctx.os.openersVisibleFor(j.obs.uid);
}

/** What this judge could not see that bears on this lock, in words. */
function blindSpots(j: Judging): string[] {
  const v = j.ctx.processes.vantage;
  if (v.platform !== 'linux') return j.ctx.os.supported ? [] : v.blindSpots;
  const out: string[] = [];
  if (!v.procVisible || !v.initialPidNamespace) out.push(v.blindSpots[0] ?? 'processes outside this pid namespace are invisible from here');
  else if (j.obs.key !== undefined && j.ctx.os.supported && !j.ctx.os.openersVisibleFor(j.obs.uid)) {
    out.push(
      `the file belongs to ${j.obs.uid !== undefined ? `uid ${j.obs.uid}` : 'another user'}, whose processes' open files and working directories Ledgerlock cannot read as this user`,
    );
  }
  return out;
}

/** The holder the lock names, as the liveness check (process.ts) takes it; undefined when it names no pid. */
function namedProcessOf(j: Judging): NamedProcess | undefined {
  const { holder } = j;
  if (holder?.pid === undefined) return undefined;
  const native = j.obs.parsed.native ?? j.profile?.nativeRecord?.(j.subject);
  return {
    pid: holder.pid,
    native: native !== undefined,
    ...(holder.host !== undefined ? { host: holder.host } : {}),
    ...(holder.acquiredAt !== undefined ? { acquiredAt: holder.acquiredAt } : {}),
    ...(native?.pidns !== undefined ? { pidns: native.pidns } : {}),
    ...(native?.startTicks !== undefined ? { startTicks: native.startTicks } : {}),
    ...(native?.startTime !== undefined ? { startTime: native.startTime } : {}),
    ...(native?.bootId !== undefined ? { bootId: native.bootId } : {}),
    ...(native?.platform !== undefined ? { platform: native.platform } : {}),
  };
}

/** Whether `pid` here is the live holder the lock names (its start time checked, through any pid namespace). */
function namedHolderIs(j: Judging, pid: number): boolean {
  const named = namedProcessOf(j);
  if (named === undefined) return false;
  const found = judgeNamedProcess(named, j.ctx.processes);
  return found.kind === 'live' && found.pid === pid;
}

/** Step 2: the holder the lock names, by the one liveness check (process.ts). */
function byNamedProcess(j: Judging): LockInfo | undefined {
  const { holder, ctx, evidence } = j;
  const named = namedProcessOf(j);
  if (holder !== null && named !== undefined) {
    const found = judgeNamedProcess(named, ctx.processes);
    if (found.kind === 'live') {
      // A live pid that is not the holder's would have been "reused": the open handle owed
      // when the named pid looked alive is not needed.
      const command = ctx.command(found.pid);
      evidence.unshift({ kind: 'pid', pid: found.pid, ...(command ? { command } : {}), detail: command ? `${found.detail} (${command})` : found.detail });
      const tool = holder.tool ? ` (${holder.tool})` : '';
      const where = found.pid !== holder.pid ? ` (pid ${found.pid} here)` : '';
      return heldVerdict(
        j,
        `held by live pid ${holder.pid}${where}${tool}${holder.host === undefined ? ' (the lock names no host)' : ''}`,
        holder.host === undefined ? null : true,
        true,
      );
    }
    if (found.kind === 'dead') {
      const late = lateOpener(j);
      if (late !== undefined) return late;
      evidence.unshift({ kind: 'pid', pid: named.pid, detail: found.detail });
      return verdict(j, 'stale', staleSentence(found, holder), true, false);
    }
    evidence.unshift({ kind: 'pid', pid: named.pid, detail: found.detail });
    j.unseen = found;
  }
  if (holder !== null || j.obs.parsed.kind === 'ledgerlock') {
    evidence.push({ kind: 'content', detail: `the lock says: ${describeHolder(holder)}${holder?.acquiredAt ? `, since ${holder.acquiredAt}` : ''}` });
  } else if (j.obs.parsed.problem) {
    evidence.push({ kind: 'content', detail: j.obs.parsed.problem });
  }
  return undefined;
}
/** "pid N, named in the lock, …" as the verdict's reason. */
function staleSentence(found: Extract<ProcessVerdict, { kind: 'dead' }>, holder: LockHolderInfo): string {
  const pid = holder.pid!;
  if (found.why === 'kernel-thread') return `pid ${pid} named in the lock is a kernel thread, not a lock holder: the lock's content is torn or garbage`;
  if (found.why === 'not-running' && found.detail.endsWith('on this host')) {
    return `holder pid ${pid} is no longer running on this host${holder.host === undefined ? ' (the lock names no host: its tool writes locks where it runs)' : ''}`;
  }
  return found.detail;
}

/**
 * A named pid that looked alive spared the scan of open descriptors; when it then proves to be
 * another process, that scan is owed before any stale verdict.
 */
function lateOpener(j: Judging): LockInfo | undefined {
  const { obs, ctx } = j;
  if (obs.key === undefined || !ctx.os.supported || j.evidence.some((e) => e.kind === 'open')) return undefined;
  const late = ctx.os.openers(obs.key)[0];
  if (late === undefined) return undefined;
  const words = processWords({ pid: late.pid, ...commandOf(ctx, late.pid) });
  j.evidence.unshift({ kind: 'open', ...processFields(ctx, late.pid), detail: `${words} has it open` });
  return heldVerdict(j, `open by ${words}`, true, true);
}

/** Step 3: the rule of the tool that wrote the lock. */
function byToolRule(j: Judging): LockInfo | undefined {
  const { profile, ctx, obs } = j;
  if (!profile?.rule) return undefined;
  const otherHost = j.unseen?.why === 'other-host' || (j.holder?.host !== undefined && j.holder.host !== ctx.processes.host);
  const free = osSaysFree(j);
  const facts: RuleFacts = {
    now: j.timing.now,
    heartbeatAgeMs: j.heartbeatAgeMs,
    ageMs: j.ageMs,
    staleMs: j.timing.staleMs,
    holder: j.holder,
    osSaysFree: free,
    blind: isBlind(j),
    toolProcesses: () => (profile.id === 'git' ? ctx.gitProcesses(gitDirOf(obs.path)!) : []),
  };
  const ruled = profile.rule(j.subject, facts);
  if (ruled === undefined) return undefined;
  if (ruled.state === 'held' || ruled.state === 'contended') {
    if (ruled.alive === true) {
      const running = facts.toolProcesses()[0];
      if (running) j.evidence.unshift({ kind: 'pid', pid: running.pid, ...(running.command ? { command: running.command } : {}), detail: ruled.reason });
      return heldVerdict(j, ruled.reason, true, true);
    }
    return heldVerdict(j, ruled.reason, otherHost ? false : null, null);
  }
  return verdict(j, ruled.state, ruled.reason, otherHost ? false : null, null);
}

/**
 * On Linux, a judge that cannot see every process that could hold this lock: absence (no opener,
 * no git process, no kernel lock in /proc/locks) proves nothing here, and only positive evidence
 * decides. Other platforms never had that evidence and keep their documented rules.
 */
function isBlind(j: Judging): boolean {
  return j.ctx.processes.vantage.platform === 'linux' && !osSaysFree(j);
}

/** The refresh interval the lock's record or its tool declares, if any. */
function declaredHeartbeat(j: Judging): number | undefined {
  return (j.obs.parsed.native ?? j.profile?.nativeRecord?.(j.subject))?.heartbeatMs ?? j.profile?.heartbeatMs;
}

/** How long a lock whose tool refreshes its mtime may go without a refresh. */
function heartbeatWindow(j: Judging): number {
  const declared = declaredHeartbeat(j);
  return declared !== undefined ? Math.max(j.timing.staleMs, 3 * declared) : j.timing.staleMs;
}

/** Step 4: the generic rules, for unknown producers and what a tool's rule leaves open. */
function byGenericRule(j: Judging): LockInfo {
  const { obs, holder } = j;
  const hb = j.heartbeatAgeMs;
  const staleMs = j.timing.staleMs;
  const window = `stale after ${formatAge(staleMs)}`;
  const blind = isBlind(j);
  const cannotSee = (what: string) => verdict(j, 'unknown', `${capitalize(what)}; ${blindWords(j)}`);

  if (obs.type === 'directory') {
    return hb > staleMs
      ? verdict(j, 'orphaned', `directory lock not touched for ${formatAge(hb)} (${window}); nothing says who holds it`)
      : heldVerdict(j, `directory lock touched ${formatAge(hb)} ago`, null, null);
  }

  if (obs.parsed.kind === 'empty') {
    // flock(1) and its kind leave their zero-byte file in place by design (README.md, "How a
    // lock is judged"): once this inode was seen kernel-locked, no kernel lock on it now means free.
    if (obs.key !== undefined && j.ctx.kernelLockedBefore?.(obs.key) === true && (osSaysFree(j) || j.probedFree === true)) {
      j.evidence.push({ kind: 'content', detail: 'this file was seen under a kernel lock before: its tool keeps it between holds' });
      return verdict(j, 'free', 'no process holds its kernel lock now; its tool keeps the empty file between holds');
    }
    if (hb <= EMPTY_LOCK_GRACE_MS) return heldVerdict(j, `empty lock file created ${formatAge(hb)} ago; its holder may still be writing it`, null, null);
    if (osSaysFree(j))
      return verdict(j, 'stale', `empty lock file ${formatAge(hb)} old that no process holds or has open: its holder stopped between creating and writing it`);
    if (blind) return cannotSee(`empty lock file ${formatAge(hb)} old that no process Ledgerlock can see holds or has open`);
    return verdict(
      j,
      'stale',
      `empty lock file ${formatAge(hb)} old: its holder stopped between creating and writing it (this system cannot show who has files open)`,
    );
  }

  const unseen = j.unseen;
  if (unseen !== undefined && unseen.why !== 'other-host' && unseen.why !== 'other-platform' && unseen.why !== 'no-answer') {
    // A pid this vantage cannot place: only a tool that refreshes its lock's mtime can still be judged.
    const beats = obs.parsed.native !== undefined || j.profile?.heartbeatMs !== undefined;
    if (!beats) return verdict(j, 'unknown', capitalize(unseen.detail));
    const limit = heartbeatWindow(j);
    return hb > limit
      ? verdict(
          j,
          'orphaned',
          `${capitalize(unseen.detail)}; and its holder has not refreshed it for ${formatAge(hb)} (it refreshes while it holds; ${`stale after ${formatAge(limit)}`})`,
        )
      : heldVerdict(j, `${capitalize(unseen.detail)}; refreshed ${formatAge(hb)} ago`, null, null);
  }

  if (holder === null || (holder.pid === undefined && holder.host === undefined)) {
    const what = obs.parsed.problem ?? 'the lock names no holder';
    if (blind && hb > staleMs) return cannotSee(`${what}; not touched for ${formatAge(hb)}`);
    return hb > staleMs
      ? verdict(j, 'orphaned', `${capitalize(what)}; not touched for ${formatAge(hb)} (${window})`)
      : heldVerdict(j, `${capitalize(what)}; touched ${formatAge(hb)} ago, so its holder may be alive`, null, null);
  }

  const heartbeat = `heartbeat ${formatAge(hb)} old`;
  const otherHost = holder.host !== undefined && holder.host !== j.ctx.processes.host;
  if (otherHost || unseen?.why === 'other-platform') {
    const limit = heartbeatWindow(j);
    const from = unseen?.why === 'other-platform' ? unseen.detail : `held from host ${holder.host}`;
    return hb > limit
      ? verdict(j, 'orphaned', `${from}, ${heartbeat} (stale after ${formatAge(limit)}); its process cannot be checked from here`, false)
      : heldVerdict(j, `${from}, ${heartbeat}`, false, null);
  }

  // A holder on this host that names no pid, or whose liveness cannot be asked.
  const local = holder.host !== undefined ? true : null;
  if (blind && hb > staleMs)
    return cannotSee(`the lock names ${holder.host !== undefined ? 'this host' : 'no host'} but no pid that can be checked; ${heartbeat}`);
  return hb > staleMs
    ? verdict(j, 'orphaned', `names ${holder.host !== undefined ? 'this host' : 'no host'} but no pid that can be checked; ${heartbeat} (${window})`, local)
    : heldVerdict(j, `names no pid that can be checked; ${heartbeat}`, local, null);
}

/** The part of the system a blind verdict could not see, as the end of its sentence. */
function blindWords(j: Judging): string {
  const spots = blindSpots(j);
  return spots.length > 0 ? `Ledgerlock cannot tell from here: ${spots.join('; ')}` : 'Ledgerlock cannot tell from here whether a process holds it';
}

function processFields(ctx: JudgeContext, pid: number): { pid?: number; command?: string } {
  if (pid <= 0) return {};
  const command = ctx.command(pid);
  return { pid, ...(command ? { command } : {}) };
}

function commandOf(ctx: JudgeContext, pid: number): { command?: string } {
  const command = pid > 0 ? ctx.command(pid) : undefined;
  return command ? { command } : {};
}

/** "pid 42 (flock x sleep 600)", or the open file description an OFD lock names no pid for. */
function kernelHolderWords(ctx: JudgeContext, pid: number): string {
  return pid > 0 ? processWords({ pid, ...commandOf(ctx, pid) }) : 'an open file description';
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

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
