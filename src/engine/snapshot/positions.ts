/**
 * Where each of the store's ledgers stands: last id and that record's checksum. A snapshot
 * records these so a diff can tell "events were appended since" from "history was rewritten".
 */
import * as path from 'node:path';
import { errnoCode } from '../errors';
import { fsl } from '../fs';
import { openLedger } from '../ledger';
import type { LedgerPosition } from './manifest';
import type { SnapshotPaths } from './layout';
import { toRel } from './select';

export async function ledgerPositions(paths: SnapshotPaths): Promise<LedgerPosition[]> {
  const out: LedgerPosition[] = [];
  for (const file of await storeLedgerFiles(paths)) out.push(await ledgerPosition(paths.store.root, file));
  return out;
}

/**
 * The ledgers a snapshot records a position for: the store's `ledgers/*.jsonl` (no hidden
 * names, no folders), as absolute paths in the order of their ledger names. planSnapshot
 * lists the same ones.
 */
export async function storeLedgerFiles(paths: SnapshotPaths): Promise<string[]> {
  let entries;
  try {
    entries = await fsl().readdir(paths.store.ledgers);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return [];
    throw err;
  }
  return entries
    .filter((e) => e.isFile() && e.name.endsWith('.jsonl') && !e.name.startsWith('.'))
    .map((e) => e.name.slice(0, -'.jsonl'.length))
    .sort()
    .map((name) => path.join(paths.store.ledgers, `${name}.jsonl`));
}

async function ledgerPosition(workspaceRoot: string, file: string): Promise<LedgerPosition> {
  const name = path.basename(file, '.jsonl');
  const ledger = await openLedger(file, { create: false, telemetry: false });
  try {
    const stats = await ledger.stats();
    let last;
    try {
      [last] = await ledger.tail(1);
    } catch {
      last = undefined; // a damaged tail: the position is still worth recording without its checksum
    }
    return {
      name,
      path: toRel(workspaceRoot, file),
      lastId: last?.id ?? stats.lastId ?? null,
      crc: last?.crc ?? null,
      bytes: stats.bytes,
    };
  } finally {
    await ledger.close();
  }
}
