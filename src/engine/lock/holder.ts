/**
 * What a lock file says about its holder. Ledgerlock's own lock files are zod-validated JSON;
 * foreign ones (JSON with pid/timestamp, `<pid> <owner> <iso>` text, zero bytes) are read as
 * they are. Garbage (binary, invalid UTF-8, huge) is classified, never thrown.
 */
import { z } from 'zod';
import { ErrorCode, LedgerlockError } from '../errors';
import { decodeUtf8, parseJson, parseWithSchema } from '../text';

export const LOCK_FORMAT = 'ledgerlock-lock';
/** A lock file is a few hundred bytes; anything past this is not a lock Ledgerlock can read. */
export const MAX_LOCK_BYTES = 64 * 1024;

export type LockKind = 'ledgerlock' | 'json' | 'text' | 'directory' | 'empty' | 'unknown';

export interface LockHolderInfo {
  pid?: number;
  host?: string;
  owner?: string;
  tool?: string;
  acquiredAt?: string;
}

export const NativeLockSchema = z
  .object({
    format: z.literal(LOCK_FORMAT),
    version: z.literal(1),
    pid: z
      .number()
      .int()
      .positive()
      .max(2 ** 31 - 1),
    host: z.string().min(1),
    owner: z.string().min(1),
    tool: z.string(),
    acquiredAt: z.string().datetime({ offset: true }),
    /** When the holder process started (ISO), and the raw Linux start time in clock ticks: pid-reuse detection. */
    startTime: z.string().datetime({ offset: true }).optional(),
    startTicks: z.number().int().nonnegative().optional(),
    /** Linux boot id: a lock from before a reboot names a pid that no longer means its holder. */
    bootId: z.string().optional(),
    /** The holder's pid namespace inode: a judge in another namespace on the same boot finds it there. */
    pidns: z.number().int().positive().optional(),
    /** The holder's effective uid, for sentences and for judges that see only some users. */
    uid: z.number().int().nonnegative().optional(),
    /** process.platform of the holder: a pid from another platform (WSL vs Windows) means nothing here. */
    platform: z.string().max(32).optional(),
    /** How often the holder refreshes the lock's mtime; absent when it does not (short synchronous holds). */
    heartbeatMs: z.number().int().positive().optional(),
  })
  .passthrough();
export type NativeLock = z.infer<typeof NativeLockSchema>;

export interface ParsedLock {
  kind: LockKind;
  holder: LockHolderInfo | null;
  /** Present for Ledgerlock's own lock files. */
  native?: NativeLock;
  /** Why the content could not be read as a lock, in a sentence fragment. */
  problem?: string;
}

/** Strict parse of a Ledgerlock lock file: E_LOCK_UNREADABLE, E_INVALID_UTF8, E_BAD_JSON or E_SCHEMA. */
export function parseNativeLock(bytes: Uint8Array, where: { path?: string } = {}): NativeLock {
  if (bytes.length > MAX_LOCK_BYTES) {
    throw new LedgerlockError(ErrorCode.LockUnreadable, `${where.path ?? 'lock file'} is larger than ${MAX_LOCK_BYTES} bytes`, {
      ...where,
      bytes: bytes.length,
    });
  }
  const at = { what: 'lock file', ...where };
  return parseWithSchema(NativeLockSchema, parseJson(decodeUtf8(bytes, at), at), at);
}

/** Reads any lock file's content; never throws. */
export function parseLockContent(bytes: Uint8Array): ParsedLock {
  if (bytes.length === 0) return { kind: 'empty', holder: null };
  if (bytes.length > MAX_LOCK_BYTES) return unknown(`content is larger than ${MAX_LOCK_BYTES / 1024} KiB, which no lock file is`);
  let text: string;
  try {
    text = decodeUtf8(bytes, {});
  } catch {
    return unknown('content is binary (not valid UTF-8)');
  }
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(text)) return unknown('content is binary (control characters)');
  const trimmed = text.trim();
  if (trimmed.length === 0) return unknown('content is only whitespace');
  if (trimmed.startsWith('{')) return parseJsonLock(trimmed);
  return parseTextLock(trimmed);
}

function parseJsonLock(text: string): ParsedLock {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return unknown('content looks like JSON but does not parse');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return unknown('JSON content is not an object');
  const native = NativeLockSchema.safeParse(value);
  if (native.success) {
    const n = native.data;
    return { kind: 'ledgerlock', holder: { pid: n.pid, host: n.host, owner: n.owner, tool: n.tool, acquiredAt: n.acquiredAt }, native: n };
  }
  const holder = foreignJsonHolder(value as Record<string, unknown>);
  if (holder === null) return { kind: 'json', holder: null, problem: 'JSON content names no pid, host or time' };
  return { kind: 'json', holder };
}

