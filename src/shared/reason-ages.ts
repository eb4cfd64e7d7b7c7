/**
 * The elapsed times written into a lock's reason ("held for 4 min", "touched 2 min ago",
 * "empty lock file 3 min old"), found where the server judges it, so the editor can write them
 * again as they are when it draws the sentence (README.md, "In VS Code": ages are live).
 * Thresholds ("stale after 30 s") are not elapsed times and are left alone.
 */
import { formatAge } from './age';

/** One elapsed time in a reason: where its text starts, the text, and the milliseconds it stood for. */
export interface ReasonAge {
  at: number;
  text: string;
  ms: number;
}

const AGE = String.raw`(\d+) (ms|s|min|h|d)`;
const PHRASES = new RegExp(String.raw`(?:held for (?:at most )?|touched for |refreshed it for )${AGE}|${AGE}(?= ago| old\b)`, 'g');
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, min: 60_000, h: 3_600_000, d: 86_400_000 };

/** The elapsed times in `reason`; `ageMs` (the lock's exact age) stands for a text it formats to. */
export function reasonAges(reason: string, ageMs: number | null): ReasonAge[] {
  const found: ReasonAge[] = [];
  for (const m of reason.matchAll(PHRASES)) {
    const value = m[1] ?? m[3];
    const unit = m[2] ?? m[4];
    if (value === undefined || unit === undefined) continue;
    const text = `${value} ${unit}`;
    const at = (m.index ?? 0) + m[0].length - (m[1] !== undefined ? text.length : m[0].length);
    const exact = ageMs !== null && formatAge(ageMs) === text;
    found.push({ at, text, ms: exact ? ageMs : Number(value) * (UNIT_MS[unit] ?? 0) });
  }
  return found;
}

/** `reason` with each elapsed time `elapsedMs` older than when it was measured. */
export function reasonAt(reason: string, ages: readonly ReasonAge[] | undefined, elapsedMs: number): string {
  if (ages === undefined || ages.length === 0 || elapsedMs <= 0) return reason;
  let out = '';
  let from = 0;
  for (const a of ages) {
    if (a.at < from || reason.slice(a.at, a.at + a.text.length) !== a.text) return reason; // not the sentence they were found in
    out += reason.slice(from, a.at) + formatAge(a.ms + elapsedMs);
    from = a.at + a.text.length;
  }
  return out + reason.slice(from);
}
