/**
 * The content-addressed blob store: `<root>/sha256/<2 hex>/<62 hex>`. A blob is written to a
 * temp file under `<root>/tmp` (same file system), fsynced, read back and hashed, then
 * published by rename and a directory fsync, so a published name always holds its content.
 * Identical content is stored once; every read re-hashes and names a corrupt blob by path.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { mkdirDurable, syncParentDir } from '../atomic';
import { ErrorCode, LedgerlockError, errnoCode } from '../errors';
import { exists, fsl, readDocument } from '../fs';
import { checkCount } from '../options';
import { emitTelemetry, type TelemetryTarget } from '../telemetry';

export const DEFAULT_MAX_BLOB_BYTES = 64 * 1024 * 1024;
const HASH = /^[0-9a-f]{64}$/;

export interface BlobStoreOptions {
  /** Largest blob accepted, in bytes (default 64 MiB); larger ones fail with E_BLOB_TOO_LARGE. */
  maxBlobBytes?: number;
  /** Where BLOB_CORRUPT is recorded; default: the store enclosing the blob root. */
  telemetry?: TelemetryTarget;
}

export interface StoredBlob {
  hash: string;
  size: number;
  path: string;
  /** false when identical content was already there (its mtime is refreshed for GC's grace period). */
  written: boolean;
}

export interface BlobFile {
  hash: string;
  path: string;
  size: number;
  mtimeMs: number;
}

export type BlobHealth = 'ok' | 'missing' | 'corrupt';

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function checkBlobHash(hash: string): string {
  if (!HASH.test(hash)) throw new LedgerlockError(ErrorCode.BadInput, `not a sha256 blob name: ${JSON.stringify(hash)}`, { hash });
  return hash;
}

export class BlobStore {
  readonly maxBlobBytes: number;
  private readonly telemetry: TelemetryTarget;

  constructor(
    readonly root: string,
    options: BlobStoreOptions = {},
  ) {
    this.maxBlobBytes = checkCount('maxBlobBytes', options.maxBlobBytes ?? DEFAULT_MAX_BLOB_BYTES);
    this.telemetry = options.telemetry;
  }

  pathOf(hash: string): string {
    checkBlobHash(hash);
    return path.join(this.root, 'sha256', hash.slice(0, 2), hash.slice(2));
  }

  get tmpDir(): string {
    return path.join(this.root, 'tmp');
  }

  async put(bytes: Uint8Array): Promise<StoredBlob> {
    if (bytes.byteLength > this.maxBlobBytes) {
      throw new LedgerlockError(ErrorCode.BlobTooLarge, `blob of ${bytes.byteLength} bytes exceeds the cap of ${this.maxBlobBytes} bytes`, {
        size: bytes.byteLength,
        maxBlobBytes: this.maxBlobBytes,
      });
    }
    const hash = sha256(bytes);
    const target = this.pathOf(hash);
    if ((await this.check(hash)) === 'ok') {
      // Refreshing mtime keeps a not-yet-referenced blob inside GC's grace period.
      const now = new Date();
      await fsl().utimes(target, now, now);
      return { hash, size: bytes.byteLength, path: target, written: false };
    }
    await this.publish(hash, bytes, target);
    return { hash, size: bytes.byteLength, path: target, written: true };
  }

  /** The blob's bytes, re-hashed: E_BLOB_MISSING or E_BLOB_CORRUPT name the path. */
  async read(hash: string): Promise<Buffer> {
    const file = this.pathOf(hash);
    let bytes: Buffer;
    try {
      bytes = await readDocument(file, this.maxBlobBytes);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') throw new LedgerlockError(ErrorCode.BlobMissing, `blob ${hash} is missing: ${file}`, { hash, path: file });
      throw err;
    }
    const actual = sha256(bytes);
    if (actual !== hash) {
      await emitTelemetry(this.telemetry, file, { type: 'BLOB_CORRUPT', data: { blob: hash, path: file, reason: `content hashes to ${actual}` } });
      throw new LedgerlockError(ErrorCode.BlobCorrupt, `blob ${hash} is corrupt (its content hashes to ${actual}): ${file}`, { hash, path: file, actual });
    }
    return bytes;
  }

  async check(hash: string): Promise<BlobHealth> {
    try {
      await this.read(hash);
      return 'ok';
    } catch (err) {
      if (err instanceof LedgerlockError && err.code === ErrorCode.BlobMissing) return 'missing';
      if (err instanceof LedgerlockError && err.code === ErrorCode.BlobCorrupt) return 'corrupt';
      throw err;
    }
  }

  async has(hash: string): Promise<boolean> {
    return exists(this.pathOf(hash));
  }

  /** Every file that looks like a blob (by name; content is not checked here). */
  async list(): Promise<BlobFile[]> {
    const out: BlobFile[] = [];
    const top = path.join(this.root, 'sha256');
    for (const shard of await readdirOrEmpty(top)) {
      if (!shard.isDirectory() || !/^[0-9a-f]{2}$/.test(shard.name)) continue;
      const dir = path.join(top, shard.name);
      for (const entry of await readdirOrEmpty(dir)) {
        const hash = shard.name + entry.name;
        if (!entry.isFile() || !HASH.test(hash)) continue;
        const file = path.join(dir, entry.name);
        try {
          const st = await fsl().stat(file);
          out.push({ hash, path: file, size: st.size, mtimeMs: st.mtimeMs });
        } catch (err) {
          if (errnoCode(err) !== 'ENOENT') throw err;
        }
      }
    }
    return out.sort((a, b) => (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0));
  }

  /** Temp files left by writers that died before publishing. */
  async listTemp(): Promise<BlobFile[]> {
    const out: BlobFile[] = [];
    for (const entry of await readdirOrEmpty(this.tmpDir)) {
      if (!entry.isFile() || !entry.name.endsWith('.tmp')) continue;
      const file = path.join(this.tmpDir, entry.name);
      try {
        const st = await fsl().stat(file);
        out.push({ hash: '', path: file, size: st.size, mtimeMs: st.mtimeMs });
      } catch (err) {
        if (errnoCode(err) !== 'ENOENT') throw err;
      }
    }
    return out;
  }

  async remove(hash: string): Promise<void> {
    try {
      await fsl().unlink(this.pathOf(hash));
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
    }
  }

  private async publish(hash: string, bytes: Uint8Array, target: string): Promise<void> {
    const fs = fsl();
    await mkdirDurable(path.dirname(target), this.telemetry);
    await mkdirDurable(this.tmpDir, this.telemetry);
    const tmp = path.join(this.tmpDir, `${hash}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    try {
      const file = await fs.open(tmp, 'wx', 0o644);
      try {
        await file.write(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), 0, bytes.byteLength, 0);
        await file.sync();
      } finally {
        await file.close();
      }
      // Read back what the disk now holds: a write that did not land must not be published.
      const actual = sha256(await readDocument(tmp, this.maxBlobBytes));
      if (actual !== hash) {
        throw new LedgerlockError(ErrorCode.BlobCorrupt, `blob ${hash} read back as ${actual} after writing ${tmp}`, { hash, path: tmp, actual });
      }
      await fs.rename(tmp, target);
    } catch (err) {
      await fs.unlink(tmp).catch(() => undefined);
      throw err;
    }
    await syncParentDir(target, this.telemetry);
  }
}

async function readdirOrEmpty(dir: string) {
  try {
    return await fsl().readdir(dir);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return [];
    throw err;
  }
}
