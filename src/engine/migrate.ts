/**
 * Store format migrations, one version at a time. Each step is idempotent; after it, the new
 * version is written to store.json atomically, so that file is the durable progress record and
 * a re-run after a crash continues from the step that was interrupted. A journal
 * (`migration.json`) says a migration was under way, so the re-run can say it resumed. A store
 * newer than this code is refused and never rewritten.
 */
import * as path from 'node:path';
import { z } from 'zod';
import { atomicWriteFile, mkdirDurable, syncParentDir } from './atomic';
import { ErrorCode, LedgerlockError, errnoCode } from './errors';
import { fsl, readDocument } from './fs';
import { withLock } from './lock/acquire';
import { MIN_STORE_VERSION, readStoreManifest, STORE_VERSION, storePaths, type StoreManifest, type StorePaths } from './store';
import { emitTelemetry } from './telemetry';
import { decodeUtf8, parseJson, parseWithSchema } from './text';

export interface MigrationStep {
  from: number;
  summary: string;
  /** Must be safe to run again after a crash part-way through. */
  run(paths: StorePaths): Promise<void>;
}

export const MIGRATIONS: readonly MigrationStep[] = [
  {
    from: 1,
    summary: 'add the blob store and the snapshots directory',
    async run(paths) {
      for (const dir of [path.join(paths.dir, 'blobs', 'sha256'), path.join(paths.dir, 'blobs', 'tmp'), path.join(paths.dir, 'snapshots')]) {
        await mkdirDurable(dir, false);
      }
    },
  },
];

const JournalSchema = z.object({
  format: z.literal('ledgerlock-migration'),
  from: z.number().int(),
  to: z.number().int(),
  /** The version the step under way starts from. */
  step: z.number().int(),
  startedAt: z.string(),
  pid: z.number().int(),
});
type Journal = z.infer<typeof JournalSchema>;

export interface MigrateOptions {
  lockTimeoutMs?: number;
  /** Only report what would run. */
  dryRun?: boolean;
  tool?: string;
  /** Steps done so far of those to run. */
  onProgress?: (done: number, total: number) => void;
}

export interface MigrateResult {
  store: string;
  from: number;
  to: number;
  /** Steps run by this call (or that would run, with dryRun). */
  steps: { from: number; to: number; summary: string }[];
  /** A crashed migration was found and continued. */
  resumed: boolean;
}

function migrationJournalPath(paths: StorePaths): string {
  return path.join(paths.dir, 'migration.json');
}

/** Brings the store of `workspaceRoot` to STORE_VERSION under the store lock. */
export async function migrateStore(workspaceRoot: string, options: MigrateOptions = {}): Promise<MigrateResult> {
  const paths = storePaths(path.resolve(workspaceRoot));
  const before = await requireStore(paths);
  const pending = await readJournal(paths);
  if (before.version === STORE_VERSION && pending === undefined)
    return { store: paths.dir, from: before.version, to: before.version, steps: [], resumed: false };
  checkMigratable(paths, before);
  if (options.dryRun) {
    return { store: paths.dir, from: before.version, to: STORE_VERSION, steps: stepsFrom(before.version).map(describe), resumed: pending !== undefined };
  }
  const lock = path.join(paths.locks, 'store.lock');
  return withLock(
    lock,
    async () => {
      const manifest = await requireStore(paths); // another process may have migrated while we waited
      checkMigratable(paths, manifest);
      const journal = await readJournal(paths);
      const start = manifest.version;
      const steps = [];
      let current: StoreManifest = manifest;
      const todo = stepsFrom(start);
      for (const step of todo) {
        options.onProgress?.(steps.length, todo.length);
        await writeJournal(paths, {
          format: 'ledgerlock-migration',
          from: journal?.from ?? start,
          to: STORE_VERSION,
          step: step.from,
          startedAt: journal?.startedAt ?? new Date().toISOString(),
          pid: process.pid,
        });
        await step.run(paths);
        current = { ...current, version: step.from + 1, migratedAt: new Date().toISOString() };
        await atomicWriteFile(paths.manifest, JSON.stringify(current, null, 2) + '\n', { telemetry: false });
        steps.push(describe(step));
      }
      await removeJournal(paths);
      const result = { store: paths.dir, from: journal?.from ?? start, to: STORE_VERSION, steps, resumed: journal !== undefined };
      if (steps.length > 0 || journal !== undefined) {
        await emitTelemetry(paths.dir, paths.dir, {
          type: 'STORE_MIGRATED',
          data: { store: paths.dir, from: result.from, to: result.to, resumed: result.resumed },
        });
      }
      return result;
    },
    { timeoutMs: options.lockTimeoutMs ?? 10_000, tool: options.tool ?? 'ledgerlock migrate' },
  );
}

function stepsFrom(version: number): MigrationStep[] {
  const steps: MigrationStep[] = [];
  for (let v = version; v < STORE_VERSION; v++) {
    const step = MIGRATIONS.find((m) => m.from === v);
    if (step === undefined) throw new LedgerlockError(ErrorCode.StoreTooOld, `no migration from store format ${v}`, { version: v });
    steps.push(step);
  }
  return steps;
}

function describe(step: MigrationStep) {
  return { from: step.from, to: step.from + 1, summary: step.summary };
}

async function requireStore(paths: StorePaths): Promise<StoreManifest> {
  const manifest = await readStoreManifest(paths); // refuses a newer store before anything is written
  if (manifest === undefined) throw new LedgerlockError(ErrorCode.NotFound, `no Ledgerlock store at ${paths.dir}`, { path: paths.dir });
  return manifest;
}

function checkMigratable(paths: StorePaths, manifest: StoreManifest): void {
  if (manifest.version < MIN_STORE_VERSION) {
    throw new LedgerlockError(
      ErrorCode.StoreTooOld,
      `${paths.manifest} is store format ${manifest.version}; this Ledgerlock migrates formats ${MIN_STORE_VERSION} and later`,
      { path: paths.manifest, version: manifest.version, minimum: MIN_STORE_VERSION },
    );
  }
}

async function readJournal(paths: StorePaths): Promise<Journal | undefined> {
  const file = migrationJournalPath(paths);
  let bytes: Buffer;
  try {
    bytes = await readDocument(file);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw err;
  }
  const where = { path: file };
  return parseWithSchema(JournalSchema, parseJson(decodeUtf8(bytes, where), where), where);
}

async function writeJournal(paths: StorePaths, journal: Journal): Promise<void> {
  await atomicWriteFile(migrationJournalPath(paths), JSON.stringify(journal, null, 2) + '\n', { telemetry: false });
}

async function removeJournal(paths: StorePaths): Promise<void> {
  try {
    await fsl().unlink(migrationJournalPath(paths));
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
    return;
  }
  await syncParentDir(migrationJournalPath(paths), false);
}
