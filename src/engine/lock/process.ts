/**
 * Is a lock's holder process still the one that took the lock? `kill(pid, 0)` says whether a
 * pid is alive; on Linux the process start time (from /proc) says whether that pid still
 * belongs to the same process or was reused after the holder died.
 */
import * as os from 'node:os';
import * as fs from 'node:fs';
import { errnoCode } from '../errors';
import { fsl } from '../fs';

/** USER_HZ: the unit of /proc/<pid>/stat start times; 100 on every mainstream Linux. */
const CLOCK_TICKS_PER_SECOND = 100;

/** true alive, false gone, null not a pid we can ask about. EPERM means alive (someone else's). */
export function isProcessAlive(pid: number): boolean | null {
  if (!Number.isSafeInteger(pid) || pid <= 0 || pid > 2 ** 31 - 1) return null;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errnoCode(err) === 'ESRCH' ? false : true;
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
    const stat = (await fsl().readFile(`/proc/${pid}/stat`)).toString('latin1');
    // The command name (field 2) is in parentheses and may itself contain spaces and ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[19]); // field 22, starttime
    const bootSeconds = await bootTimeSeconds();
    if (!Number.isSafeInteger(ticks) || bootSeconds === undefined) return undefined;
    return { ticks, startedAtMs: bootSeconds * 1000 + (ticks * 1000) / CLOCK_TICKS_PER_SECOND };
  } catch {
    return undefined;
  }
}

/**
 * A kernel thread (PF_KTHREAD in /proc/<pid>/stat) never creates a lock file: a lock naming
 * one was torn or is garbage. false elsewhere and when it cannot be read.
 */
export function isKernelThread(pid: number): boolean {
  if (process.platform !== 'linux' || !Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    const flags = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[6]); // field 9
    return Number.isFinite(flags) && (flags & 0x00200000) !== 0;
  } catch {
    return false;
  }
}

async function bootTimeSeconds(): Promise<number | undefined> {
  const text = (await fsl().readFile('/proc/stat')).toString('latin1');
  const match = /^btime (\d+)$/m.exec(text);
  return match ? Number(match[1]) : undefined;
}

/** Linux's per-boot random id; undefined elsewhere. */
export async function bootId(): Promise<string | undefined> {
  if (process.platform !== 'linux') return undefined;
  try {
    const id = (await fsl().readFile('/proc/sys/kernel/random/boot_id')).toString('latin1').trim();
    return id.length > 0 ? id : undefined;
  } catch {
    return undefined;
  }
}

export interface SelfIdentity {
  pid: number;
  host: string;
  startTime?: string;
  startTicks?: number;
  bootId?: string;
}

let self: { pid: number; identity: Promise<SelfIdentity> } | undefined;

/** This process as a lock holder, computed once. */
export function selfIdentity(): Promise<SelfIdentity> {
  if (self === undefined || self.pid !== process.pid) {
    self = { pid: process.pid, identity: computeSelf() };
  }
  return self.identity;
}

async function computeSelf(): Promise<SelfIdentity> {
  const [start, boot] = await Promise.all([processStart(process.pid), bootId()]);
  const identity: SelfIdentity = { pid: process.pid, host: os.hostname() };
  if (start !== undefined) {
    identity.startTime = new Date(start.startedAtMs).toISOString();
    identity.startTicks = start.ticks;
  }
  if (boot !== undefined) identity.bootId = boot;
  return identity;
}
