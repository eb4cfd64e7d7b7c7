// atomicWriteFile: the target is always exactly one whole version, never torn, never missing
// once it existed, and never older than the last acknowledged write.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { documentOf, readOrUndefined, show } from './checks.mjs';

const V0 = documentOf(0, 3000);
const V1 = documentOf(1, 9000); // spans several pages, so it can tear
const V2 = documentOf(2, 700);

function checkVersions(file, { before, writes, acks }) {
  const acked = acks.filter((a) => a.label === 'written').length;
  const bytes = readOrUndefined(file);
  const names = Object.fromEntries([...(before === undefined ? [] : [['the old version', before]]), ...writes.map((w, i) => [`write #${i + 1}`, w])]);
  // Allowed: the last acknowledged version or anything written after it; before any ack, the old file (or nothing, if there was none).
  const candidates = acked === 0 ? (before === undefined ? [undefined, ...writes] : [before, ...writes]) : writes.slice(acked - 1);
  if (candidates.some((c) => (c === undefined ? bytes === undefined : bytes !== undefined && Buffer.from(c).equals(bytes)))) return [];
  return [`${path.basename(file)} is ${show(bytes, names)} after ${acked} acknowledged write(s); allowed: ${candidates.map((c) => show(c === undefined ? undefined : Buffer.from(c), names)).join(' | ')}`];
}

export default [
  {
    name: 'atomic-write/create',
    protocol: 'atomicWriteFile',
    requires: ['atomicWriteFile'],
    setup(root) { fs.mkdirSync(path.join(root, 'state')); },
    async run(root, { atomicWriteFile }, rec) {
      await atomicWriteFile(path.join(root, 'state', 'doc.json'), V1, { telemetry: false });
      rec.ack('written', 1);
    },
    check(root, { acks }) {
      return checkVersions(path.join(root, 'state', 'doc.json'), { before: undefined, writes: [V1], acks });
    },
  },
  {
    name: 'atomic-write/replace',
    protocol: 'atomicWriteFile',
    requires: ['atomicWriteFile'],
    setup(root) {
      fs.mkdirSync(path.join(root, 'state'));
      fs.writeFileSync(path.join(root, 'state', 'doc.json'), V0, { mode: 0o644 });
    },
    async run(root, { atomicWriteFile }, rec) {
      const file = path.join(root, 'state', 'doc.json');
      await atomicWriteFile(file, V1, { telemetry: false });
      rec.ack('written', 1);
      await atomicWriteFile(file, V2, { telemetry: false });
      rec.ack('written', 2);
    },
    check(root, { acks }) {
      return checkVersions(path.join(root, 'state', 'doc.json'), { before: V0, writes: [V1, V2], acks });
    },
  },
  {
    name: 'atomic-write/private-mode',
    protocol: 'atomicWriteFile',
    requires: ['atomicWriteFile'],
    setup(root) { fs.mkdirSync(path.join(root, 'state')); },
    async run(root, { atomicWriteFile }, rec) {
      await atomicWriteFile(path.join(root, 'state', 'secret.json'), V1, { mode: 0o600, telemetry: false });
      rec.ack('written', 1);
    },
    check(root, { acks }) {
      const file = path.join(root, 'state', 'secret.json');
      const out = checkVersions(file, { before: undefined, writes: [V1], acks });
      if (fs.existsSync(file) && (fs.statSync(file).mode & 0o077) !== 0) out.push(`secret.json is visible with mode ${(fs.statSync(file).mode & 0o777).toString(8)}, looser than 600`);
      return out;
    },
  },
  {
    name: 'atomic-write/tmp-dir',
    protocol: 'atomicWriteFile',
    requires: ['atomicWriteFile'],
    setup(root) {
      fs.mkdirSync(path.join(root, 'tmp'));
      fs.mkdirSync(path.join(root, 'state'));
      fs.writeFileSync(path.join(root, 'state', 'doc.json'), V0);
    },
    async run(root, { atomicWriteFile }, rec) {
      await atomicWriteFile(path.join(root, 'state', 'doc.json'), V1, { tmpDir: path.join(root, 'tmp'), telemetry: false });
      rec.ack('written', 1);
    },
    check(root, { acks }) {
      return checkVersions(path.join(root, 'state', 'doc.json'), { before: V0, writes: [V1], acks });
    },
  },
];
