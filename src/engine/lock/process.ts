/**
 * Is a lock's holder process still the one that took the lock? `kill(pid, 0)` says whether a
 * pid is alive; on Linux the process start time (from /proc) says whether that pid still
 * belongs to the same process or was reused after the holder died.
 */
import * as os from 'node:os';
import * as fs from 'node:fs';
import { errnoCode } from '../errors';
import { fsl } from '../fs';
import { readNamespaceTable, type NamespaceTable } from './pid-namespaces';
import { currentVantage, type Vantage } from './vantage';

/** USER_HZ: the unit of /proc/<pid>/stat start times; 100 on every mainstream Linux. */
const CLOCK_TICKS_PER_SECOND = 100;

/**
 * true alive, false gone, null not a pid we can ask about. EPERM means alive (someone else's).
 * A zombie (exited, not yet reaped by its parent) is gone: it holds no file and no lock. The one
 * liveness check for verdicts, waiters, the server and the adapters.
 */
export function isProcessAlive(pid: number): boolean | null {
  if (!Number.isSafeInteger(pid) || pid <= 0 || pid > 2 ** 31 - 1) return null;
  try {
    process.kill(pid, 0);
  } catch (err) {
    return errnoCode(err) === 'ESRCH' ? false : true;
  }
  return !isZombie(pid);
}

/** State Z in /proc/<pid>/stat (Linux); false elsewhere and when it cannot be read. */
function isZombie(pid: number): boolean {
  if (process.platform !== 'linux') return false;
  try {
    return statFields(fs.readFileSync(`/proc/${pid}/stat`, 'latin1'))[0] === 'Z'; // field 3, state
  } catch {
    return false;
  }
}

export interface ProcessStart {
  /** Raw start time in clock ticks since boot: exact, immune to wall-clock steps. */
  ticks: number;
  /** The same as wall-clock epoch ms (boot time + ticks), accurate to about a second. */
  startedAtMs: number;
}

/** When process `pid` started, on Linux; undefined elsewhere or when it is gone. */
export async function processStart(pid: number): Promise<ProcessStart | undefined> {
  if (process.platform !== 'linux' || !Number.isSafeInteger(pid) || pid <= 0) return undefined;
  try {
    return startFrom((await fsl().readFile(`/proc/${pid}/stat`)).toString('latin1'), (await fsl().readFile('/proc/stat')).toString('latin1'));
  } catch {
    return undefined;
  }
}

/** processStart with synchronous reads, for lock calls that cannot wait (proper-lockfile's sync API, exit hooks). */
function processStartSync(pid: number): ProcessStart | undefined {
  if (process.platform !== 'linux' || !Number.isSafeInteger(pid) || pid <= 0) return undefined;
  try {
    return startFrom(fsl().readFileSync(`/proc/${pid}/stat`).toString('latin1'), fsl().readFileSync('/proc/stat').toString('latin1'));
  } catch {
    return undefined;
  }
}

/** From /proc/<pid>/stat and /proc/stat. */
function startFrom(stat: string, procStat: string): ProcessStart | undefined {
  const ticks = Number(statFields(stat)[19]); // field 22, starttime
  const match = /^btime (\d+)$/m.exec(procStat);
  if (!Number.isSafeInteger(ticks) || !match) return undefined;
  return { ticks, startedAtMs: Number(match[1]) * 1000 + (ticks * 1000) / CLOCK_TICKS_PER_SECOND };
}

/**
 * A kernel thread (PF_KTHREAD in /proc/<pid>/stat) never creates a lock file: a lock naming
 * one was torn or is garbage. false elsewhere and when it cannot be read.
 */
function isKernelThread(pid: number): boolean {
  if (process.platform !== 'linux' || !Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    const flags = Number(statFields(fs.readFileSync(`/proc/${pid}/stat`, 'latin1'))[6]); // field 9
    return Number.isFinite(flags) && (flags & 0x00200000) !== 0;
  } catch {
    return false;
  }
}

