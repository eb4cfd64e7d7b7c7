/**
 * HardKAS (`@hardkas/core`): workspace locks `.hardkas/locks/<domain>.lock` and append locks
 * `.hardkas/locks/append-<file>.lock` guarding `.hardkas/<file>`. Records are
 * `{"schema":"hardkas.lock.v1", name, pid, command, cwd, hostname, createdAt, expiresAt}`;
 * earlier releases wrote `{pid, time}` or `{pid, timestamp}` without a host.
 * Its own rules: a dead pid on this host is abandoned; an empty or unreadable append lock past
 * a 2 s creation grace is abandoned (workspace locks: zero bytes past 10 s); a lock from
 * another host is never taken over.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import type { LockHolderInfo } from '../holder';
import { EMPTY_LOCK_GRACE_MS, formatAge } from '../timing';
import type { GuardLock, LockProfile } from './types';
import { holderFromJson, jsonObject, shortText } from './util';

const HARDKAS_LOCK_SCHEMA = 'hardkas.lock.v1';
const APPEND_CREATION_GRACE_MS = 2_000;

function inHardkasLocks(p: string): boolean {
  const dir = path.dirname(p);
  return path.basename(dir) === 'locks' && path.basename(path.dirname(dir)) === '.hardkas';
}

function isAppendLock(p: string): boolean {
  return path.basename(p).startsWith('append-');
}

export const hardkasProfile: LockProfile = {
  id: 'hardkas',
  tool: 'HardKAS',
  windowsMs: [APPEND_CREATION_GRACE_MS, EMPTY_LOCK_GRACE_MS],
  recognise(s) {
    if (inHardkasLocks(s.path) && s.path.endsWith('.lock')) return true;
    return jsonObject(s.content)?.schema === HARDKAS_LOCK_SCHEMA;
  },
  holder(s): LockHolderInfo | null {
    const obj = jsonObject(s.content);
    if (obj === undefined) return s.parsed.holder;
    const command = shortText(obj.command);
    return holderFromJson(obj, command !== undefined ? `HardKAS: ${command}` : 'HardKAS', { host: 'hostname', at: ['createdAt', 'time', 'timestamp'] });
  },
  rule(s, facts) {
    const host = facts.holder?.host;
    if (host !== undefined && host !== os.hostname()) {
      return { state: 'unknown', reason: `held from host ${host}; HardKAS never takes over another host's lock, and neither does Ledgerlock` };
    }
    if (!facts.osSaysFree) return undefined;
    const append = isAppendLock(s.path);
    const unreadable = s.type === 'unreadable' || s.bytes === 0 || jsonObject(s.content) === undefined;
    if (unreadable && s.type !== 'directory') {
      const grace = append ? APPEND_CREATION_GRACE_MS : EMPTY_LOCK_GRACE_MS;
      return facts.heartbeatAgeMs > grace
        ? {
            state: 'stale',
            reason: `${s.bytes === 0 ? 'empty' : 'unreadable'} HardKAS ${append ? 'append ' : ''}lock ${formatAge(facts.heartbeatAgeMs)} old and no process holds it: its writer stopped before naming itself (HardKAS abandons these after ${formatAge(grace)})`,
          }
        : { state: 'held', reason: `HardKAS lock created ${formatAge(facts.heartbeatAgeMs)} ago; its holder may still be writing it` };
    }
    return undefined;
  },
  guards(s) {
    if (!inHardkasLocks(s.path)) return undefined;
    const name = path.basename(s.path, '.lock');
    const hardkasDir = path.dirname(path.dirname(s.path));
    if (name.startsWith('append-')) return path.join(hardkasDir, name.slice('append-'.length));
    if (name === 'events') return path.join(hardkasDir, 'events.jsonl');
    return undefined;
  },
};

/** HardKAS appends to `.hardkas/<file>` under `.hardkas/locks/append-<file>.lock`. */
export function hardkasLedgerGuard(ledgerPath: string): GuardLock | undefined {
  const dir = path.dirname(ledgerPath);
  if (path.basename(dir) !== '.hardkas') return undefined;
  const file = path.basename(ledgerPath);
  const locks = path.join(dir, 'locks');
  const alsoCheck = file === 'events.jsonl' ? [path.join(locks, 'events.lock')] : [];
  return {
    path: path.join(locks, `append-${file}.lock`),
    profile: 'hardkas',
    tool: 'HardKAS',
    alsoCheck,
    content: (self) =>
      Buffer.from(
        JSON.stringify(
          {
            schema: HARDKAS_LOCK_SCHEMA,
            name: `append-${file}`,
            pid: self.pid,
            command: 'ledgerlock repair',
            cwd: process.cwd(),
            hostname: self.host,
            createdAt: new Date().toISOString(),
            expiresAt: null,
          },
          null,
          2,
        ),
      ),
  };
}
