/**
 * A tool profile: how one known producer's lock files look, who they name, the producer's own
 * rule for calling them abandoned, and which file each one guards. Profiles only interpret;
 * the operating system's evidence and the holder's pid are judged before any profile rule
 * (classify.ts), so no profile can call a lock with a live holder stale.
 */
import type { LockHolderInfo, NativeLock, ParsedLock } from '../holder';
import type { LockState } from '../state';

export type ProfileId = 'ledgerlock' | 'hardkas' | 'authmux' | 'claude-flow' | 'remnic' | 'proper-lockfile' | 'git' | 'flock' | 'generic';

/** What was read of one lock path, for a profile to look at. */
export interface LockSubject {
  /** Absolute path. */
  path: string;
  type: 'file' | 'directory' | 'unreadable';
  /** The first bytes of a file lock (bounded); null for directories and unreadable locks. */
  content: Buffer | null;
  parsed: ParsedLock;
  mtimeMs: number;
  bytes: number;
}

/** The facts a profile's own stale rule may use; the live-holder cases never reach it. */
export interface RuleFacts {
  now: number;
  heartbeatAgeMs: number;
  /** Since the holder's recorded acquisition time, else since mtime. */
  ageMs: number;
  /** The configured window for locks nobody can be seen holding. */
  staleMs: number;
  /** The holder named in the lock. */
  holder: LockHolderInfo | null;
  /**
   * The operating system could be asked (Linux /proc), this judge sees every process that could
   * hold the file (its vantage), and nobody holds or has it open.
   */
  osSaysFree: boolean;
  /** On Linux, this judge cannot see every process that could hold the lock: absence proves nothing. */
  blind: boolean;
  /** Live processes of this tool that work in the folder the lock belongs to (git). */
  toolProcesses(): { pid: number; command?: string }[];
}

interface ProfileVerdict {
  state: LockState;
  reason: string;
  /** The rule saw a live process of the tool (git at work in the repository). */
  alive?: boolean;
}

export interface LockProfile {
  id: ProfileId;
  /** The producer's name as people know it. */
  tool: string;
  /** The tool refreshes a held lock's mtime at least this often: a stopped heartbeat is evidence from anywhere. */
  heartbeatMs?: number;
  /**
   * Every age (since acquisition, or since the last heartbeat) at which `rule` can change its
   * verdict by time alone: whoever watches locks re-judges one as each passes (recheck.ts).
   */
  windowsMs?: readonly number[];
  recognise(subject: LockSubject): boolean;
  /** The holder as this tool writes it, when the generic reading is not enough. */
  holder?(subject: LockSubject): LockHolderInfo | null;
  /** A Ledgerlock record kept beside the lock for its holder (the proper-lockfile adapter's), for the process check. */
  nativeRecord?(subject: LockSubject): NativeLock | undefined;
  /** The tool's own rule, consulted only when no live holder was seen. undefined: the generic rules decide. */
  rule?(subject: LockSubject, facts: RuleFacts): ProfileVerdict | undefined;
  /** The file this lock protects, when the tool's layout says. */
  guards?(subject: LockSubject): string | undefined;
  /**
   * Files the tool keeps beside a lock that name its holder (by owner token): they go with the
   * lock when it is reaped, each only while it still names that holder.
   */
  leftovers?(lockPath: string, holder: LockHolderInfo | null): { path: string; owner: string }[];
}

/** A lock some tool takes before it writes a ledger, and how that tool writes it. */
export interface GuardLock {
  path: string;
  profile: ProfileId;
  tool: string;
  /** The lock file's bytes, in the tool's own format, naming this process. */
  content(self: { pid: number; host: string }, token: string): Buffer;
  /** Locks the tool may also hold over the same file: checked (never taken), a live one refuses. */
  alsoCheck?: string[];
}
