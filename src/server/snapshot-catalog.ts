/**
 * The snapshots of each workspace folder's store, kept current from file-watcher events
 * under `.ledgerlock/snapshots/` and `.ledgerlock/blobs/`. Each refresh also checks the
 * referenced blobs in a bounded pass: a blob is re-hashed only when its file changed since
 * it was last checked (a missing one costs a stat), and at most a byte budget per pass, the
 * rest following in later passes. Observing never writes: checks record nothing in the recovery log.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { listSnapshots, openBlobStore, readSnapshot, snapshotPaths, STORE_DIR_NAME, type BlobHealth } from '../engine';
import type { SnapshotFolderState, SnapshotItem, SnapshotsState } from '../protocol';
import { KeyedDebouncer } from './concurrency';

const PASS_BUDGET_BYTES = 32 * 1024 * 1024;
const PASS_BUDGET_BLOBS = 2_000;
const NEXT_PASS_MS = 2_000;

interface BlobCheck {
  /** The blob file's identity when checked; a different one means it must be hashed again. */
  key: string;
  health: BlobHealth;
}

class FolderSnapshots {
  state: SnapshotFolderState;
  readonly checks = new Map<string, BlobCheck>();
  running: Promise<void> = Promise.resolve();
  nextPass: NodeJS.Timeout | undefined;

  constructor(
    readonly uri: string,
    readonly name: string,
    readonly root: string,
  ) {
    this.state = { uri, name, snapshots: [], problems: [], unreadable: [], unchecked: 0 };
  }
}

export class SnapshotCatalog {
  private readonly folders = new Map<string, FolderSnapshots>();
  private readonly debouncer = new KeyedDebouncer(300);

  constructor(
    private readonly changed: () => void,
    private readonly log: (line: string) => void,
  ) {}

  async setFolder(uri: string, name: string, root: string): Promise<void> {
    const old = this.folders.get(uri);
    if (old?.nextPass) clearTimeout(old.nextPass);
    const folder = new FolderSnapshots(uri, name, root);
    if (old) old.checks.forEach((c, h) => folder.checks.set(h, c));
    this.folders.set(uri, folder);
    await this.refresh(uri);
  }

  removeFolder(uri: string): void {
    const folder = this.folders.get(uri);
    if (folder?.nextPass) clearTimeout(folder.nextPass);
    if (this.folders.delete(uri)) this.changed();
  }

  rootOf(folderUri: string): string | undefined {
    return this.folders.get(folderUri)?.root;
  }

  /** A watcher event: a manifest, the `current` pointer or a blob of some folder's store changed. */
  fileChanged(absPath: string): void {
    for (const folder of this.folders.values()) {
      const rel = path.relative(path.join(folder.root, STORE_DIR_NAME), absPath).split(path.sep);
      if (rel[0] === '..' || path.isAbsolute(rel.join('/'))) continue;
      if (rel[0] === 'snapshots' || rel[0] === 'blobs' || rel.join('/') === 'blobs.json') {
        this.debouncer.schedule(folder.uri, () => this.refresh(folder.uri));
      }
    }
  }

  /** Re-lists one folder's snapshots and runs a bounded blob check; refreshes of a folder never overlap. */
  refresh(uri: string): Promise<void> {
    const folder = this.folders.get(uri);
    if (!folder) return Promise.resolve();
    folder.running = folder.running.then(() => this.scan(folder)).catch((err: unknown) => this.log(`snapshots of ${folder.name}: ${(err as Error).message}`));
    return folder.running;
  }

  /** What an explicit verify found: stored as checks of the blob files as they are now. */
  async recordChecks(uri: string, health: Map<string, BlobHealth>): Promise<void> {
    const folder = this.folders.get(uri);
    if (!folder) return;
    const blobs = await openBlobStore(snapshotPaths(folder.root), { telemetry: false });
    for (const [hash, h] of health) folder.checks.set(hash, { key: await fileKey(blobs.pathOf(hash)), health: h });
    await this.refresh(uri);
  }

  /** The manifests' blob hashes of a snapshot (or of all), from the last listing. */
  hashesOf(uri: string, snapshot?: string): string[] {
    const folder = this.folders.get(uri);
    if (!folder) return [];
    const items = folder.state.snapshots.filter((s) => snapshot === undefined || s.id === snapshot);
    return [...new Set(items.flatMap((s) => (s.files as InternalFile[]).map((f) => f.hash)))];
  }

