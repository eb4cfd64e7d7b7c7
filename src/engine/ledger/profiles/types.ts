/**
 * A JSONL profile: what one tool's transcript or log lines look like, so a foreign ledger of
 * that tool is judged by the tool's own rules (README.md, "Agent sessions"; docs/ARCHITECTURE.md,
 * "Foreign JSONL profiles"). Profiles only interpret parsed values; they never read the disk.
 */
export type JsonlProfileId = 'claude-code' | 'codex' | 'generic';

export interface JsonlProfile {
  id: JsonlProfileId;
  /** The tool's name as people know it. */
  tool: string;
  /** Does this first record, read from a file at `path`, say the file is this tool's? */
  recognise(first: unknown, path: string): boolean;
  /** Why a parsed JSON value is not one of this tool's records; undefined when it is one. */
  notARecord(value: unknown): string | undefined;
  /** Bytes a record of this tool begins with: where a complete record glued after a torn one can start. */
  recordStarts: readonly Buffer[];
  /** When the record was written, as the tool stamps it. */
  time(record: unknown): string | null;
  /** The record's kind, for filters and the timeline. */
  kind(record: unknown): string;
  /** The record's identity when the tool gives each record one (a retried append repeats it). */
  key(record: unknown): string | undefined;
  /** A short summary for a person: kind, and a few words of content. */
  summary(record: unknown): string;
  /** The working directory a record says the tool ran in, when it records one. */
  cwd(record: unknown): string | undefined;
}

export function objectOf(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

export function stringField(value: unknown, field: string): string | undefined {
  const v = objectOf(value)?.[field];
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

/** The first `max` characters of a text on one line, for summaries. */
export function snippet(text: string, max = 60): string {
  const one = text
    .slice(0, max * 4)
    .replace(/\s+/g, ' ')
    .trim();
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}
