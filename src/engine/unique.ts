/**
 * Names and ids no other process or call picks: a per-process random prefix (unique across
 * processes and hosts) and a counter (unique within the process), without a trip to the entropy
 * pool per name. Lock owner ids and temp-file names use it.
 */
import { randomBytes } from 'node:crypto';

const prefix = randomBytes(8).toString('hex');
let counter = 0;

export function uniqueId(): string {
  return `${prefix}${(++counter).toString(16).padStart(8, '0')}`;
}
