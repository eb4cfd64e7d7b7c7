/**
 * JSON documents shared between processes: read with a schema, and update as lock → reload
 * under the lock → apply → atomic write, so two processes adding entries to one registry never
 * lose each other's.
 */
import * as path from 'node:path';
import type { ZodType } from 'zod';
import { atomicWriteFile } from './atomic';
import { ErrorCode, LedgerlockError, errnoCode } from './errors';
import { fsl, readDocument } from './fs';
import { withLock, type AcquireOptions } from './lock';
import { storePathsOf } from './store';
import { decodeUtf8, parseJson, parseWithSchema } from './text';

export interface UpdateJsonOptions extends AcquireOptions {
  /** Default: `<path>.lock`, or `<store>/locks/<relative path>.lock` for a file inside a store. */
  lockPath?: string;
  /** File mode for a new document (an existing one keeps its mode). */
  mode?: number;
}

/** E_NOT_FOUND, E_INVALID_UTF8, E_BAD_JSON or E_SCHEMA, each naming the path. */
export async function readJsonFile<T>(filePath: string, schema: ZodType<T>): Promise<T> {
  const value = await readIfPresent(filePath, schema);
  if (value === undefined) throw new LedgerlockError(ErrorCode.NotFound, `${filePath} does not exist`, { path: filePath });
  return value.document;
}

/**
 * Applies `fn` to the current document (undefined when there is none yet) under the file's lock
 * and writes the result atomically. A document that does not parse is never overwritten: the
 * error surfaces instead.
 */
export async function updateJsonFile<T>(
  filePath: string,
  schema: ZodType<T>,
  fn: (current: T | undefined) => T | Promise<T>,
  opts: UpdateJsonOptions = {},
): Promise<T> {
  const { lockPath, mode, ...lockOptions } = opts;
  const target = path.resolve(filePath);
  return withLock(lockPath ?? jsonLockPathFor(target), async () => {
    const current = (await readIfPresent(target, schema))?.document;
    const next = parseWithSchema(schema, await fn(current), { path: target, what: `new content of ${target}` });
    const store = storePathsOf(target);
    if (store !== undefined) await fsl().mkdir(store.tmp);
    await atomicWriteFile(target, JSON.stringify(next, null, 2) + '\n', {
      ...(mode !== undefined ? { mode } : {}),
      ...(store !== undefined ? { tmpDir: store.tmp } : {}),
      ...(opts.telemetry !== undefined ? { telemetry: opts.telemetry } : {}),
    });
    return next;
  }, lockOptions);
}

/** Where updateJsonFile locks `filePath` unless told otherwise. */
export function jsonLockPathFor(filePath: string): string {
  const target = path.resolve(filePath);
  const store = storePathsOf(target);
  if (store === undefined) return `${target}.lock`;
  const rel = path.relative(store.dir, target).split(path.sep).join('--');
  return path.join(store.locks, `${rel}.lock`);
}

async function readIfPresent<T>(filePath: string, schema: ZodType<T>): Promise<{ document: T } | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readDocument(filePath);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw new LedgerlockError(ErrorCode.Io, `cannot read ${filePath}: ${(err as Error).message}`, { path: filePath, errno: errnoCode(err) }, { cause: err });
  }
  const where = { path: filePath };
  return { document: parseWithSchema(schema, parseJson(decodeUtf8(bytes, where), where), where) };
}
