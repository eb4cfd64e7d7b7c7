import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync, readdirSync, existsSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { cli, tempDir } from './helpers.mjs';

function store(t) {
  const dir = tempDir(t, 'll-cli-snap-');
  mkdirSync(join(dir, '.ledgerlock', 'state'), { recursive: true });
  writeFileSync(join(dir, '.ledgerlock', 'state', 'a.json'), '{"a":1}\n');
  return dir;
}

test('snapshot create --json prints one document with the new id, and list shows it as current', (t) => {
  const dir = store(t);
  const created = cli(['snapshot', 'create', '--label', 'before upgrade', '--json'], { cwd: dir });
  assert.equal(created.code, 0, created.stderr);
  const doc = created.json();
  assert.equal(doc.ok, true);
  assert.equal(doc.files, 1);
  const list = cli(['snapshot', 'list', '--json'], { cwd: dir }).json();
  assert.deepEqual(list.snapshots.map((s) => [s.id, s.label, s.current]), [[doc.id, 'before upgrade', true]]);
});

test('snapshot create works from a subfolder of the workspace and captures --include globs', (t) => {
  const dir = store(t);
  mkdirSync(join(dir, 'cfg', 'sub'), { recursive: true });
  writeFileSync(join(dir, 'cfg', 'app.yaml'), 'x: 1\n');
  const r = cli(['snapshot', 'create', '--include', 'cfg/*.{yaml,yml},README.md', '--json'], { cwd: join(dir, 'cfg', 'sub') });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.json().manifest.files.map((f) => f.path), ['.ledgerlock/state/a.json', 'cfg/app.yaml']);
  assert.equal(existsSync(join(dir, 'cfg', 'sub', '.ledgerlock')), false, 'no second store is created in the subfolder');
});

test('snapshot diff and restore bring a changed file back, exit 0, and restore prints the backup id', (t) => {
  const dir = store(t);
  const id = cli(['snapshot', 'create', '--json'], { cwd: dir }).json().id;
  writeFileSync(join(dir, '.ledgerlock', 'state', 'a.json'), '{"a":"broken"}\n');
  const diff = cli(['snapshot', 'diff', id], { cwd: dir });
  assert.equal(diff.code, 0, diff.stderr);
  assert.match(diff.stdout, /M \.ledgerlock\/state\/a\.json/);
  const restore = cli(['snapshot', 'restore', id, '--json'], { cwd: dir });
  assert.equal(restore.code, 0, restore.stderr);
  assert.deepEqual(restore.json().written, ['.ledgerlock/state/a.json']);
  assert.ok(restore.json().backup);
  assert.equal(readFileSync(join(dir, '.ledgerlock', 'state', 'a.json'), 'utf8'), '{"a":1}\n');
  const tail = cli(['tail', 'events', '-n', '1', '--json'], { cwd: dir }).json();
  assert.equal(tail.events[0].type, 'SNAPSHOT_RESTORED');
});

test('snapshot verify exits 1 and names the blob when one is corrupt', (t) => {
  const dir = store(t);
  const created = cli(['snapshot', 'create', '--json'], { cwd: dir }).json();
  const hash = created.manifest.files[0].sha256;
  const blob = join(dir, '.ledgerlock', 'blobs', 'sha256', hash.slice(0, 2), hash.slice(2));
  const bytes = readFileSync(blob);
  bytes[1] ^= 0x10;
  writeFileSync(blob, bytes);
  const r = cli(['snapshot', 'verify', '--json'], { cwd: dir });
  assert.equal(r.code, 1);
  assert.deepEqual(r.json().problems.map((p) => [p.problem, p.path]), [['corrupt', blob]]);
  const restore = cli(['snapshot', 'restore', created.id], { cwd: dir });
  assert.equal(restore.code, 1);
  assert.match(restore.stderr, /E_BLOB_CORRUPT/);
});

test('bad input exits 2: unknown action, an id with "..", a glob leaving the workspace, a bad number', (t) => {
  const dir = store(t);
  for (const args of [['snapshot', 'frobnicate'], ['snapshot', 'restore', '../../x'], ['snapshot', 'create', '--include', '../*.json'], ['snapshot', 'gc', '--grace-ms', 'soon'], ['snapshot', 'restore']]) {
    const r = cli([...args, '--json'], { cwd: dir });
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.equal(r.json().ok, false);
  }
  assert.equal(cli(['snapshot', 'restore', 'no-such-snapshot'], { cwd: dir }).code, 2);
});

