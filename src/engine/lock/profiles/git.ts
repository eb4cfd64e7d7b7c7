/**
 * git: `index.lock`, `HEAD.lock`, `config.lock`, `packed-refs.lock` and ref locks under
 * `.git/`. git keeps the file open while it writes it, but `git commit` closes `index.lock`
 * before it runs hooks and the editor, so an unopened lock still has a live holder while a git
 * process works in the repository. git itself never removes another process's lock; Ledgerlock
 * calls one stale only when no git process runs in the repository, none has it open, and it is
 * older than 10 s.
 */
import * as path from 'node:path';
import { EMPTY_LOCK_GRACE_MS, formatAge } from '../timing';
import type { LockProfile } from './types';

/** The `.git` directory a lock path lies in, or undefined. */
export function gitDirOf(lockPath: string): string | undefined {
  const parts = lockPath.split(path.sep);
  const at = parts.lastIndexOf('.git');
  return at > 0 ? parts.slice(0, at + 1).join(path.sep) : undefined;
}

export const gitProfile: LockProfile = {
  id: 'git',
  tool: 'git',
  windowsMs: [EMPTY_LOCK_GRACE_MS],
  recognise: (s) => s.type !== 'directory' && gitDirOf(s.path) !== undefined && s.path.endsWith('.lock'),
  holder: () => ({ tool: 'git' }),
  rule(_s, facts) {
    const running = facts.toolProcesses()[0];
    if (running !== undefined) {
      return {
        state: 'held',
        alive: true,
        reason: `git process ${running.pid}${running.command ? ` (${running.command})` : ''} is running in this repository`,
      };
    }
    if (facts.blind) {
      return {
        state: 'unknown',
        reason:
          "no git process that Ledgerlock can see works in this repository, but git processes outside its view (another container, the host, another user) could; git never removes another process's lock, and neither does Ledgerlock from here",
      };
    }
    if (!facts.osSaysFree) return undefined;
    return facts.heartbeatAgeMs > EMPTY_LOCK_GRACE_MS
      ? {
          state: 'stale',
          reason: `no git process runs in this repository or has the lock open, and it was last written ${formatAge(facts.heartbeatAgeMs)} ago: a git command crashed or was killed`,
        }
      : { state: 'held', reason: `written ${formatAge(facts.heartbeatAgeMs)} ago; git may be finishing with it` };
  },
  guards(s) {
    const base = path.basename(s.path, '.lock');
    const gitDir = gitDirOf(s.path)!;
    if (base === 'index' || base === 'HEAD' || base === 'config' || base === 'packed-refs') return path.join(gitDir, base);
    return s.path.slice(0, -'.lock'.length);
  },
};
