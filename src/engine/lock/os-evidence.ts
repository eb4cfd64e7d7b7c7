/**
 * What the operating system says about a lock file, before anything its content claims:
 * kernel locks on its inode (`/proc/locks`: flock, POSIX and OFD, holders and blocked waiters)
 * and processes that have it open (`/proc/<pid>/fd`). A lock file the kernel sees held or open
 * has a live holder, whatever its bytes or age say.
 *
 * Linux only. Elsewhere `supported` is false and the verdicts fall back to the holder's pid
 * and the tools' own rules. Reads are bounded: `/proc/locks` up to 4 MiB, one readdir per
 * process, and only descriptors whose target names a file being judged are stat'ed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export type KernelLockKind = 'flock' | 'posix' | 'ofd';

export interface KernelLock {
  kind: KernelLockKind;
  /** -1 for OFD locks on kernels that do not say who took them. */
  pid: number;
  access: 'read' | 'write';
  /** A process blocked waiting for this lock (the `->` lines). */
  waiting: boolean;
}

export interface FileOpener {
  pid: number;
  fd: number;
}

/** The device and inode of a file, as /proc/locks names it. */
export interface FileKey {
  dev: number;
  ino: number;
}

export interface OsEvidence {
  /** false off Linux, or when /proc cannot be read: nothing below is evidence of absence. */
  supported: boolean;
  /** Every process's descriptors could be read (false when some belong to other users). */
  fdsComplete: boolean;
  /**
   * Every process that could have created a file owned by `uid` had its descriptors read: none
   * whose descriptors were hidden runs as that user. Without a uid, every process was read.
   */
  openersVisibleFor(uid: number | undefined): boolean;
  kernelLocks(key: FileKey): KernelLock[];
  openers(key: FileKey): FileOpener[];
}

const PROC_LOCKS_BUDGET = 4 * 1024 * 1024;

/**
 * An argument every kernel-lock probe helper (probe.ts) carries: a probe holds the files it asks
 * about open for its few milliseconds, and must never be taken for their holder by a verdict
 * running beside it (in this process or another judge's).
 */
export const PROBE_MARKER = 'ledgerlock-kernel-lock-probe';

const NO_OS_EVIDENCE: OsEvidence = {
  supported: false,
  fdsComplete: false,
  openersVisibleFor: () => false,
  kernelLocks: () => [],
  openers: () => [],
};

/**
 * One look at the system for the files in `paths`: /proc/locks for all of them, and the
 * descriptors of every process (but this one, whose own reads of lock files are not holds)
 * that point at one of them, confirmed by device and inode. Call it after the locks were
 * observed: the descriptors are read when first asked for, after the call, so a holder that
 * had the file open when it was observed is seen. One scan serves all the paths of one call,
 * and it keeps only the descriptors that name one of them.
 */
export function collectOsEvidence(pathList: Iterable<string>, opts: { proc?: string; selfPid?: number } = {}): OsEvidence {
  const proc = opts.proc ?? '/proc';
  if (process.platform !== 'linux' && opts.proc === undefined) return NO_OS_EVIDENCE;
  const paths = [...pathList];
  let locksText: string;
  try {
    locksText = readBounded(path.join(proc, 'locks'), PROC_LOCKS_BUDGET);
  } catch {
    return NO_OS_EVIDENCE;
  }
  const kernel = parseProcLocks(locksText);
  // The process table is read only when a verdict needs it (see classify.ts).
  let scan: OpenerScan | undefined;
  const openersOf = () => (scan ??= scanOpeners(proc, opts.selfPid ?? process.pid, paths));
  return {
    supported: true,
    get fdsComplete() {
      return openersOf().complete;
    },
    openersVisibleFor(uid) {
      const { complete, hiddenUids } = openersOf();
      if (complete) return true;
      return uid !== undefined && !hiddenUids.has(uid) && !hiddenUids.has(-1);
    },
    // A probe's own momentary flock is no holder.
    kernelLocks: (key) => (kernel.get(keyOf(key)) ?? []).filter((k) => k.pid <= 0 || !isProbeHelper(proc, String(k.pid))),
    openers: (key) => openersOf().openers.get(`${key.dev}:${key.ino}`) ?? [],
  };
}

/**
 * Every process's descriptors that name one of `paths` (as /proc names files: by real path),
 * keyed by the device and inode they point at now. `complete`: every process could be looked
 * into (false when some belong to other users).
 */
interface OpenerScan {
  openers: Map<string, FileOpener[]>;
  complete: boolean;
  /** Effective uids of the processes whose descriptors could not be read (-1: unknown, or /proc unreadable). */
  hiddenUids: Set<number>;
}

