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
    if (!entry.dirent.isFile()) continue;
    const rel = entry.relPath.split('\\').join('/');
    if (exclude(rel)) continue;
    if (include(rel) || isStoreLedger(rel)) found.push(entry.path);
  }
  return found.sort();
}

function isStoreLedger(rel: string): boolean {
  const parts = rel.split('/');
  const at = parts.lastIndexOf(STORE_DIR_NAME);
  if (at < 0) return false;
  const inside = parts.slice(at + 1);
  return (inside.length === 1 && inside[0] === 'telemetry.jsonl') || (inside.length === 2 && inside[0] === 'ledgers' && inside[1]!.endsWith('.jsonl'));
}
