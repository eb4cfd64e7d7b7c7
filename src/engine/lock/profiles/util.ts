import * as fs from 'node:fs';
import { randomUUID } from 'node:crypto';

/** lstat without following a link: true when something is at `p`. */
export function existsQuietly(p: string): boolean {
  try {
    fs.lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

/** The content of a lock file as JSON, or undefined. */
export function jsonObject(content: Buffer | null): Record<string, unknown> | undefined {
  if (content === null || content.length === 0) return undefined;
  try {
    const value: unknown = JSON.parse(content.toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export function positivePid(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isSafeInteger(v) && v > 0 && v <= 2 ** 31 - 1 ? v : undefined;
}

/** ISO text or epoch milliseconds to ISO; undefined for anything else. */
export function isoTime(v: unknown): string | undefined {
  const ms = typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'string' && v.length <= 64 ? Date.parse(v) : NaN;
  if (!Number.isFinite(ms) || ms < 946_684_800_000 || ms > 253_402_300_799_000) return undefined;
  return new Date(ms).toISOString();
}

export function shortText(v: unknown, max = 200): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v.slice(0, max) : undefined;
}

export function newUuid(): string {
  return randomUUID();
}
