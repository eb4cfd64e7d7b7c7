// Small helpers the scenario checks share.
import * as fs from 'node:fs';
import * as path from 'node:path';

export function readOrUndefined(file) {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  }
}

/** A readable stand-in for file content in a violation message. */
export function show(bytes, versions = {}) {
  if (bytes === undefined) return 'missing';
  for (const [name, v] of Object.entries(versions)) if (Buffer.from(v).equals(bytes)) return name;
  const text = bytes.toString('utf8');
  return `${bytes.length} bytes ${JSON.stringify(text.length > 80 ? `${text.slice(0, 40)}…${text.slice(-30)}` : text)}`;
}

/** A JSON document of about `size` bytes that says which version it is. */
export function documentOf(version, size) {
  const head = JSON.stringify({ version, pad: '' });
  return `${JSON.stringify({ version, pad: 'x'.repeat(Math.max(0, size - head.length - 1)) })}\n`;
}

export function lastAck(acks, label) {
  return acks.filter((a) => a.label === label).at(-1);
}

export function listFiles(dir) {
  const out = [];
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(p);
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return out;
}
