/**
 * A snapshot manifest, `.ledgerlock/snapshots/<id>.json`: which files were captured (path
 * relative to the workspace, sha256 of the blob holding their bytes, size, mode) and where
 * each ledger stood (last id and that record's checksum). Parsing never throws anything but a
 * LedgerlockError, so a damaged manifest is reported, not crashed on.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { decodeUtf8, parseJson, parseWithSchema } from '../text';

export const SNAPSHOT_FORMAT = 'ledgerlock-snapshot';
export const SNAPSHOT_MANIFEST_VERSION = 1;

const SNAPSHOT_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

/** A workspace-relative path in `/` form that cannot climb out: no `..`, `.`, empty or absolute parts. */
function isSafeRelativePath(p: string): boolean {
  if (p.length === 0 || p.length > 4096 || p.includes('\\') || p.includes('\0') || p.startsWith('/') || /^[A-Za-z]:/.test(p)) return false;
  return p.split('/').every((part) => part !== '' && part !== '.' && part !== '..');
}

export function isSnapshotId(id: string): boolean {
  return SNAPSHOT_ID.test(id);
}

const relativePath = z.string().refine(isSafeRelativePath, 'must be a workspace-relative path without ".." or empty parts');

const SnapshotFileSchema = z.object({
  path: relativePath,
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  size: z.number().int().nonnegative(),
  mode: z.number().int().min(0).max(0o7777),
});
export type SnapshotFile = z.infer<typeof SnapshotFileSchema>;

const LedgerPositionSchema = z.object({
  name: z.string().min(1),
  path: relativePath,
  /** null: the ledger was empty. */
  lastId: z.number().int().nonnegative().nullable(),
  /** Checksum of the record with `lastId`, so a rewritten history is told apart from an appended one. */
  crc: z.string().nullable(),
  bytes: z.number().int().nonnegative(),
});
export type LedgerPosition = z.infer<typeof LedgerPositionSchema>;

export const SnapshotManifestSchema = z.object({
  format: z.literal(SNAPSHOT_FORMAT),
  version: z.literal(SNAPSHOT_MANIFEST_VERSION),
  id: z.string().refine(isSnapshotId, 'must be letters, digits, "_" or "-"'),
  createdAt: z.string().datetime(),
  label: z.string().max(200).optional(),
  /** The globs (workspace-relative) that chose the files. */
  include: z.array(z.string()),
  files: z.array(SnapshotFileSchema).refine((files) => new Set(files.map((f) => f.path)).size === files.length, 'paths must be unique'),
  ledgers: z.array(LedgerPositionSchema),
});
export type SnapshotManifest = z.infer<typeof SnapshotManifestSchema>;

export function parseManifest(bytes: Uint8Array, where: Record<string, unknown> = { what: 'snapshot manifest' }): SnapshotManifest {
  return parseWithSchema(SnapshotManifestSchema, parseJson(decodeUtf8(bytes, where), where), where);
}

export function serializeManifest(manifest: SnapshotManifest): string {
  return JSON.stringify(SnapshotManifestSchema.parse(manifest), null, 2) + '\n';
}

/** Sortable by creation time, unique across processes: `20260101T120000123Z-a1b2c3`. */
export function newSnapshotId(now = new Date()): string {
  return `${now.toISOString().replace(/[-:.]/g, '')}-${randomBytes(3).toString('hex')}`;
}
