/**
 * Codex rollout files: `<CODEX_HOME>/sessions/YYYY/MM/DD/rollout-<time>-<id>.jsonl`. Each line is
 * a `RolloutLine` of the openai/codex repository (codex-rs/protocol): `timestamp`, an optional
 * `ordinal`, and the item flattened as `"type": <snake_case tag>, "payload": {…}`
 * (`session_meta` first, whose payload names `id` and `cwd`; then `response_item`, `event_msg`,
 * `turn_context`, `compacted`, …). The writer task keeps the file open while the session runs.
 */
import { z } from 'zod';
import { objectOf, snippet, stringField, type JsonlProfile } from './types';

const RolloutLine = z
  .object({
    timestamp: z.string().min(1),
    ordinal: z.number().int().nonnegative().optional(),
    type: z.string().regex(/^[a-z][a-z0-9_]*$/, 'a snake_case item tag'),
    payload: z.unknown(),
  })
  .passthrough()
  .refine((v) => 'payload' in v, { message: 'missing', path: ['payload'] });

export const codexProfile: JsonlProfile = {
  id: 'codex',
  tool: 'Codex',
  recognise(first, file) {
    if (codexProfile.notARecord(first) !== undefined) return false;
    return stringField(first, 'type') === 'session_meta' || /(^|[\\/])rollout-[^\\/]*\.jsonl$/.test(file);
  },
  notARecord(value) {
    if (objectOf(value) === undefined) return 'not a JSON object';
    const line = RolloutLine.safeParse(value);
    if (line.success) return undefined;
    const issue = line.error.issues[0]!;
    return `field ${issue.path.join('.') || '(line)'}: ${issue.code === 'invalid_type' && issue.received === 'undefined' ? 'missing' : issue.message}`;
  },
  recordStarts: [Buffer.from('{"timestamp":')],
  time: (record) => stringField(record, 'timestamp') ?? null,
  kind(record) {
    const type = stringField(record, 'type') ?? 'line';
    const inner = stringField(objectOf(record)?.payload, 'type');
    return inner !== undefined ? `${type}.${inner}` : type;
  },
  key: () => undefined,
  summary(record) {
    const o = objectOf(record) ?? {};
    const payload = objectOf(o.payload) ?? {};
    const kind = codexProfile.kind(record);
    let text: string | undefined;
    if (typeof payload.message === 'string') text = payload.message;
    else if (Array.isArray(payload.content)) text = payload.content.map((c) => stringField(c, 'text')).find((t) => t !== undefined);
    else if (typeof payload.name === 'string') text = `call ${payload.name}`;
    else if (typeof payload.cwd === 'string') text = payload.cwd;
    return snippet(text !== undefined ? `${kind}: ${text}` : kind);
  },
  cwd: (record) =>
    stringField(record, 'type') === 'session_meta' || stringField(record, 'type') === 'turn_context'
      ? stringField(objectOf(record)?.payload, 'cwd')
      : undefined,
};