function scanOpeners(proc: string, selfPid: number, paths: readonly string[]): OpenerScan {
  const wanted = new Set<string>();
  const realDirs = new Map<string, string>();
  for (const p of paths) {
    // Resolve the folder's symlinks, not the file's own.
    const abs = path.resolve(p);
    const dir = path.dirname(abs);
    let real = realDirs.get(dir);
    if (real === undefined) {
      try {
        real = fs.realpathSync(dir);
      } catch {
        real = dir;
      }
      realDirs.set(dir, real);
    }
    wanted.add(path.join(real, path.basename(abs)));
  }
  const openers = new Map<string, FileOpener[]>();
  const hiddenUids = new Set<number>();
  let complete = true;
  let pids: string[] = [];
  try {
    pids = fs.readdirSync(proc).filter((n) => /^\d+$/.test(n));
  } catch {
    complete = false;
    hiddenUids.add(-1);
  }
  for (const pidText of pids) {
    const pid = Number(pidText);
    if (pid === selfPid) continue;
    const fdDir = path.join(proc, pidText, 'fd');
    let fds: string[];
    try {
      fds = fs.readdirSync(fdDir);
    } catch (err) {
      // A process that exited meanwhile is not a holder; one we may not look into might be.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        complete = false;
        hiddenUids.add(effectiveUid(proc, pidText));
      }
      continue;
    }
    for (const fdText of fds) {
      const link = path.join(fdDir, fdText);
      let target: string;
      try {
        target = fs.readlinkSync(link);
      } catch {
        continue;
      }
      // Pipes, sockets and anonymous inodes do not start with '/'; an unlinked file ends in
      // " (deleted)": neither is the file at any lock path.
      if (!wanted.has(target)) continue;
      let st: fs.Stats;
      try {
        st = fs.statSync(link);
      } catch {
        continue;
      }
      if (isProbeHelper(proc, pidText)) continue;
      const key = `${st.dev}:${st.ino}`;
      const fd = Number(fdText);
      const list = openers.get(key) ?? [];
      if (!list.some((o) => o.pid === pid && o.fd === fd)) list.push({ pid, fd });
      openers.set(key, list);
    }
  }
  return { openers, complete, hiddenUids };
}

/**
 * Sessions of the probe helpers this process started (each runs detached, so its pid is its
 * session and process group). A helper's child keeps the session after the helper is gone, when
 * it has been handed to init and its parent no longer carries PROBE_MARKER: a stop kills the
 * group, and until the kernel reaps it such a child still shows our descriptors.
 */
const ownProbeSessions = new Map<number, ReturnType<typeof setTimeout> | undefined>();
const PROBE_SESSION_KEPT_MS = 60_000;

export function noteProbeSession(pid: number): void {
  ownProbeSessions.set(pid, undefined);
}

/** The helper exited: its session is still recognised for a while, for stragglers of its group. */
export function probeSessionEnded(pid: number): void {
  clearTimeout(ownProbeSessions.get(pid));
  const timer = setTimeout(() => ownProbeSessions.delete(pid), PROBE_SESSION_KEPT_MS);
  timer.unref();
  ownProbeSessions.set(pid, timer);
}

/** A process in the session or process group of a probe helper this process started. */
function inOwnProbeSession(proc: string, pid: string): boolean {
  if (ownProbeSessions.size === 0) return false;
  const stat = readBounded(path.join(proc, pid, 'stat'), 4096);
  // "pid (comm) state ppid pgrp session …": the command may hold spaces and parentheses.
  const [, , pgrp, session] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ownProbeSessions.has(Number(pgrp)) || ownProbeSessions.has(Number(session));
}

/**
 * A kernel-lock probe helper: its command line carries PROBE_MARKER as an argument, or it is a
 * flock(1) the shell helper started (its parent carries it), or it belongs to the session of a
 * helper this process started.
 */
function isProbeHelper(proc: string, pid: string, depth = 0): boolean {
  try {
    if (depth === 0 && inOwnProbeSession(proc, pid)) return true;
    if (
      readBounded(path.join(proc, pid, 'cmdline'), 64 * 1024)
        .split('\0')
        .includes(PROBE_MARKER)
    )
      return true;
    if (depth > 0) return false;
    const ppid = /^PPid:\s*(\d+)$/m.exec(readBounded(path.join(proc, pid, 'status'), 4096))?.[1];
    return ppid !== undefined && ppid !== '0' && isProbeHelper(proc, ppid, depth + 1);
  } catch {
    return false;
  }
}

