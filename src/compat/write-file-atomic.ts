/**
 * `ledgerlock/compat/write-file-atomic`: write-file-atomic's API — writeFile(file, data,
 * [options], [callback]), its promise form and `.sync` — with the same options (mode, chown,
 * encoding, fsync, tmpfileCreated) through Ledgerlock's atomic write, which also fsyncs the
 * directory so the rename itself survives a power loss. As in the original, a symlink is
 * written through to its target, a new file takes the old one's mode and owner, concurrent
 * writes to one file from this process land in the order they were called, and a temp file is
 * removed if the process exits or a signal ends it mid-write. Where it differs: README.md,
 * "Drop-in adapters".
 */
import * as path from 'node:path';
import { atomicWriteFile, DIR_FSYNC_UNSUPPORTED, tempPathFor } from '../engine/atomic';
import { ErrorCode, LedgerlockError, errnoCode } from '../engine/errors';
import { fsl, type FileOwner } from '../engine/fs';
import { MutationSerializer } from '../engine/serializer';
import { onExitCleanup } from './exit-hook';

interface Options {
  /** Mode of the new file (a string is octal, as node's fs reads it); default the old file's; false: the system default (0o666 less the umask). */
  mode?: number | string | false;
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

/** A mode as node's fs takes it: a number, or a string of octal digits ('0777'). */
function modeOf(mode: Options['mode']): number | false | undefined {
  if (typeof mode !== 'string') return mode === null ? undefined : mode;
  if (!/^[0-7]+$/.test(mode)) throw new LedgerlockError(ErrorCode.BadOption, `mode ${JSON.stringify(mode)} is not an octal string such as '0644'`, { option: 'mode', value: mode });
  return parseInt(mode, 8);
}

/** The old file's mode and owner where the caller did not say (write-file-atomic's defaults). */
function inherited(options: Options, stat: { mode: number; uid: number; gid: number } | undefined): { mode: number; chown?: FileOwner } {
  const asked = modeOf(options.mode);
  const mode = typeof asked === 'number' ? asked & 0o7777 : asked === undefined && stat !== undefined ? stat.mode & 0o7777 : 0o666 & ~process.umask();
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
    let forget = () => undefined as void;
    // What tmpfileCreated throws (or rejects with) is the caller's own error: it comes back as it was thrown.
    let thrown: { error: unknown } | undefined;
    try {
      await atomicWriteFile(truename, bytesOf(data, options.encoding), {
        mode,
        fsync: options.fsync !== false,
        ...(chown !== undefined ? { chown } : {}),
        // Called at once when the temp file exists, before any await: a signal cannot come between.
        onTempCreated: async (tmp: string) => {
          forget = onExitCleanup(() => removeQuietly(tmp));
          if (options.tmpfileCreated === undefined) return;
          try {
            await options.tmpfileCreated(tmp);
          } catch (error) {
            thrown = { error };
            throw error;
          }
        },
      });
    } catch (err) {
      throw thrown !== undefined ? thrown.error : unwrap(err);
    } finally {
      forget();
    }
  });
}

function removeQuietly(file: string): void {
  try {
    fsl().unlinkSync(file);
  } catch { /* renamed into place, or never written */ }
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
  // No signal listener runs during a synchronous call; process.exit() from tmpfileCreated still removes the temp file.
  const forget = onExitCleanup(() => removeQuietly(tmp), { signals: false });
  try {
    fs.writeNewFileSync(tmp, bytesOf(data, o.encoding), { mode, fsync: wantFsync, ...(chown !== undefined ? { chown } : {}) });
    o.tmpfileCreated?.(tmp);
    fs.renameSync(tmp, truename);
  } catch (err) {
    removeQuietly(tmp);
    throw err;
  } finally {
    forget();
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
  const done = write(filename, data, normalize(options));
  if (callback === undefined) return done;
  const cb = callback;
  // The original calls back with undefined on success, not null.
  done.then(() => cb(undefined as unknown as null), (err: Error) => cb(err));
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
