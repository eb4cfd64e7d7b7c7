/**
 * Claude Code session transcripts: `<config>/projects/<encoded cwd>/<session id>.jsonl`, one JSON
 * object per line, appended whole (`JSON.stringify(entry) + "\n"`) by a process that opens,
 * writes and closes the file per entry. What a record is, from the public format (README.md,
 * "Agent sessions"): every line is an object with a string `type`; conversation entries (`user`,
 * `assistant`, `system`, `attachment`, `progress`) carry `uuid`, `parentUuid` (null for a root),
 * `timestamp`, `sessionId` and `cwd`, and link into a chain through `parentUuid`; bookkeeping
 * entries carry `sessionId` (`queue-operation`, `custom-title`, `pr-link`, …) or are `summary`
 * (`leafUuid`) and `file-history-snapshot` (`messageId`, `snapshot`) lines.
 */
import { z } from 'zod';
import { objectOf, snippet, stringField, type JsonlProfile } from './types';

const Entry = z
  .object({
    type: z.string().min(1),
    uuid: z.string().min(1).optional(),
    parentUuid: z.string().min(1).nullable().optional(),
    timestamp: z.string().optional(),
    sessionId: z.string().min(1).optional(),
    cwd: z.string().optional(),
  })
  .passthrough();

/** Entries that name no session: a compaction summary, a file-history snapshot. */
const Summary = z.object({ type: z.literal('summary'), leafUuid: z.string().min(1) }).passthrough();
const Snapshot = z.object({ type: z.literal('file-history-snapshot'), messageId: z.string().min(1) }).passthrough();

function textOf(content: unknown): string | undefined {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return undefined;
  for (const block of content) {
    const b = objectOf(block);
    if (b === undefined) continue;
    if (typeof b.text === 'string') return b.text;
    if (b.type === 'tool_use' && typeof b.name === 'string') return `tool ${b.name}`;
    if (b.type === 'tool_result') return 'tool result';
    if (b.type === 'thinking') return 'thinking';
  }
  return undefined;
}

export const claudeCodeProfile: JsonlProfile = {
  id: 'claude-code',
  tool: 'Claude Code',
  recognise(first, file) {
    if (claudeCodeProfile.notARecord(first) !== undefined) return false;
    const o = objectOf(first)!;
    // A conversation entry says so by its chain fields; a bookkeeping first line, by where it lives.
    if ('parentUuid' in o && typeof o.sessionId === 'string') return true;
    return (
      /[\\/]projects[\\/][^\\/]+[\\/][^\\/]+\.jsonl$/.test(file) &&
      (typeof o.sessionId === 'string' || Summary.safeParse(o).success || Snapshot.safeParse(o).success)
    );
  },
  notARecord(value) {
    const entry = Entry.safeParse(value);
    if (!entry.success) {
      const issue = entry.error.issues[0]!;
      return objectOf(value) === undefined
        ? 'not a JSON object'
        : `field ${issue.path.join('.') || '(record)'}: ${issue.path[0] === 'type' && issue.code === 'invalid_type' && issue.received === 'undefined' ? 'missing' : issue.message}`;
    }
    if (entry.data.sessionId !== undefined || Summary.safeParse(value).success || Snapshot.safeParse(value).success) return undefined;
    return `a "${entry.data.type}" object that names no session (no sessionId): a fragment, not a transcript entry`;
  },
  recordStarts: [
    Buffer.from('{"parentUuid":'),
    Buffer.from('{"type":'),
    Buffer.from('{"uuid":'),
    Buffer.from('{"sessionId":'),
    Buffer.from('{"isSidechain":'),
    Buffer.from('{"leafUuid":'),
  ],
  time: (record) => stringField(record, 'timestamp') ?? null,
  kind: (record) => stringField(record, 'type') ?? 'entry',
  key: (record) => stringField(record, 'uuid'),
  summary(record) {
    const o = objectOf(record) ?? {};
    const type = stringField(o, 'type') ?? 'entry';
    const message = objectOf(o.message);
    const text = textOf(message?.content) ?? stringField(o, 'summary') ?? stringField(o, 'content') ?? stringField(o, 'subtype') ?? stringField(o, 'operation');
    return snippet(text !== undefined ? `${type}: ${text}` : type);
  },
  cwd: (record) => stringField(record, 'cwd'),
};

/**
 * The folder name Claude Code keeps a working directory's sessions under (`projects/<key>/`):
 * every UTF-16 unit outside [A-Za-z0-9] becomes `-`; past 200 units, the first 200, `-`, and a
 * base-36 hash of the whole path (README.md, "Agent sessions", cites where this comes from).
 * Only ever computed forward: a key cannot be decoded (`/a.b` and `/a-b` share one).
 */
export function claudeProjectKey(cwd: string): string {
  const key = cwd.replace(/[^a-zA-Z0-9]/g, '-');
  if (key.length <= 200) return key;
  let h = 0;
  for (let i = 0; i < cwd.length; i++) h = (Math.imul(h, 31) + cwd.charCodeAt(i)) | 0;
  return `${key.slice(0, 200)}-${Math.abs(h).toString(36)}`;
}
