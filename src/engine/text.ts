/**
 * Decoding bytes that came from disk: invalid UTF-8 and bad JSON get stable codes, never a
 * silently substituted U+FFFD.
 */
import type { ZodType } from 'zod';
import { ErrorCode, LedgerlockError } from './errors';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

export function decodeUtf8(bytes: Uint8Array, where: Record<string, unknown>): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    throw new LedgerlockError(ErrorCode.InvalidUtf8, `${describeWhere(where)} is not valid UTF-8`, where);
  }
}

/** JSON text to a value; a number too large for a double (`1e999`) is refused, never stored as null. */
export function parseJson(text: string, where: Record<string, unknown>): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new LedgerlockError(ErrorCode.BadJson, `${describeWhere(where)} is not valid JSON: ${(err as Error).message}`, where);
  }
  if (/\d[eE][+]?\d{3}|\d{309}/.test(text) && !allFinite(value)) {
    throw new LedgerlockError(ErrorCode.BadJson, `${describeWhere(where)} holds a number too large to represent (it would be stored as null)`, where);
  }
  return value;
}

function allFinite(value: unknown): boolean {
  if (typeof value === 'number') return Number.isFinite(value);
  if (value === null || typeof value !== 'object') return true;
  for (const v of Object.values(value)) if (!allFinite(v)) return false;
  return true;
}

export function parseWithSchema<T>(schema: ZodType<T>, value: unknown, where: Record<string, unknown>): T {
  const result = schema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    const at = issue && issue.path.length > 0 ? ` at ${issue.path.join('.')}` : '';
    throw new LedgerlockError(ErrorCode.SchemaMismatch, `${describeWhere(where)} does not match its schema${at}: ${issue?.message ?? 'invalid'}`, {
      ...where,
      issues: result.error.issues.slice(0, 5).map((i) => ({ path: i.path.join('.'), message: i.message })),
    });
  }
  return result.data;
}

function describeWhere(where: Record<string, unknown>): string {
  if (typeof where.path === 'string') return typeof where.line === 'number' ? `${where.path}:${where.line}` : where.path;
  return typeof where.what === 'string' ? where.what : 'input';
}
