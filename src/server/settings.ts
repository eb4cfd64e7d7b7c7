/**
 * The `ledgerlock.*` settings of one workspace folder, read per resource so each folder of a
 * multi-root workspace can have its own globs and thresholds.
 */
import type { Connection } from 'vscode-languageserver/node';

export interface FolderSettings {
  ledgerGlobs: string[];
  lockGlobs: string[];
  exclude: string[];
  staleMs: number;
  contentionMs: number;
}

export const DEFAULT_SETTINGS: FolderSettings = {
  ledgerGlobs: ['**/*.jsonl', '**/*.ndjson'],
  lockGlobs: ['**/*.lock', '**/*.lck', '**/LOCK'],
  exclude: ['**/node_modules/**'],
  staleMs: 30_000,
  contentionMs: 10_000,
};

interface RawSettings {
  ledgerGlobs?: unknown;
  lockGlobs?: unknown;
  exclude?: unknown;
  staleWindowSeconds?: unknown;
  contentionThresholdSeconds?: unknown;
}

export async function readFolderSettings(connection: Connection, folderUri: string): Promise<FolderSettings> {
  let raw: RawSettings | null = null;
  try {
    raw = (await connection.workspace.getConfiguration({ scopeUri: folderUri, section: 'ledgerlock' })) as RawSettings | null;
  } catch {
    // A client without workspace/configuration gets the defaults.
  }
  return {
    ledgerGlobs: strings(raw?.ledgerGlobs, DEFAULT_SETTINGS.ledgerGlobs),
    lockGlobs: strings(raw?.lockGlobs, DEFAULT_SETTINGS.lockGlobs),
    exclude: strings(raw?.exclude, DEFAULT_SETTINGS.exclude),
    staleMs: seconds(raw?.staleWindowSeconds, DEFAULT_SETTINGS.staleMs),
    contentionMs: seconds(raw?.contentionThresholdSeconds, DEFAULT_SETTINGS.contentionMs),
  };
}

function strings(value: unknown, fallback: string[]): string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string') ? value : fallback;
}

function seconds(value: unknown, fallbackMs: number): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? Math.round(value * 1000) : fallbackMs;
}