/** A process's effective uid from its status (readable by anyone); -1 when it cannot be read. */
function effectiveUid(proc: string, pid: string): number {
  try {
    const m = /^Uid:\s*\d+\s+(\d+)/m.exec(readBounded(path.join(proc, pid, 'status'), 4096));
    return m ? Number(m[1]) : -1;
  } catch {
    return -1;
  }
}

/** `/proc/locks` rows by "major:minor:inode" (hex device numbers, decimal inode). */
export function parseProcLocks(text: string): Map<string, KernelLock[]> {
  const byKey = new Map<string, KernelLock[]>();
  for (const line of text.split('\n')) {
    // "1: FLOCK  ADVISORY  WRITE 8262 fe:00:2146711 0 EOF" or "1: -> FLOCK ..."
    const m = /^\s*\d+:\s+(->\s+)?(FLOCK|POSIX|OFDLCK|LEASE|DELEG)\s+\S+\s+(READ|WRITE|UNLCK|RW|NONE)\s+(-?\d+)\s+([0-9a-f]+):([0-9a-f]+):(\d+)\s/i.exec(line);
    if (!m) continue;
    const type = m[2]!.toUpperCase();
    if (type !== 'FLOCK' && type !== 'POSIX' && type !== 'OFDLCK') continue;
    const key = `${parseInt(m[5]!, 16)}:${parseInt(m[6]!, 16)}:${m[7]}`;
    const entry: KernelLock = {
      kind: type === 'FLOCK' ? 'flock' : type === 'POSIX' ? 'posix' : 'ofd',
      pid: Number(m[4]),
      access: m[3]!.toUpperCase() === 'READ' ? 'read' : 'write',
      waiting: m[1] !== undefined,
    };
    const list = byKey.get(key);
    if (list) list.push(entry);
    else byKey.set(key, [entry]);
  }
  return byKey;
}

/** Linux's dev_t as /proc/locks prints it: major and minor from the glibc encoding. */
function keyOf(key: FileKey): string {
  const dev = BigInt(key.dev);
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  return `${major}:${minor}:${key.ino}`;
}

/** A process's command line, shortened for a sentence; undefined when it cannot be read. */
export function processCommand(pid: number, proc = '/proc'): string | undefined {
  if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
  try {
    const raw = readBounded(path.join(proc, String(pid), 'cmdline'), 4096);
    const text = raw
      .split('\0')
      .filter((s) => s.length > 0)
      .join(' ')
      .replace(/[\u0000-\u001f\u007f]/g, ' ')
      .trim();
    if (text.length === 0) return undefined;
    return text.length > 120 ? `${text.slice(0, 119)}…` : text;
  } catch {
    return undefined;
  }
}

/** Reads at most `budget` bytes of a /proc file (they report size 0, so stat cannot bound them). */
function readBounded(file: string, budget: number): string {
  const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    const buf = Buffer.allocUnsafe(64 * 1024);
    for (;;) {
      const n = fs.readSync(fd, buf, 0, Math.min(buf.length, budget - total), null);
      if (n <= 0) break;
      chunks.push(Buffer.from(buf.subarray(0, n)));
      total += n;
      if (total >= budget) break;
    }
    return Buffer.concat(chunks).toString('utf8');
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Live git processes working in a repository: their cwd lies in the work tree or the git
 * directory. git reads no lock file it holds through a descriptor while an editor or a hook
 * runs, so this is the evidence left for `index.lock` in that window.
 */
export function gitProcessesIn(workTree: string, gitDir: string, proc = '/proc'): { pid: number; command?: string }[] {
  if (process.platform !== 'linux' && proc === '/proc') return [];
  const found: { pid: number; command?: string }[] = [];
  let pids: string[];
  try {
    pids = fs.readdirSync(proc).filter((n) => /^\d+$/.test(n));
  } catch {
    return found;
  }
  const inside = (dir: string, root: string) => dir === root || dir.startsWith(root.endsWith(path.sep) ? root : root + path.sep);
  for (const pidText of pids) {
    let comm: string;
    try {
      comm = readBounded(path.join(proc, pidText, 'comm'), 64).trim();
    } catch {
      continue;
    }
    if (comm !== 'git' && !comm.startsWith('git-')) continue;
    let cwd: string;
    try {
      cwd = fs.readlinkSync(path.join(proc, pidText, 'cwd'));
    } catch {
      continue;
    }
    if (!inside(cwd, workTree) && !inside(cwd, gitDir)) continue;
    const pid = Number(pidText);
    const command = processCommand(pid, proc);
    found.push({ pid, ...(command ? { command } : {}) });
  }
  return found;
}
