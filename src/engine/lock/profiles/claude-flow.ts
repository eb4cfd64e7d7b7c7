/**
 * claude-flow guidance (`@claude-flow/guidance` persistence): `<storagePath>/.lock` beside
 * `events.ndjson` and `index.json` (default storage `.claude-flow/guidance`), holding
 * `{"holder": <uuid>, "timestamp": <epoch ms>, "pid": <pid>}`. Its own rule: a lock older than
 * 30 s is stale, and an unreadable one is removed at once. Ledgerlock applies both only when no
 * live holder is seen, and gives an unreadable one 2 s, since claude-flow writes it in place.
 */
import * as path from 'node:path';
import type { LockHolderInfo } from '../holder';
import { formatAge } from '../timing';
import type { GuardLock, LockProfile } from './types';
import { existsQuietly, holderFromJson, jsonObject } from './util';

const CLAUDE_FLOW_STALE_MS = 30_000;
const UNREADABLE_GRACE_MS = 2_000;
const EVENTS_FILE = 'events.ndjson';

function isClaudeFlowLockPath(p: string): boolean {
  if (path.basename(p) !== '.lock') return false;
  const dir = path.dirname(p);
  return (path.basename(dir) === 'guidance' && path.basename(path.dirname(dir)) === '.claude-flow') || existsQuietly(path.join(dir, EVENTS_FILE));
}

export const claudeFlowProfile: LockProfile = {
  id: 'claude-flow',
  tool: 'claude-flow',
  windowsMs: [UNREADABLE_GRACE_MS, CLAUDE_FLOW_STALE_MS],
  recognise: (s) => s.type !== 'directory' && isClaudeFlowLockPath(s.path),
  holder(s): LockHolderInfo | null {
    const obj = jsonObject(s.content);
    if (obj === undefined) return null;
    return holderFromJson(obj, 'claude-flow guidance', { owner: 'holder', at: ['timestamp'] });
  },
  rule(s, facts) {
    if (!facts.osSaysFree) return undefined;
    if (jsonObject(s.content) === undefined) {
      return facts.heartbeatAgeMs > UNREADABLE_GRACE_MS
        ? {
            state: 'stale',
            reason: `unreadable claude-flow lock, ${formatAge(facts.heartbeatAgeMs)} old, that no process holds (claude-flow removes these itself)`,
          }
        : { state: 'held', reason: `claude-flow lock written ${formatAge(facts.heartbeatAgeMs)} ago; its holder may still be writing it` };
    }
    if (facts.holder?.pid !== undefined) return undefined; // the pid rules already ran
    return facts.ageMs > CLAUDE_FLOW_STALE_MS
      ? {
          state: 'stale',
          reason: `claude-flow lock ${formatAge(facts.ageMs)} old (claude-flow calls its locks stale after ${formatAge(CLAUDE_FLOW_STALE_MS)}) and no process holds it`,
        }
      : undefined;
  },
  guards: (s) => path.join(path.dirname(s.path), EVENTS_FILE),
};

/** claude-flow writes `events.ndjson` under `<storagePath>/.lock`. */
export function claudeFlowLedgerGuard(ledgerPath: string): GuardLock | undefined {
  if (path.basename(ledgerPath) !== EVENTS_FILE) return undefined;
  const dir = path.dirname(ledgerPath);
  const lock = path.join(dir, '.lock');
  const known =
    (path.basename(dir) === 'guidance' && path.basename(path.dirname(dir)) === '.claude-flow') ||
    existsQuietly(lock) ||
    existsQuietly(path.join(dir, 'index.json'));
  if (!known) return undefined;
  return {
    path: lock,
    profile: 'claude-flow',
    tool: 'claude-flow',
    content: (self, token) => Buffer.from(JSON.stringify({ holder: token, timestamp: Date.now(), pid: self.pid })),
  };
}
