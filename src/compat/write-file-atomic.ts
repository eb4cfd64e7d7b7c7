/**
 * `ledgerlock/compat/write-file-atomic`: write-file-atomic's API — writeFile(file, data,
 * [options], [callback]), its promise form and `.sync` — with the same options (mode, chown,
 * encoding, fsync, tmpfileCreated) through Ledgerlock's atomic write, which also fsyncs the
 * directory so the rename itself survives a power loss. As in the original, a symlink is
 * written through to its target, a new file takes the old one's mode and owner, and
 * concurrent writes to one file from this process land in the order they were called.
 */
import * as path from 'node:path';
import { atomicWriteFile, DIR_FSYNC_UNSUPPORTED, tempPathFor } from '../engine/atomic';
import { errnoCode } from '../engine/errors';
import { fsl, type FileOwner } from '../engine/fs';
import { MutationSerializer } from '../engine/serializer';

interface Options {
  /** Mode of the new file; default the old file's; false: the system default (0o666 less the umask). */
  mode?: number | false;
  /** Owner of the new file; default the old file's; false: the writing process. */
  chown?: { uid: number; gid: number } | false;
  /** For string data (default 'utf8'); ignored for buffers. */
  encoding?: BufferEncoding | null;
  /** false skips the fsyncs (file and directory). Default true. */
  fsync?: boolean;
  /** Called with the temp file's path once it exists. */
  tmpfileCreated?: (tmpfile: string) => unknown;
}

type Callback = (err: Error | null) => void;
type Data = string | NodeJS.ArrayBufferView | null | undefined;

const writes = new MutationSerializer();

function normalize(options: Options | BufferEncoding | undefined | null): Options {
  if (typeof options === 'string') return { encoding: options };
  return { ...(options ?? {}) };
}

function bytesOf(data: Data, encoding: Options['encoding']): Buffer {
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (data === null || data === undefined) return Buffer.alloc(0);
  return Buffer.from(String(data), encoding ?? 'utf8');
}

/** The old file's mode and owner where the caller did not say (write-file-atomic's defaults). */
function inherited(options: Options, stat: { mode: number; uid: number; gid: number } | undefined): { mode: number; chown?: FileOwner } {
  const mode = typeof options.mode === 'number' ? options.mode : options.mode === undefined && stat !== undefined ? stat.mode & 0o7777 : 0o666 & ~process.umask();
  let owner: { uid: number; gid: number } | undefined;
  if (options.chown) owner = options.chown;
  else if (options.chown === undefined && stat !== undefined && typeof process.getuid === 'function') owner = { uid: stat.uid, gid: stat.gid };
  // Like the original, a process that may not change owners carries on with its own.
  return owner !== undefined ? { mode, chown: { ...owner, bestEffort: true } } : { mode };
}

async function truenameOf(filename: string): Promise<string> {
  try {
    return await fsl().realpath(filename);
  } catch {
    return path.resolve(filename);
  }
}

async function write(filename: string, data: Data, options: Options): Promise<void> {
  const absolute = path.resolve(filename);
  await writes.run(absolute, async () => {
    const truename = await truenameOf(filename);
    const stat = await fsl().stat(truename).catch(() => undefined);
    const { mode, chown } = inherited(options, stat);
    await atomicWriteFile(truename, bytesOf(data, options.encoding), {
      mode,
      fsync: options.fsync !== false,
      ...(chown !== undefined ? { chown } : {}),
      ...(options.tmpfileCreated !== undefined ? { onTempCreated: async (tmp: string) => void (await options.tmpfileCreated!(tmp)) } : {}),
    });
  });
}

function writeFileSync(filename: string, data: Data, options?: Options | BufferEncoding): void {
  const o = normalize(options);
  const fs = fsl();
  let truename: string;
  try {
    truename = fs.realpathSync(filename);
  } catch {
    truename = path.resolve(filename);
  }
  let stat;
  try {
    stat = fs.lstatSync(truename);
  } catch {
    stat = undefined;
  }
  const { mode, chown } = inherited(o, stat);
  const tmp = tempPathFor(truename);
  const wantFsync = o.fsync !== false;
  try {
    fs.writeNewFileSync(tmp, bytesOf(data, o.encoding), { mode, fsync: wantFsync, ...(chown !== undefined ? { chown } : {}) });
    o.tmpfileCreated?.(tmp);
    fs.renameSync(tmp, truename);
  } catch (err) {
    try { fs.unlinkSync(tmp); } catch { /* never created, or already renamed */ }
    throw err;
  }
  if (!wantFsync) return;
  try {
    fs.syncDirSync(path.dirname(truename));
  } catch (err) {
    // Where a directory cannot be fsynced the rename still happened, as in the async form.
    if (!DIR_FSYNC_UNSUPPORTED.has(errnoCode(err) ?? '')) throw err;
  }
}

function writeFileAtomic(filename: string, data: Data, options?: Options | BufferEncoding | Callback, callback?: Callback): Promise<void> | undefined {
  if (typeof options === 'function') {
    callback = options;
    options = undefined;
  }
  const done = write(filename, data, normalize(options)).catch((err: unknown) => {
    throw unwrap(err);
  });
  if (callback === undefined) return done;
  const cb = callback;
  done.then(() => cb(null), (err: Error) => cb(err));
  return undefined;
}

/** The original passes node's own errors (code ENOENT, EACCES, …); Ledgerlock's wrapper keeps them as the cause. */
function unwrap(err: unknown): unknown {
  const cause = (err as { cause?: unknown })?.cause;
  return cause instanceof Error && errnoCode(cause) !== undefined ? cause : err;
}

namespace writeFileAtomic {
  export const sync = writeFileSync;
  export type WriteOptions = Options;
}

export = writeFileAtomic;