const PID_KEYS = ['pid', 'processId', 'process_id', 'PID'];
const HOST_KEYS = ['host', 'hostname', 'hostName', 'machine'];
const OWNER_KEYS = ['owner', 'id', 'lockId', 'uuid', 'user'];
const TOOL_KEYS = ['tool', 'name', 'command', 'cmd', 'program', 'app'];
const TIME_KEYS = ['acquiredAt', 'timestamp', 'time', 'createdAt', 'created', 'created_at', 'startedAt', 'started', 'start', 'date', 'ts'];

function foreignJsonHolder(obj: Record<string, unknown>): LockHolderInfo | null {
  const holder: LockHolderInfo = {};
  const pid = firstOf(obj, PID_KEYS, toPid);
  if (pid !== undefined) holder.pid = pid;
  const host = firstOf(obj, HOST_KEYS, toShortString);
  if (host !== undefined) holder.host = host;
  const owner = firstOf(obj, OWNER_KEYS, (v) => (typeof v === 'number' && Number.isFinite(v) ? String(v) : toShortString(v)));
  if (owner !== undefined) holder.owner = owner;
  const tool = firstOf(obj, TOOL_KEYS, toShortString);
  if (tool !== undefined) holder.tool = tool;
  const acquiredAt = firstOf(obj, TIME_KEYS, toIsoTime);
  if (acquiredAt !== undefined) holder.acquiredAt = acquiredAt;
  return holder.pid === undefined && holder.host === undefined && holder.acquiredAt === undefined ? null : holder;
}

/** `<pid>`, `<pid> <owner>`, `<pid> <owner> <iso>` (any whitespace between). */
function parseTextLock(text: string): ParsedLock {
  const tokens = text.split(/\s+/);
  const pid = /^\d{1,10}$/.test(tokens[0]!) ? toPid(Number(tokens[0])) : undefined;
  if (pid === undefined || tokens.length > 4) return unknown('content is text Ledgerlock does not recognise as a lock');
  const holder: LockHolderInfo = { pid };
  for (const token of tokens.slice(1)) {
    const time = /^\d{4}-\d{2}-\d{2}/.test(token) ? toIsoTime(token) : undefined;
    if (time !== undefined && holder.acquiredAt === undefined) holder.acquiredAt = time;
    else if (holder.owner === undefined) holder.owner = token.slice(0, 256);
  }
  return { kind: 'text', holder };
}

function firstOf<T>(obj: Record<string, unknown>, keys: string[], convert: (v: unknown) => T | undefined): T | undefined {
  for (const key of keys) {
    if (!Object.prototype.hasOwnProperty.call(obj, key)) continue;
    const value = convert(obj[key]);
    if (value !== undefined) return value;
  }
  return undefined;
}

function toPid(v: unknown): number | undefined {
  const n = typeof v === 'string' && /^\d{1,10}$/.test(v) ? Number(v) : v;
  return typeof n === 'number' && Number.isSafeInteger(n) && n > 0 && n <= 2 ** 31 - 1 ? n : undefined;
}

function toShortString(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v.slice(0, 256) : undefined;
}

/** ISO strings, or epoch numbers (seconds when small enough to be seconds, else milliseconds). */
function toIsoTime(v: unknown): string | undefined {
  let ms: number;
  if (typeof v === 'number' && Number.isFinite(v) && v > 0) ms = v < 1e11 ? v * 1000 : v;
  else if (typeof v === 'string' && v.length <= 64 && /^\d{4}-\d{2}-\d{2}/.test(v)) ms = Date.parse(v);
  else return undefined;
  // Before 2000 or after 9999 is not a lock's acquisition time.
  if (!Number.isFinite(ms) || ms < 946_684_800_000 || ms > 253_402_300_799_000) return undefined;
  return new Date(ms).toISOString();
}

function unknown(problem: string): ParsedLock {
  return { kind: 'unknown', holder: null, problem };
}

/** "pid 123 on host h (tool x)" for messages. */
export function describeHolder(holder: LockHolderInfo | null): string {
  if (holder === null) return 'an unknown holder';
  const parts: string[] = [];
  if (holder.pid !== undefined) parts.push(`pid ${holder.pid}`);
  if (holder.host !== undefined) parts.push(`on host ${holder.host}`);
  if (holder.tool !== undefined && holder.tool !== '') parts.push(`(${holder.tool})`);
  return parts.length > 0 ? parts.join(' ') : 'an unknown holder';
}
