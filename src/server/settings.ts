/**
 * The `ledgerlock.*` settings of one workspace folder, read per resource so each folder of a
 * multi-root workspace can have its own globs and thresholds. Settings are input like any
 * file of the workspace: each is validated against the bounds the manifest declares
 * (SETTING_BOUNDS mirrors package.json; a test holds them equal), and a value out of bounds is
 * replaced by its default and reported, never used.
 */
import { z } from 'zod';

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

/** The manifest's bounds (`contributes.configuration` in package.json), one entry per setting. */
const SETTING_BOUNDS = {
  ledgerGlobs: { maxItems: 64, maxLength: 512 },
  lockGlobs: { maxItems: 64, maxLength: 512 },
  exclude: { maxItems: 256, maxLength: 512 },
  staleWindowSeconds: { minimum: 1, maximum: 86_400 },
  contentionThresholdSeconds: { minimum: 1, maximum: 86_400 },
} as const;

const globs = (b: { maxItems: number; maxLength: number }) => z.array(z.string().min(1).max(b.maxLength)).max(b.maxItems);
const seconds = (b: { minimum: number; maximum: number }) => z.number().finite().min(b.minimum).max(b.maximum);

const SettingsSchema = {
  ledgerGlobs: globs(SETTING_BOUNDS.ledgerGlobs),
  lockGlobs: globs(SETTING_BOUNDS.lockGlobs),
  exclude: globs(SETTING_BOUNDS.exclude),
  staleWindowSeconds: seconds(SETTING_BOUNDS.staleWindowSeconds),
  contentionThresholdSeconds: seconds(SETTING_BOUNDS.contentionThresholdSeconds),
};

export interface SettingsReading {
  settings: FolderSettings;
  /** One sentence per setting that was out of bounds and replaced by its default. */
  rejected: string[];
}

/** The settings from what `workspace/configuration` returned for the `ledgerlock` section (anything at all). */
function validateSettings(raw: unknown): SettingsReading {
  const source = raw !== null && typeof raw === 'object' ? (raw as Record<string, unknown>) : {};
  const rejected: string[] = [];
  const pick = <K extends keyof typeof SettingsSchema>(key: K, fallback: z.infer<(typeof SettingsSchema)[K]>): z.infer<(typeof SettingsSchema)[K]> => {
    const value = source[key];
    if (value === undefined || value === null) return fallback;
    const parsed = SettingsSchema[key].safeParse(value);
    if (parsed.success) return parsed.data as z.infer<(typeof SettingsSchema)[K]>;
    const issue = parsed.error.issues[0];
    rejected.push(`ledgerlock.${key} ${JSON.stringify(value)?.slice(0, 80)} is out of bounds (${issue?.message ?? 'invalid'}); using the default`);
    return fallback;
  };
  return {
    settings: {
      ledgerGlobs: pick('ledgerGlobs', DEFAULT_SETTINGS.ledgerGlobs),
      lockGlobs: pick('lockGlobs', DEFAULT_SETTINGS.lockGlobs),
      exclude: pick('exclude', DEFAULT_SETTINGS.exclude),
      staleMs: Math.round(pick('staleWindowSeconds', DEFAULT_SETTINGS.staleMs / 1000) * 1000),
      contentionMs: Math.round(pick('contentionThresholdSeconds', DEFAULT_SETTINGS.contentionMs / 1000) * 1000),
    },
    rejected,
  };
}

/** The part of the LSP connection settings are read through. */
export interface ConfigurationSource {
  workspace: { getConfiguration(item: { scopeUri: string; section: string }): Promise<unknown> };
}

export async function readFolderSettings(connection: ConfigurationSource, folderUri: string): Promise<SettingsReading> {
  let raw: unknown = null;
  try {
    raw = await connection.workspace.getConfiguration({ scopeUri: folderUri, section: 'ledgerlock' });
  } catch {
    // A client without workspace/configuration gets the defaults.
  }
  return validateSettings(raw);
}
