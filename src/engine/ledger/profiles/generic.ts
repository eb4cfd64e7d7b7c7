/**
 * Any other JSONL/NDJSON: a record is a JSON object or array, one per line (what JSONL writers
 * write); a bare number, string or literal on a line is not one. `ts` and `type` come from the
 * fields such tools commonly use; a record's identity is its `uuid` field when it has one.
 */
import { objectOf, snippet, stringField, type JsonlProfile } from './types';

const TIME_FIELDS = ['timestamp', 'ts', 'time'];
const TYPE_FIELDS = ['type', 'event', 'kind'];

function pick(value: unknown, fields: string[]): string | null {
  const obj = objectOf(value);
  if (obj === undefined) return null;
  for (const f of fields) {
    const v = obj[f];
    if (typeof v === 'string' && v.length > 0) return v;
    if (typeof v === 'number' && Number.isFinite(v) && TIME_FIELDS.includes(f)) {
      const d = new Date(v);
      if (!Number.isNaN(d.getTime())) return d.toISOString();
    }
  }
  return null;
}

export const genericProfile: JsonlProfile = {
  id: 'generic',
  tool: 'JSONL',
  recognise: () => true,
  notARecord: (value) => (value !== null && typeof value === 'object' ? undefined : `a bare ${value === null ? 'null' : typeof value} is not a JSONL record`),
  recordStarts: [Buffer.from('{"')],
  time: (record) => pick(record, TIME_FIELDS),
  kind: (record) => pick(record, TYPE_FIELDS) ?? 'line',
  key: (record) => stringField(record, 'uuid'),
  summary(record) {
    const kind = pick(record, TYPE_FIELDS);
    const obj = objectOf(record);
    const keys = obj ? Object.keys(obj).slice(0, 4).join(', ') : Array.isArray(record) ? `${record.length} items` : '';
    return snippet(kind !== null ? `${kind}: ${keys}` : keys);
  },
  cwd: (record) => stringField(record, 'cwd'),
};
