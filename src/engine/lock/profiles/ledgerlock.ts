/** Ledgerlock's own lock files: zod-validated JSON with pid, host, start time and boot id. */
import * as path from 'node:path';
import { STORE_DIR_NAME } from '../../store';
import { existsQuietly } from './util';
import type { LockProfile } from './types';

export const ledgerlockProfile: LockProfile = {
  id: 'ledgerlock',
  tool: 'Ledgerlock',
  recognise: (s) => s.parsed.kind === 'ledgerlock',
  // Its stale rules are the generic ones (docs/ARCHITECTURE.md, "How a lock is judged"); the
  // pid, start-time and boot-id checks run before any profile.
  guards(s) {
    const locksDir = path.dirname(s.path);
    const storeDir = path.dirname(locksDir);
    if (path.basename(locksDir) !== 'locks' || path.basename(storeDir) !== STORE_DIR_NAME) {
      // Outside a store a ledger's or document's lock sits beside it as `<file>.lock`.
      const beside = s.path.slice(0, -'.lock'.length);
      return s.path.endsWith('.lock') && existsQuietly(beside) ? beside : undefined;
    }
    const name = path.basename(s.path, '.lock');
    if (name === 'store') return storeDir;
    if (name.includes('--')) return path.join(storeDir, ...name.split('--')); // state documents (json-file.ts)
    const ledger = path.join(storeDir, 'ledgers', `${name}.jsonl`);
    return existsQuietly(ledger) ? ledger : undefined;
  },
};
