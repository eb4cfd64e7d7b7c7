/**
 * Bytes cut from a ledger are copied here, and made durable, before the ledger changes:
 * a native store's `quarantine/`, else the quarantine of the store enclosing a foreign
 * ledger, else a `<ledger>.quarantine/` directory beside it. Nothing here is deleted silently.
 */
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { mkdirDurableSync, syncParentDirSync } from '../atomic';
import { fsl, type OpenFile } from '../fs';
import { findStoreDir, storePathsOf } from '../store';

export async function quarantineDirFor(ledgerPath: string): Promise<string> {
  const native = storePathsOf(ledgerPath);
  if (native) return native.quarantine;
  const store = await findStoreDir(path.dirname(ledgerPath));
  return store ? path.join(store, 'quarantine') : `${ledgerPath}.quarantine`;
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
  mkdirDurableSync(dir, false); // a new `<ledger>.quarantine/` must survive the truncation it backs
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
