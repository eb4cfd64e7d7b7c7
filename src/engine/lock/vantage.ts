/**
 * Where this process judges locks from, and so what the operating system can show it. A verdict
 * reached from absence ("pid not running", "no kernel lock", "nobody has it open", "no git
 * process works here") is evidence only where every process that could hold the lock is
 * visible (docs/ARCHITECTURE.md, "Vantage"):
 * - a non-initial pid namespace (a Dev Container, a Docker bind mount, a WSL distribution) sees
 *   neither the host's processes nor their entries in /proc/locks;
 * - a judge without CAP_SYS_PTRACE cannot read other users' descriptors or working directories;
 * - a /proc mounted for another pid namespace than ours answers about the wrong processes.
 * Computed once per process: none of it changes while a process lives.
 */
import * as fs from 'node:fs';
import type { VantageInfo } from '../../shared/vantage';

/** The inode of the initial pid namespace (PROC_PID_INIT_INO), fixed by the kernel since Linux 3.8. */
const INITIAL_PID_NAMESPACE = 0xeffffffc;
/** Bit 19 of CapEff: reading any process's descriptors and working directory. */
const CAP_SYS_PTRACE = 19n;

export interface Vantage {
  platform: NodeJS.Platform;
  /** This process's pid namespace inode (Linux). */
  pidns?: number;
  /** This process sees every process of the machine: it runs in the initial pid namespace with a /proc of its own namespace. */
  initialPidNamespace: boolean;
  /** Other users' descriptors and working directories can be read (CAP_SYS_PTRACE). */
  otherUsersVisible: boolean;
  /** Linux's per-boot id. */
  bootId?: string;
  /** Effective uid; files owned by it were created by processes this judge can look into. */
  uid?: number;
  /** /proc answers about this process's own pid namespace (false off Linux). */
  procVisible: boolean;
  /** What this judge cannot see, in words, for a lock's evidence; empty where it sees everything. */
  blindSpots: string[];
}

let cached: Vantage | undefined;

/** This process's vantage, computed once. */
export function currentVantage(): Vantage {
  return (cached ??= readVantage('/proc'));
}

/** The vantage as a given /proc shows it (tests pass a fake tree). */
function readVantage(proc: string, platform: NodeJS.Platform = process.platform, selfPid = process.pid): Vantage {
  const uid = typeof process.geteuid === 'function' ? process.geteuid() : undefined;
  if (platform !== 'linux') {
    return {
      // No pid namespaces there: a pid the lock names is a pid of this machine.
      platform,
      initialPidNamespace: true,
      otherUsersVisible: false,
      procVisible: false,
      ...(uid !== undefined ? { uid } : {}),
      blindSpots:
        platform === 'win32'
          ? ["Windows shows no other process's open files or locks to Ledgerlock, and a pid in a lock written from WSL or a container means nothing here"]
          : ["this system shows no other process's open files or kernel locks to Ledgerlock"],
    };
  }
  const pidns = nsInode(`${proc}/self/ns/pid`);
  const procPid = selfPidOfProc(proc);
  const procVisible = procPid === selfPid;
  const initialPidNamespace = procVisible && pidns === INITIAL_PID_NAMESPACE;
  const otherUsersVisible = procVisible && hasCapability(proc, CAP_SYS_PTRACE);
  const bootId = readSmall('/proc/sys/kernel/random/boot_id');
  const blindSpots: string[] = [];
  if (!procVisible) blindSpots.push("/proc here belongs to another pid namespace, so it cannot show this one's processes");
  else if (!initialPidNamespace)
    blindSpots.push(
      'processes outside this container (its own pid namespace, as in a Dev Container or WSL), their kernel locks and their open files are invisible from here',
    );
  if (!otherUsersVisible) blindSpots.push("other users' open files and working directories cannot be read without CAP_SYS_PTRACE");
  return {
    platform,
    initialPidNamespace,
    otherUsersVisible,
    procVisible,
    blindSpots,
    ...(pidns !== undefined ? { pidns } : {}),
    ...(bootId !== undefined ? { bootId } : {}),
    ...(uid !== undefined ? { uid } : {}),
  };
}

/** "pid:[4026531836]" → 4026531836. */
export function nsInode(link: string): number | undefined {
  try {
    const m = /\[(\d+)\]$/.exec(fs.readlinkSync(link));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** The pid /proc/self names: our own pid only when /proc was mounted for our pid namespace. */
function selfPidOfProc(proc: string): number | undefined {
  try {
    const n = Number(fs.readlinkSync(`${proc}/self`));
    return Number.isSafeInteger(n) ? n : undefined;
  } catch {
    return undefined;
  }
}

function hasCapability(proc: string, bit: bigint): boolean {
  const status = readSmall(`${proc}/self/status`);
  const m = status !== undefined ? /^CapEff:\s*([0-9a-f]+)$/m.exec(status) : null;
  if (!m) return false;
  return ((BigInt(`0x${m[1]}`) >> bit) & 1n) === 1n;
}

function readSmall(file: string): string | undefined {
  try {
    const text = fs.readFileSync(file, 'latin1').trim();
    return text.length > 0 ? text : undefined;
  } catch {
    return undefined;
  }
}

/** The vantage as `locks --json` and the server's state carry it. */
export function vantageSummary(v: Vantage = currentVantage()): VantageInfo {
  return {
    platform: v.platform,
    pidns: v.pidns ?? null,
    initialPidNamespace: v.initialPidNamespace,
    otherUsersVisible: v.otherUsersVisible,
    bootId: v.bootId ?? null,
    blindSpots: v.blindSpots,
  };
}
