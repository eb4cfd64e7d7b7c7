/**
 * The machine's pid namespaces as this judge's /proc shows them: for every visible process,
 * the namespace it lives in and its pid there (the last field of NSpid). A lock names a pid in
 * its writer's namespace; from the initial namespace a pid seen inside some container's
 * namespace means that number decides nothing, and a native lock's (namespace, pid) pair finds
 * its holder wherever it runs. Read only when a verdict needs it, once per look.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { nsInode } from './vantage';

interface NamespacedProcess {
  /** The pid in this judge's /proc. */
  pid: number;
  /** The pid in the process's own (innermost) namespace. */
  innerPid: number;
  /** Its pid namespace's inode; undefined when its ns link could not be read (another user's). */
  pidns?: number;
  uid?: number;
}

export interface NamespaceTable {
  /** The process a (namespace, pid) pair names, when this judge can see it. */
  find(pidns: number, innerPid: number): NamespacedProcess | undefined;
  /** Some visible process lives in that namespace (so it still exists and its pids are visible). */
  hasNamespace(pidns: number): boolean;
  /** Processes in namespaces nested below the judge's whose own pid there is `innerPid`. */
  nestedWithPid(innerPid: number): NamespacedProcess[];
  /** Some processes' namespaces could not be read (other users' without CAP_SYS_PTRACE). */
  incomplete: boolean;
}

export function readNamespaceTable(proc = '/proc', ownPidns: number | undefined = nsInode(`${proc}/self/ns/pid`)): NamespaceTable {
  const byKey = new Map<string, NamespacedProcess>();
  const byInner = new Map<number, NamespacedProcess[]>();
  const namespaces = new Set<number>();
  let incomplete = false;
  let names: string[] = [];
  try {
    names = fs.readdirSync(proc).filter((n) => /^\d+$/.test(n));
  } catch {
    incomplete = true;
  }
  for (const name of names) {
    let status: string;
    try {
      status = fs.readFileSync(path.join(proc, name, 'status'), 'latin1');
    } catch {
      continue; // exited meanwhile
    }
    if (/^State:\s*Z/m.test(status)) continue; // exited: holds nothing
    const nspid = /^NSpid:\s*([\d\s]+)$/m.exec(status);
    const uidMatch = /^Uid:\s*\d+\s+(\d+)/m.exec(status);
    const pids = nspid ? nspid[1]!.trim().split(/\s+/).map(Number) : [Number(name)];
    const innerPid = pids[pids.length - 1]!;
    // A single NSpid field: the process lives in /proc's own namespace, whose inode is known
    // without reading its link (which another user's process hides without CAP_SYS_PTRACE).
    const pidns = pids.length === 1 && ownPidns !== undefined ? ownPidns : nsInode(path.join(proc, name, 'ns', 'pid'));
    // A hidden nested process might be anywhere; one that exited meanwhile hides nothing.
    if (pidns === undefined && !exitedMeanwhile(path.join(proc, name, 'ns', 'pid'))) incomplete = true;
    const entry: NamespacedProcess = {
      pid: Number(name),
      innerPid,
      ...(pidns !== undefined ? { pidns } : {}),
      ...(uidMatch ? { uid: Number(uidMatch[1]) } : {}),
    };
    if (pidns !== undefined) {
      namespaces.add(pidns);
      byKey.set(`${pidns}:${innerPid}`, entry);
    }
    // NSpid lists the pid in every namespace from /proc's down to the process's own: more than
    // one field means it lives in a namespace nested below ours (status is readable by anyone).
    if (pids.length > 1) {
      const list = byInner.get(innerPid);
      if (list) list.push(entry);
      else byInner.set(innerPid, [entry]);
    }
  }
  return {
    find: (pidns, innerPid) => byKey.get(`${pidns}:${innerPid}`),
    hasNamespace: (pidns) => namespaces.has(pidns),
    nestedWithPid: (innerPid) => byInner.get(innerPid) ?? [],
    incomplete,
  };
}

function exitedMeanwhile(link: string): boolean {
  try {
    fs.readlinkSync(link);
    return false;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ESRCH';
  }
}
