/**
 * Bytes cut from a ledger (and a reaped lock's bytes) are kept here, made durable before the
 * file changes: a native store's `quarantine/`; for a foreign file, the quarantine its caller
 * names (the editor names its workspace's `.ledgerlock/quarantine/`), else that of the store
 * enclosing it, else a `<ledger>.quarantine/` directory beside it. Nothing here is deleted
 * silently. Why one place per workspace: docs/ARCHITECTURE.md, "Quarantine".
 */
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { mkdirDurableSync, syncParentDirSync } from '../atomic';
import { errnoCode } from '../errors';
import { fsl, type OpenFile } from '../fs';
import { STORE_DIR_NAME, findStoreDir, storePathsOf } from '../store';

/**
 * Where bytes removed from `p` are kept: its native store's quarantine/, else the caller's
 * `chosen` one, else the enclosing store's; undefined when none of these is known.
 */
export async function knownQuarantineDir(p: string, chosen?: string): Promise<string | undefined> {
  const native = storePathsOf(p);
  if (native) return native.quarantine;
  if (chosen !== undefined) return path.resolve(chosen);
  const store = await findStoreDir(path.dirname(p));
  return store ? path.join(store, 'quarantine') : undefined;
}

/** `chosen`: the caller's quarantine for files outside a native store (see the header); with none known, beside the ledger. */
export async function quarantineDirFor(ledgerPath: string, chosen?: string): Promise<string> {
  return (await knownQuarantineDir(ledgerPath, chosen)) ?? `${ledgerPath}.quarantine`;
}

/** Ignores everything in the folder it is written to, itself included. */
const IGNORE_ALL = '# Written by Ledgerlock: what is kept here is not work to commit.\n*\n';

/**
 * Creates the quarantine folder `dir` (durably) if missing. A `.ledgerlock/quarantine/` gets a
 * `.gitignore` of `*`, and so does a `.ledgerlock/` created only to hold it (a workspace
 * without a store: its recovery log lands there too), so kept bytes never show in `git status`.
 */
function prepareQuarantineDirSync(dir: string): void {
  const parent = path.dirname(dir);
  const inStore = path.basename(dir) === 'quarantine' && path.basename(parent) === STORE_DIR_NAME;
  if (inStore && !existsSync(parent)) {
    mkdirDurableSync(parent, false);
    writeIgnoreSync(parent);
  }
  mkdirDurableSync(dir, false); // a new `<ledger>.quarantine/` must survive the truncation it backs
  if (inStore) writeIgnoreSync(dir);
}

function writeIgnoreSync(dir: string): void {
  const file = path.join(dir, '.gitignore');
  try {
    fsl().writeNewFileSync(file, Buffer.from(IGNORE_ALL), { mode: 0o644, fsync: false });
  } catch (err) {
    if (errnoCode(err) !== 'EEXIST') throw err; // one a person wrote or changed is left as it is
  }
}

function existsSync(p: string): boolean {
  try {
    fsl().lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

/**
 * Moves `trash` (a reaped lock, file or directory) into the quarantine folder `dir` under a
 * name that says which lock it was and when; returns where it went. Throws when it cannot
 * (another file system: the caller keeps it where it is).
 */
export async function keepInQuarantine(dir: string, trash: string, lockPath: string): Promise<string> {
  prepareQuarantineDirSync(dir);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const kept = path.join(dir, `${path.basename(lockPath)}.${stamp}.${randomBytes(4).toString('hex')}.reaped`);
  await fsl().rename(trash, kept);
  await fsl()
    .syncDir(dir)
    .catch(() => undefined);
  return kept;
}

/**
 * Copies [start, end) of `source` into a new file in the quarantine folder `dir`, named after
 * the ledger, offset, time and why; synchronously: the copy (one record or a torn tail) and
 * its fsyncs are what the truncation after it waits for anyway, and an append (sync or not)
 * that meets a torn tail cuts it this way under the lock.
 */
export function quarantineBytesSync(
  dir: string,
  ledgerPath: string,
  source: OpenFile,
  start: number,
  end: number,
  why: 'torn-tail' | 'record' | 'torn-record' | 'zero-filled',
): string {
  const fs = fsl();
  prepareQuarantineDirSync(dir);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const target = path.join(dir, `${path.basename(ledgerPath)}@${start}.${stamp}.${why}.${randomBytes(3).toString('hex')}.bin`);
  // Written beside its final name and renamed once complete and durable, so a failure (a full
  // disk) leaves no empty or partial quarantine file behind.
  const partial = path.join(dir, `.${path.basename(target)}.partial`);
  try {
    const out = fs.openSync(partial, 'wx', 0o600);
    try {
      const buf = Buffer.allocUnsafe(Math.min(1 << 20, Math.max(1, end - start)));
      for (let pos = start; pos < end;) {
        const got = source.readSync(buf, 0, Math.min(buf.length, end - pos), pos);
        if (got <= 0) throw Object.assign(new Error(`${source.path} ended at ${pos} while quarantining up to ${end}`), { code: 'EIO' });
        out.writeSync(buf, 0, got, pos - start);
        pos += got;
      }
      out.syncSync();
    } finally {
      out.closeSync();
    }
    fs.renameSync(partial, target);
  } catch (err) {
    try {
      fs.unlinkSync(partial);
    } catch {
      // never created, or gone
    }
    throw err;
  }
  syncParentDirSync(target, false);
  return target;
}
