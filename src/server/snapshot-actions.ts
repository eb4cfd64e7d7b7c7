/**
 * What the Snapshots view asks of the engine: take, diff, restore and verify a folder's
 * snapshots, and read one file a snapshot holds. Taking and restoring change files, so they
 * are refused in an untrusted workspace here too (the client refuses first).
 */
import { createSnapshot, diffSnapshot, planSnapshot, readSnapshotFile, restoreSnapshot, verifySnapshots, type VerifyResult } from '../engine';
import type { ActionResult, SnapshotProblem } from '../protocol';
import { failure } from './actions';

const TOOL = 'Ledgerlock for VS Code';

const UNTRUSTED: ActionResult = {
  ok: false,
  code: 'E_UNTRUSTED',
  message: 'Ledgerlock does not change files in an untrusted workspace. Trust the workspace to create or restore snapshots.',
};

export async function takeSnapshot(trusted: boolean, root: string, label: string | undefined): Promise<ActionResult & { id?: string }> {
  if (!trusted) return UNTRUSTED;
  try {
    // A snapshot of nothing would only create a store and an empty manifest: refused, and said why.
    const plan = await planSnapshot(root);
    if (plan.files.length === 0 && plan.ledgers.length === 0) return { ok: false, code: 'E_NOT_FOUND', message: NOTHING_TO_SNAPSHOT };
    const name = label?.trim() ? label.trim() : undefined;
    const { manifest, blobsWritten } = await createSnapshot(root, { tool: TOOL, ...(name !== undefined ? { label: name } : {}) });
    return { ok: true, id: manifest.id, message: `Snapshot ${name ?? manifest.id} taken: ${manifest.files.length} file(s), ${blobsWritten} new blob(s).` };
  } catch (err) {
    return failure(err);
  }
}

/** Why a folder's snapshot would hold nothing: what a snapshot keeps, and that this folder has none of it. */
const NOTHING_TO_SNAPSHOT =
  'A snapshot keeps the state documents in .ledgerlock/state/*.json and where each ledger in .ledgerlock/ledgers/ stands; this folder has neither, so a snapshot would hold nothing. Nothing was created.';

/** What Create Snapshot would hold in `root` (nothing is created or changed). */
export async function snapshotPlan(root: string): Promise<{ storeExists: boolean; files: string[]; ledgers: string[]; error?: string }> {
  try {
    return await planSnapshot(root);
  } catch (err) {
    return { storeExists: false, files: [], ledgers: [], error: failure(err).message };
  }
}

export async function restoreFolderSnapshot(
  trusted: boolean,
  root: string,
  id: string,
): Promise<ActionResult & { written?: string[]; removed?: string[]; backup?: string | null }> {
  if (!trusted) return UNTRUSTED;
  try {
    const result = await restoreSnapshot(root, id, { backup: true, tool: TOOL });
    const changed = result.written.length + result.removed.length;
    const backup = result.backup ? ` The state before is kept as snapshot ${result.backup}.` : '';
    return {
      ok: true,
      message:
        changed === 0
          ? `The workspace already matches snapshot ${id}; nothing changed.`
          : `Restored snapshot ${id}: ${result.written.length} file(s) written, ${result.removed.length} removed.${backup}`,
      written: result.written,
      removed: result.removed,
      backup: result.backup,
    };
  } catch (err) {
    return failure(err);
  }
}

export async function snapshotChanges(
  root: string,
  id: string,
): Promise<{ files: { path: string; change: 'added' | 'removed' | 'modified' }[]; error?: string }> {
  try {
    const diff = await diffSnapshot(root, id);
    return { files: diff.files.map(({ path, change }) => ({ path, change })) };
  } catch (err) {
    return { files: [], error: (err as Error).message };
  }
}

export async function verifyFolderSnapshots(
  trusted: boolean,
  root: string,
  id: string | undefined,
): Promise<{ result: ActionResult & { problems: SnapshotProblem[] }; verify?: VerifyResult }> {
  try {
    // Read-only in restricted mode: a corrupt blob found there is reported but not recorded.
    const verify = await verifySnapshots(root, { ...(id !== undefined ? { snapshot: id } : {}), ...(trusted ? {} : { telemetry: false }) });
    const what = id ?? `${verify.snapshots.length} snapshot(s)`;
    const problems = verify.problems.map((p) => ({ hash: p.hash, path: p.path, problem: p.problem, usedBy: p.usedBy }));
    const lines = problems.map((p) => `blob ${p.hash.slice(0, 12)}… is ${p.problem} (${p.usedBy.map((u) => u.path).join(', ')})`);
    lines.push(...verify.unreadable.map((u) => `${u.path}: ${u.message}`));
    const message = verify.ok ? `${what}: ${verify.blobsChecked} blob(s) verified, all intact.` : `${what}: ${lines.join('; ')}.`;
    return { result: { ok: verify.ok, message, problems, ...(verify.ok ? {} : { code: problemCode(verify) }) }, verify };
  } catch (err) {
    return { result: { ...failure(err), problems: [] } };
  }
}

function problemCode(verify: VerifyResult): string {
  if (verify.problems.some((p) => p.problem === 'corrupt')) return 'E_BLOB_CORRUPT';
  if (verify.problems.length > 0) return 'E_BLOB_MISSING';
  return verify.unreadable[0]?.code ?? 'E_SCHEMA_MISMATCH';
}

/** A snapshot's copy of one file as text (state documents are JSON); undecodable bytes show as U+FFFD. */
export async function snapshotFileText(root: string, id: string, rel: string): Promise<{ content?: string; error?: string }> {
  try {
    return { content: (await readSnapshotFile(root, id, rel)).toString('utf8') };
  } catch (err) {
    return { error: (err as Error).message };
  }
}
