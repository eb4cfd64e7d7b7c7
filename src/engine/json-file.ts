/**
 * JSON documents shared between processes: read with a schema, and update as lock → reload
 * under the lock → apply → atomic write, so two processes adding entries to one registry never
 * lose each other's.
 */
import * as path from 'node:path';
import type { ZodType } from 'zod';
import { atomicWriteFile, atomicWriteFileSync, type AtomicWriteOptions } from './atomic';
import { ErrorCode, LedgerlockError, errnoCode } from './errors';
import { fsl, readDocument } from './fs';
import { withLock, withLockSync, type AcquireOptions } from './lock';
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
  const { lockPath, mode: _mode, ...lockOptions } = opts;
  const target = path.resolve(filePath);
  return withLock(
    lockPath ?? jsonLockPathFor(target),
    async () => {
      const current = documentIn(await readBytes(target), target, schema);
      const next = parseWithSchema(schema, await fn(current), { path: target, what: `new content of ${target}` });
      const store = storePathsOf(target);
      if (store !== undefined) await fsl().mkdir(store.tmp);
      await atomicWriteFile(target, serialize(next), writeOptions(store, opts));
      return next;
    },
    lockOptions,
  );
}

/** updateJsonFile, synchronously (for CLIs, git hooks and short-lived scripts); `fn` must be synchronous. */
export function updateJsonFileSync<T>(
  filePath: string,
  schema: ZodType<T>,
  fn: (current: T | undefined) => T,
  opts: Omit<UpdateJsonOptions, 'signal'> = {},
): T {
  const { lockPath, mode: _mode, ...lockOptions } = opts;
  const target = path.resolve(filePath);
  return withLockSync(
    lockPath ?? jsonLockPathFor(target),
    () => {
      const current = documentIn(readBytesSync(target), target, schema);
      const produced = fn(current);
      if (produced instanceof Promise) {
        produced.catch(() => undefined);
        throw new LedgerlockError(ErrorCode.BadInput, `updateJsonFileSync(${target}) was given an async function (use updateJsonFile)`, { path: target });
      }
      const next = parseWithSchema(schema, produced, { path: target, what: `new content of ${target}` });
      const store = storePathsOf(target);
      if (store !== undefined) fsl().mkdirSync(store.tmp);
      atomicWriteFileSync(target, serialize(next), writeOptions(store, opts));
      return next;
    },
    lockOptions,
  );
}

function serialize(doc: unknown): string {
  return JSON.stringify(doc, null, 2) + '\n';
}

function writeOptions(store: ReturnType<typeof storePathsOf>, opts: UpdateJsonOptions): AtomicWriteOptions {
  return {
    ...(opts.mode !== undefined ? { mode: opts.mode } : {}),
    ...(store !== undefined ? { tmpDir: store.tmp } : {}),
    ...(opts.telemetry !== undefined ? { telemetry: opts.telemetry } : {}),
  };
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
  const bytes = await readBytes(filePath);
  return bytes === undefined ? undefined : { document: documentIn(bytes, filePath, schema)! };
}

function documentIn<T>(bytes: Buffer | undefined, filePath: string, schema: ZodType<T>): T | undefined {
  if (bytes === undefined) return undefined;
  const where = { path: filePath };
  return parseWithSchema(schema, parseJson(decodeUtf8(bytes, where), where), where);
}

async function readBytes(filePath: string): Promise<Buffer | undefined> {
  try {
    return await readDocument(filePath);
  } catch (err) {
    return absentOrThrow(err, filePath);
  }
}

function readBytesSync(filePath: string): Buffer | undefined {
  try {
    return fsl().readFileSync(filePath);
  } catch (err) {
    return absentOrThrow(err, filePath);
  }
}

function absentOrThrow(err: unknown, filePath: string): undefined {
  if (errnoCode(err) === 'ENOENT') return undefined;
  throw new LedgerlockError(ErrorCode.Io, `cannot read ${filePath}: ${(err as Error).message}`, { path: filePath, errno: errnoCode(err) }, { cause: err });
}