  snapshot(): SnapshotsState {
    return { folders: [...this.folders.values()].map((f) => publicState(f.state)) };
  }

  dispose(): void {
    this.debouncer.dispose();
    for (const f of this.folders.values()) if (f.nextPass) clearTimeout(f.nextPass);
  }

  private async scan(folder: FolderSnapshots): Promise<void> {
    if (this.folders.get(folder.uri) !== folder) return;
    const started = Date.now();
    const paths = snapshotPaths(folder.root);
    const state: SnapshotFolderState = { uri: folder.uri, name: folder.name, snapshots: [], problems: [], unreadable: [], unchecked: 0 };
    try {
      const listed = await listSnapshots(paths);
      state.unreadable = listed.unreadable.map((u) => `${path.basename(u.path)}: ${u.message}`);
      for (const summary of listed.snapshots) {
        try {
          const manifest = await readSnapshot(paths, summary.id);
          state.snapshots.push({
            id: summary.id,
            ...(summary.label !== undefined ? { label: summary.label } : {}),
            createdAt: summary.createdAt,
            bytes: summary.bytes,
            current: summary.current,
            files: manifest.files.map((f) => ({ path: f.path, size: f.size, hash: f.sha256 })),
          });
        } catch (err) {
          state.unreadable.push(`${summary.id}.json: ${(err as Error).message}`);
        }
      }
      const checked = await this.checkBlobs(folder, state);
      if (checked > 0)
        this.log(
          `snapshots of ${folder.name}: ${state.snapshots.length} snapshot(s), ${checked} blob(s) hashed, ${state.unchecked} left for the next pass, ${state.problems.length} problem(s) in ${Date.now() - started} ms`,
        );
    } catch (err) {
      state.error = (err as Error).message;
    }
    if (this.folders.get(folder.uri) !== folder) return;
    folder.state = state;
    if (folder.nextPass) clearTimeout(folder.nextPass);
    folder.nextPass = state.unchecked > 0 ? setTimeout(() => void this.refresh(folder.uri), NEXT_PASS_MS) : undefined;
    this.changed();
  }

  /** Checks the referenced blobs within the pass budget; returns how many were hashed. */
  private async checkBlobs(folder: FolderSnapshots, state: SnapshotFolderState): Promise<number> {
    const users = new Map<string, { snapshot: string; path: string }[]>();
    for (const s of state.snapshots) {
      for (const f of s.files as InternalFile[]) {
        const list = users.get(f.hash) ?? [];
        list.push({ snapshot: s.id, path: f.path });
        users.set(f.hash, list);
      }
    }
    for (const hash of [...folder.checks.keys()]) if (!users.has(hash)) folder.checks.delete(hash);
    if (users.size === 0) return 0;
    const blobs = await openBlobStore(snapshotPaths(folder.root), { telemetry: false });
    let bytes = 0;
    let hashed = 0;
    for (const [hash, usedBy] of users) {
      const file = blobs.pathOf(hash);
      const key = await fileKey(file);
      let check = folder.checks.get(hash);
      if (!check || check.key !== key) {
        if (key === 'missing') check = { key, health: 'missing' };
        else if (hashed === 0 || (bytes < PASS_BUDGET_BYTES && hashed < PASS_BUDGET_BLOBS)) {
          check = { key, health: await blobs.check(hash) };
          bytes += Number(key.split(':')[1]);
          hashed++;
        } else {
          state.unchecked++;
          continue;
        }
        folder.checks.set(hash, check);
      }
      if (check.health !== 'ok') state.problems.push({ hash, path: file, problem: check.health, usedBy });
    }
    return hashed;
  }
}

/** Inside the server a file also carries its blob hash; the client never needs it. */
type InternalFile = SnapshotItem['files'][number] & { hash: string };

function publicState(state: SnapshotFolderState): SnapshotFolderState {
  return { ...state, snapshots: state.snapshots.map((s) => ({ ...s, files: s.files.map(({ path: p, size }) => ({ path: p, size })) })) };
}

async function fileKey(file: string): Promise<string> {
  try {
    const st = await fs.stat(file);
    return `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw err;
  }
}