/** The fields of /proc/<pid>/stat from field 3 (state) on; the command name before them is in parentheses and may itself hold spaces and ')'. */
function statFields(stat: string): string[] {
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

export interface SelfIdentity {
  pid: number;
  host: string;
  startTime?: string;
  startTicks?: number;
  bootId?: string;
  /** The pid namespace `pid` belongs to: a judge in another namespace finds the holder by it. */
  pidns?: number;
  uid?: number;
  platform: NodeJS.Platform;
}

let self: { pid: number; identity: SelfIdentity } | undefined;

/** This process as a lock holder, computed once (its start time, and the vantage read once per process). */
export function selfIdentitySync(): SelfIdentity {
  if (self === undefined || self.pid !== process.pid) {
    const identity: SelfIdentity = { pid: process.pid, host: os.hostname(), platform: process.platform };
    const start = processStartSync(process.pid);
    if (start !== undefined) {
      identity.startTime = new Date(start.startedAtMs).toISOString();
      identity.startTicks = start.ticks;
    }
    const vantage = currentVantage(); // read once per process: boot id, pid namespace, uid
    if (vantage.bootId !== undefined) identity.bootId = vantage.bootId;
    // A pid namespace is named only where /proc answers for it; elsewhere the pid would be misread.
    if (vantage.pidns !== undefined && vantage.procVisible) identity.pidns = vantage.pidns;
    if (vantage.uid !== undefined) identity.uid = vantage.uid;
    self = { pid: process.pid, identity };
  }
  return self.identity;
}

export function selfIdentity(): Promise<SelfIdentity> {
  return Promise.resolve(selfIdentitySync());
}

/**
 * Wall-clock slack before a foreign lock's time and its pid's start time prove pid reuse. Both
 * are wall-clock readings (the lock's time when it was written, the start time from /proc/stat's
 * boot time now), so a clock step between them moves one against the other. 1,000 s is ntpd's
 * panic threshold, the largest step it makes on a running system; chrony and timesyncd step less
 * once synchronised. A pid reused within this margin of the lock's time is read as the holder:
 * the safe mistake (the lock waits for that process to exit). Ledgerlock's own locks record the
 * start in clock ticks since boot and need no margin.
 */
const CLOCK_STEP_MARGIN_MS = 1_000_000;

/** What a lock says about the process that holds it. */
export interface NamedProcess {
  pid: number;
  host?: string;
  /** A Ledgerlock record: its pid is in `pidns` when it names one, and its start is in ticks. */
  native: boolean;
  pidns?: number;
  startTicks?: number;
  startTime?: string;
  bootId?: string;
  platform?: string;
  acquiredAt?: string;
}

/**
 * live: the holder runs (`pid` as this judge sees it); dead: provably gone; unseen: nothing this
 * judge can see decides (another host, another namespace, a pid that a container also uses).
 */
export type ProcessVerdict =
  | { kind: 'live'; pid: number; detail: string }
  | { kind: 'dead'; why: 'not-running' | 'reused' | 'kernel-thread' | 'rebooted'; detail: string }
  | { kind: 'unseen'; why: UnseenWhy; detail: string; otherHost?: string };

/**
 * Why nothing decides: another host or platform (only a heartbeat can tell), no answer from the
 * system, or a pid this vantage cannot place (another namespace, a container's pid of the same
 * number) — the last three leave the lock `unknown` unless its tool heartbeats.
 */
type UnseenWhy = 'other-host' | 'other-platform' | 'no-answer' | 'other-namespace' | 'outside-view' | 'nested-pid';

/** The system as a process verdict looks at it; tests pass their own. */
export interface ProcessView {
  vantage: Vantage;
  host: string;
  alive(pid: number): boolean | null;
  start(pid: number): ProcessStart | undefined;
  kernelThread(pid: number): boolean;
  namespaces(): NamespaceTable;
}

/** The system as it is now; the namespace table is read once, when first needed. */
export function systemProcessView(): ProcessView {
  let table: NamespaceTable | undefined;
  const starts = new Map<number, ProcessStart | undefined>();
  return {
    vantage: currentVantage(),
    host: os.hostname(),
    alive: isProcessAlive,
    start: (pid) => {
      if (!starts.has(pid)) starts.set(pid, processStartSync(pid));
      return starts.get(pid);
    },
    kernelThread: isKernelThread,
    namespaces: () => (table ??= readNamespaceTable()),
  };
}

/**
 * The one answer to "is the process this lock names still its holder?", for verdicts, waiters,
 * the server's re-judging and the proper-lockfile adapter alike (docs/ARCHITECTURE.md, "Vantage").
 * Absence ("not running", "reused", "a kernel thread") is evidence only where this judge sees
 * every process the pid could belong to.
 */
export function judgeNamedProcess(h: NamedProcess, view: ProcessView): ProcessVerdict {
  const v = view.vantage;
  if (h.platform !== undefined && h.platform !== v.platform) {
    return { kind: 'unseen', why: 'other-platform', detail: `the lock was taken by a ${h.platform} process, which this ${v.platform} system cannot look up` };
  }
  // One kernel (the same boot id): its pid namespaces are all on this machine, whatever
  // hostname a container gave itself, so a native record's namespace finds its holder.
  const sameKernel = h.native && h.bootId !== undefined && h.bootId === v.bootId && v.platform === 'linux' && v.procVisible;
  if (!sameKernel && h.host !== undefined && h.host !== view.host)
    return { kind: 'unseen', why: 'other-host', otherHost: h.host, detail: `held from host ${h.host}; its process cannot be checked from here` };
  if (h.bootId !== undefined && v.bootId !== undefined && h.bootId !== v.bootId) {
    return { kind: 'dead', why: 'rebooted', detail: `the lock was taken before this machine restarted; pid ${h.pid} is now another process` };
  }
  if (sameKernel && h.pidns !== undefined && h.pidns !== v.pidns) return inOtherNamespace(h, h.pidns, view);
  const sameNamespace = sameKernel && h.pidns !== undefined;
  // A pid that names no namespace may belong to any: only a judge that sees them all decides by it.
  const seesAll = sameNamespace || v.initialPidNamespace;
  const alive = view.alive(h.pid);
  const kthread = alive === true && view.kernelThread(h.pid);
  if (alive === true && !kthread) {
    const reused = reuseOf(h, h.pid, view);
    const exact = reused === undefined && h.startTicks !== undefined;
    // From the initial namespace a pid that a container also uses decides nothing, alive or not,
    // unless the recorded start time in ticks proves which process it is.
    const nested = exact ? undefined : nestedHolder(h, view, sameNamespace);
    if (nested !== undefined) return nested;
    if (reused === undefined) return { kind: 'live', pid: h.pid, detail: `pid ${h.pid}, named in the lock, is running` };
    if (!seesAll) return outsideView(`pid ${h.pid} here is another process than the lock's holder`);
    return { kind: 'dead', why: 'reused', detail: reused };
  }
  if (alive === null) return { kind: 'unseen', why: 'no-answer', detail: `pid ${h.pid} cannot be looked up` };
  if (!seesAll) return outsideView(kthread ? `pid ${h.pid} here is a kernel thread` : `pid ${h.pid} is not running in this container`);
  return (
    nestedHolder(h, view, sameNamespace) ?? {
      kind: 'dead',
      why: kthread ? 'kernel-thread' : 'not-running',
      detail: kthread
        ? `pid ${h.pid}, named in the lock, is a kernel thread: no process of any tool holds it (the content is likely torn)`
        : `pid ${h.pid}, named in the lock, is not running ${v.initialPidNamespace ? 'on this host' : 'in this pid namespace'}`,
    }
  );
}

/** A native holder in a pid namespace other than the judge's, found through NSpid. */
function inOtherNamespace(h: NamedProcess, pidns: number, view: ProcessView): ProcessVerdict {
  const table = view.namespaces();
  const found = table.find(pidns, h.pid);
  if (found !== undefined) {
    const reused = reuseOf(h, found.pid, view);
    if (reused === undefined)
      return { kind: 'live', pid: found.pid, detail: `pid ${h.pid} in pid namespace ${pidns} (pid ${found.pid} here), named in the lock, is running` };
    return { kind: 'dead', why: 'reused', detail: `pid ${h.pid} in pid namespace ${pidns} was reused: ${reused}` };
  }
  if (table.hasNamespace(pidns) && !table.incomplete) {
    return { kind: 'dead', why: 'not-running', detail: `pid ${h.pid} is no longer running in its pid namespace (${pidns})` };
  }
  if (view.vantage.initialPidNamespace && !table.incomplete) {
    return { kind: 'dead', why: 'not-running', detail: `its pid namespace (${pidns}) no longer exists: every process in it, the holder too, has exited` };
  }
  const where = view.vantage.initialPidNamespace
    ? '; Ledgerlock cannot look into that namespace as this user'
    : ', a process outside this container; Ledgerlock cannot see it from here';
  return { kind: 'unseen', why: 'other-namespace', detail: `held by pid ${h.pid} in pid namespace ${pidns}${where}` };
}

/**
 * From the initial namespace a lock naming no namespace may name a pid inside a container: when a
 * process there has that pid, the number decides nothing — unless it is provably the holder.
 */
function nestedHolder(h: NamedProcess, view: ProcessView, sameNamespace: boolean): ProcessVerdict | undefined {
  if (sameNamespace || view.vantage.platform !== 'linux' || !view.vantage.procVisible) return undefined;
  const nested = view.namespaces().nestedWithPid(h.pid);
  if (nested.length === 0) return undefined;
  for (const p of nested) {
    if (h.startTicks !== undefined && view.start(p.pid)?.ticks === h.startTicks) {
      return { kind: 'live', pid: p.pid, detail: `pid ${h.pid} in a container's pid namespace (pid ${p.pid} here), named in the lock, is running` };
    }
  }
  const where = nested.map((p) => `pid ${p.pid}`).join(', ');
  return {
    kind: 'unseen',
    why: 'nested-pid',
    detail: `the lock names pid ${h.pid} without saying in which pid namespace, and a process inside a container has pid ${h.pid} there (${where} here): the pid decides nothing`,
  };
}

function outsideView(what: string): ProcessVerdict {
  return {
    kind: 'unseen',
    why: 'outside-view',
    detail: `${what}; the holder may be a process outside this container (the host or another container), which Ledgerlock cannot see from here`,
  };
}

/** A sentence when the live process `pid` (as this judge sees it) is provably not the holder. */
function reuseOf(h: NamedProcess, pid: number, view: ProcessView): string | undefined {
  const start = view.start(pid);
  if (start === undefined) return undefined;
  if (h.startTicks !== undefined) {
    return start.ticks !== h.startTicks
      ? `pid ${h.pid} was reused: the process running now started at ${new Date(start.startedAtMs).toISOString()}, not when the holder did`
      : undefined;
  }
  const recorded = h.startTime ?? h.acquiredAt;
  const recordedMs = recorded !== undefined ? Date.parse(recorded) : NaN;
  if (Number.isFinite(recordedMs) && start.startedAtMs > recordedMs + CLOCK_STEP_MARGIN_MS) {
    return `pid ${h.pid} was reused: the process running now started at ${new Date(start.startedAtMs).toISOString()}, more than ${CLOCK_STEP_MARGIN_MS / 1000} s after the lock was taken at ${recorded} (a margin no clock step explains)`;
  }
  return undefined;
}
