// atomicWriteFile: the target is always exactly one whole version, never torn, never missing
// once it existed, and never older than the last acknowledged write.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { documentOf, readOrUndefined, show } from './checks.mjs';

const V0 = documentOf(0, 3000);
const V1 = documentOf(1, 9000); // spans several pages, so it can tear
const V2 = documentOf(2, 700);
const GROUP = 16;
const groupDoc = (i) => documentOf(10 + i, 600);

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
  {
    name: 'atomic-write/replace-sync',
    protocol: 'atomicWriteFileSync',
    requires: ['atomicWriteFileSync'],
    setup(root) {
      fs.mkdirSync(path.join(root, 'state'));
      fs.writeFileSync(path.join(root, 'state', 'doc.json'), V0, { mode: 0o644 });
    },
    async run(root, { atomicWriteFileSync }, rec) {
      const file = path.join(root, 'state', 'doc.json');
      atomicWriteFileSync(file, V1, { telemetry: false });
      rec.ack('written', 1);
      atomicWriteFileSync(file, V2, { mode: 0o600, telemetry: false });
      rec.ack('written', 2);
    },
    check(root, { acks }) {
      const file = path.join(root, 'state', 'doc.json');
      const out = checkVersions(file, { before: V0, writes: [V1, V2], acks });
      if (readOrUndefined(file)?.equals(Buffer.from(V2)) && (fs.statSync(file).mode & 0o077) !== 0) out.push('the second write is visible with looser bits than 600');
      return out;
    },
  },
  {
    name: 'atomic-write/group',
    protocol: 'atomicWriteFile (16 at once, one directory)',
    requires: ['atomicWriteFile'],
    setup(root) {
      fs.mkdirSync(path.join(root, 'state'));
      for (let i = 0; i < GROUP; i++) fs.writeFileSync(path.join(root, 'state', `doc${i}.json`), V0);
    },
    async run(root, { atomicWriteFile }, rec) {
      // Issued together: their renames share directory fsyncs; each is acknowledged only once one ran after its rename.
      await Promise.all(Array.from({ length: GROUP }, (_, i) => atomicWriteFile(path.join(root, 'state', `doc${i}.json`), groupDoc(i), { telemetry: false }).then(() => rec.ack('written', i))));
    },
    check(root, { acks }) {
      const out = [];
      for (let i = 0; i < GROUP; i++) {
        const acked = acks.some((a) => a.label === 'written' && a.value === i);
        const bytes = readOrUndefined(path.join(root, 'state', `doc${i}.json`));
        const ok = bytes !== undefined && (bytes.equals(Buffer.from(groupDoc(i))) || (!acked && bytes.equals(Buffer.from(V0))));
        if (!ok) out.push(`doc${i}.json is ${show(bytes, { old: V0, new: groupDoc(i) })} after its write was ${acked ? '' : 'not '}acknowledged`);
      }
      return out;
    },
  },
];
