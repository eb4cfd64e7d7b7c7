/**
 * Where a judge of locks stands, as `locks --json`, `status --json` and the server's state
 * carry it (docs/ARCHITECTURE.md, "Vantage"): inside a container it cannot see processes outside
 * it, so some locks are unknown. Plain JSON, shared by the engine and the protocol.
 */
export interface VantageInfo {
  platform: string;
  /** The judge's pid namespace inode (Linux), else null. */
  pidns: number | null;
  /** False inside a container (a pid namespace of its own): processes outside it are invisible. */
  initialPidNamespace: boolean;
  /** Other users' open files can be read (CAP_SYS_PTRACE). */
  otherUsersVisible: boolean;
  bootId: string | null;
  /** What the judge cannot see, in words; empty where it sees everything. */
  blindSpots: string[];
}
