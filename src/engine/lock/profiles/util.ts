import { fsl } from '../../fs';
import type { LockHolderInfo } from '../holder';

/** lstat without following a link: true when something is at `p`. */
export function existsQuietly(p: string): boolean {
  try {
    fsl().lstatSync(p);
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

function positivePid(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isSafeInteger(v) && v > 0 && v <= 2 ** 31 - 1 ? v : undefined;
}

/** ISO text or epoch milliseconds to ISO; undefined for anything else. */
function isoTime(v: unknown): string | undefined {
  const ms = typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'string' && v.length <= 64 ? Date.parse(v) : NaN;
  if (!Number.isFinite(ms) || ms < 946_684_800_000 || ms > 253_402_300_799_000) return undefined;
  return new Date(ms).toISOString();
}

export function shortText(v: unknown, max = 200): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v.slice(0, max) : undefined;
}

/** A holder from a tool's JSON record: which of its fields hold the pid, host, owner and time. */
export function holderFromJson(
  obj: Record<string, unknown>,
  tool: string,
  fields: { pid?: string; host?: string; owner?: string; at: string[] },
): LockHolderInfo {
  const holder: LockHolderInfo = { tool };
  const pid = positivePid(obj[fields.pid ?? 'pid']);
  if (pid !== undefined) holder.pid = pid;
  const host = fields.host !== undefined ? shortText(obj[fields.host]) : undefined;
  if (host !== undefined) holder.host = host;
  const owner = fields.owner !== undefined ? shortText(obj[fields.owner]) : undefined;
  if (owner !== undefined) holder.owner = owner;
  const at = fields.at.map((k) => isoTime(obj[k])).find((v) => v !== undefined);
  if (at !== undefined) holder.acquiredAt = at;
  return holder;
}