test('snapshot gc sweeps a deleted snapshot\'s blobs only past the grace period', (t) => {
  const dir = store(t);
  const id = cli(['snapshot', 'create', '--json'], { cwd: dir }).json().id;
  assert.equal(cli(['snapshot', 'delete', id], { cwd: dir }).code, 0);
  assert.equal(cli(['snapshot', 'gc', '--json'], { cwd: dir }).json().swept.length, 0, 'inside the default grace period');
  const r = cli(['snapshot', 'gc', '--grace-ms', '0', '--json'], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.json().swept.length, 1);
});

test('migrate upgrades an old store, and refuses a newer one with exit 2 without touching it', (t) => {
  const dir = store(t);
  writeFileSync(join(dir, '.ledgerlock', 'store.json'), JSON.stringify({ format: 'ledgerlock', version: 1, createdAt: '2025-01-01T00:00:00Z' }));
  const r = cli(['migrate', '--json'], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual([r.json().from, r.json().to], [1, 2]);
  const newer = JSON.stringify({ format: 'ledgerlock', version: 99, createdAt: '2030-01-01T00:00:00Z' });
  writeFileSync(join(dir, '.ledgerlock', 'store.json'), newer);
  const refused = cli(['migrate'], { cwd: dir });
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /E_STORE_TOO_NEW/);
  assert.equal(readFileSync(join(dir, '.ledgerlock', 'store.json'), 'utf8'), newer);
});

test('relocate moves the blobs, and the snapshots still verify from the new place', (t) => {
  const dir = store(t);
  cli(['snapshot', 'create'], { cwd: dir });
  const target = join(tempDir(t, 'll-cli-blobs-'), 'blobs');
  const r = cli(['relocate', target, '--remove-source', '--json'], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.json().verified, 1);
  assert.deepEqual(readdirSync(join(dir, '.ledgerlock', 'blobs', 'sha256')).flatMap((d) => readdirSync(join(dir, '.ledgerlock', 'blobs', 'sha256', d))), []);
  assert.equal(cli(['snapshot', 'verify'], { cwd: dir }).code, 0);
  assert.equal(cli(['relocate', '--json'], { cwd: dir }).json().root, target);
});

test('a moved workspace: its outside blob store is refused (exit 2, E_PATH_OUTSIDE_ROOT) until relocate --claim takes it back', (t) => {
  const dir = store(t);
  cli(['snapshot', 'create'], { cwd: dir });
  const target = join(tempDir(t, 'll-cli-blobs-'), 'blobs');
  assert.equal(cli(['relocate', target, '--remove-source'], { cwd: dir }).code, 0);
  const moved = `${dir}-moved`;
  renameSync(dir, moved);
  t.after(() => rmSync(moved, { recursive: true, force: true }));
  const refused = cli(['snapshot', 'verify'], { cwd: moved });
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(refused.stderr, /E_PATH_OUTSIDE_ROOT/);
  assert.equal(cli(['relocate', target, '--claim'], { cwd: moved }).code, 2, '--claim takes no TARGET');
  const claimed = cli(['relocate', '--claim', '--json'], { cwd: moved });
  assert.equal(claimed.code, 0, claimed.stderr);
  assert.equal(claimed.json().verified, 1);
  assert.equal(cli(['snapshot', 'verify'], { cwd: moved }).code, 0);
});

test('a store lock held by a live process makes snapshot create exit 3 after --timeout', async (t) => {
  const dir = store(t);
  const { cliSpawn } = await import('./helpers.mjs');
  const holder = cliSpawn(['lock', '.ledgerlock/locks/store.lock', '--', process.execPath, '-e', 'setTimeout(() => {}, 5000)'], { cwd: dir });
  t.after(() => holder.kill('SIGTERM')); // forwarded to the held command, so nothing outlives the test
  for (let i = 0; i < 100 && !existsSync(join(dir, '.ledgerlock', 'locks', 'store.lock')); i++) await new Promise((r) => setTimeout(r, 50));
  const r = cli(['snapshot', 'create', '--timeout', '300'], { cwd: dir });
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /E_LOCK_TIMEOUT/);
});
