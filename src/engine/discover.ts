/**
 * Finding the ledgers in a workspace: the store's own (`.ledgerlock/ledgers/*.jsonl`, the
 * telemetry log) and foreign JSONL/NDJSON files other tools write. Used by the CLI's
 * `status` and by the language server, so both see the same set.
 */
import picomatch from 'picomatch';
import { STORE_DIR_NAME } from './store';
import { walk, type WalkOptions } from './walk';

export const DEFAULT_LEDGER_GLOBS = ['**/*.jsonl', '**/*.ndjson'];

export interface DiscoverOptions extends WalkOptions {
  include?: string[];
  exclude?: string[];
}

export async function discoverLedgers(root: string, options: DiscoverOptions = {}): Promise<string[]> {
  const include = picomatch(options.include ?? DEFAULT_LEDGER_GLOBS, { dot: true });
  const exclude = options.exclude && options.exclude.length > 0 ? picomatch(options.exclude, { dot: true }) : () => false;
  const found: string[] = [];
  for await (const entry of walk(root, options)) {
    // Symlinks are listed too (never followed here): one that leaves the workspace is shown as such when opened.
    if (!entry.dirent.isFile() && !entry.dirent.isSymbolicLink()) continue;
    const rel = entry.relPath.split('\\').join('/');
    if (exclude(rel)) continue;
    const role = storeRole(rel.split('/'));
    if (role === 'private') continue;
    if (role !== undefined || include(rel)) found.push(entry.path);
  }
  return found.sort();
}

/** Store directories whose files are the store's own business (quarantined bytes, temp files, documents), never ledgers. */
const STORE_PRIVATE_DIRS = new Set(['quarantine', 'tmp', 'state']);

/**
 * What a path (split into its segments, relative or absolute) is inside a native store:
 * a ledger (`ledgers/*.jsonl`), the recovery log (`telemetry.jsonl`), a private file, or
 * undefined when it is outside a store or none of these.
 */
export function storeRole(parts: string[]): 'ledger' | 'recoveries' | 'private' | undefined {
  const at = parts.lastIndexOf(STORE_DIR_NAME);
  if (at < 0) return undefined;
  const inside = parts.slice(at + 1);
  if (inside.length === 1 && inside[0] === 'telemetry.jsonl') return 'recoveries';
  if (inside.length === 2 && inside[0] === 'ledgers' && inside[1]!.endsWith('.jsonl')) return 'ledger';
  if (inside.length > 1 && STORE_PRIVATE_DIRS.has(inside[0]!)) return 'private';
  return undefined;
}
