/**
 * authmux (codex account switcher): `registry.json.lock` beside `registry.json`, made with
 * O_EXCL, holding `{"pid": <pid>, "at": <time>}`. Its own rule: the holder's pid is gone, or the
 * lock is older than 30 s by the wall clock. Ledgerlock applies the 30 s only when no pid can
 * be checked: a running holder is never broken.
 */
import * as path from 'node:path';
import type { LockHolderInfo } from '../holder';
import { formatAge } from '../timing';
import type { LockProfile } from './types';
import { holderFromJson, jsonObject } from './util';

const AUTHMUX_STALE_MS = 30_000;

function authmuxShape(content: Buffer | null): Record<string, unknown> | undefined {
  const obj = jsonObject(content);
  if (obj === undefined) return undefined;
  const keys = Object.keys(obj).sort().join(',');
  return keys === 'at,pid' ? obj : undefined;
}

export const authmuxProfile: LockProfile = {
  id: 'authmux',
  tool: 'authmux',
  windowsMs: [AUTHMUX_STALE_MS],
  recognise: (s) => s.type !== 'directory' && (path.basename(s.path) === 'registry.json.lock' || authmuxShape(s.content) !== undefined),
  holder(s): LockHolderInfo | null {
    const obj = jsonObject(s.content);
    if (obj === undefined) return null;
    return holderFromJson(obj, 'authmux', { at: ['at'] });
  },
  rule(_s, facts) {
    if (!facts.osSaysFree || facts.holder?.pid !== undefined) return undefined;
    return facts.ageMs > AUTHMUX_STALE_MS
      ? {
          state: 'stale',
          reason: `authmux lock naming no pid, ${formatAge(facts.ageMs)} old (authmux calls its locks stale after ${formatAge(AUTHMUX_STALE_MS)}) and no process holds it`,
        }
      : { state: 'held', reason: `authmux lock taken ${formatAge(facts.ageMs)} ago; its holder may still be writing it` };
  },
  guards: (s) => (s.path.endsWith('.lock') ? s.path.slice(0, -'.lock'.length) : undefined),
};
