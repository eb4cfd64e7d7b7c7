// The shape (keys and value types, recursively) of every command's --json document on one
// scripted workspace. test/cli/json-shapes.test.mjs compares the current CLI's shapes with
// json-shapes.expected.json, which was recorded from the CLI before its text output changed:
//   node test/cli/json-shapes.mjs [path/to/cli.js] > test/cli/json-shapes.expected.json
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** `{ a: 'number', b: ['string'] }`: types, not values; an array's shape is the union of its elements'. */
export function shapeOf(value) {
  if (value === null) return 'null';
  if (Array.isArray(value)) {
    const shapes = [...new Set(value.map((v) => JSON.stringify(shapeOf(v))))].sort();
    return shapes.map((s) => JSON.parse(s));
  }
  if (typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, shapeOf(value[k])]));
  }
  return typeof value;
}

function deadPid() {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

function staleLock(file) {
  writeFileSync(file, JSON.stringify({ format: 'ledgerlock-lock', version: 1, pid: deadPid(), host: hostname(), owner: 'gone', tool: 'fixture', acquiredAt: new Date(Date.now() - 60_000).toISOString() }));
}

export async function collectShapes(cliPath) {
  const dir = mkdtempSync(join(tmpdir(), 'll-shapes-'));
  const run = (args, input) => {
    const dash = args.indexOf('--');
    const withJson = dash === -1 ? [...args, '--json'] : [...args.slice(0, dash), '--json', ...args.slice(dash)];
    const r = spawnSync(process.execPath, [cliPath, ...withJson], { cwd: dir, input, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    return JSON.parse(r.stdout);
  };
  const shapes = {};
  const record = (name, args, input) => {
    const doc = run(args, input);
    shapes[name] = shapeOf(doc);
    return doc;
  };
  try {
    record('append --data', ['append', 'events', '--type', 'a', '--data', '{"n":1}']);
    record('append stdin', ['append', 'events', '--type', 'b'], '{"n":2}\n{"n":3}\n{"n":4}\n');
    record('tail', ['tail', 'events', '-n', '2']);
    record('read', ['read', 'events', '--from', '1', '--to', '3']);
    record('verify ok', ['verify', 'events']);
    mkdirSync(join(dir, '.ledgerlock', 'locks'), { recursive: true });
    staleLock(join(dir, '.ledgerlock', 'locks', 'build.lock'));
    record('append torn', ['append', 'torn', '--data', '{"x":1}']);
    appendFileSync(join(dir, '.ledgerlock', 'ledgers', 'torn.jsonl'), '{"id":2,"ts":"2026-01-01T00:00:00.000Z","ty');
    record('status', ['status']);
    record('locks', ['locks']);
    record('verify torn', ['verify', 'torn']);
    record('repair', ['repair', 'torn']);
    record('reap', ['reap', 'build']);
    record('lock', ['lock', 'deploy', '--', process.execPath, '-e', '0']);
    record('compact', ['compact', 'events', '--keep', '2']);
    writeFileSync(join(dir, '.ledgerlock', 'state', 'doc.json'), '{"v":1}');
    const created = record('snapshot create', ['snapshot', 'create', '--label', 'one']);
    writeFileSync(join(dir, '.ledgerlock', 'state', 'doc.json'), '{"v":2}');
    record('snapshot list', ['snapshot', 'list']);
    record('snapshot diff', ['snapshot', 'diff']);
    record('snapshot verify', ['snapshot', 'verify']);
    record('snapshot restore', ['snapshot', 'restore', created.id]);
    record('snapshot gc', ['snapshot', 'gc', '--grace-ms', '0']);
    record('snapshot delete', ['snapshot', 'delete', created.id]);
    record('migrate', ['migrate']);
    record('relocate (where)', ['relocate']);
    record('relocate', ['relocate', join(dir, 'elsewhere')]);
    record('error', ['tail', 'missing']);
    return shapes;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const cli = process.argv[2] ?? new URL('../../dist/cli.js', import.meta.url).pathname;
  process.stdout.write(JSON.stringify(await collectShapes(cli), null, 2) + '\n');
}
