// The language server on hostile workspaces, driven over stdio as the editor drives it
// (dist/server.js --stdio, LSP JSON-RPC): it never writes outside the workspace, never hangs on
// a special file, validates its settings against the manifest, and keeps lock verdicts current
// without overlapping passes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cli, tempDir } from '../cli/helpers.mjs';
import { fileUri, startServer } from '../fixtures/lsp-client.mjs';

const manifest = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));

function workspaceWithLedger(t) {
  const base = tempDir(t, 'll-server-');
  const ws = path.join(base, 'ws');
  const outside = path.join(base, 'outside');
  fs.mkdirSync(ws);
  fs.mkdirSync(outside);
  assert.equal(cli(['append', 'events', '--durability', 'none'], { cwd: ws, input: '{"n":1}\n{"n":2}\n' }).code, 0);
  return { ws, outside, ledgers: path.join(ws, '.ledgerlock', 'ledgers') };
}

const scanned = (state) => state.folders.length > 0 && state.folders.every((f) => !f.scanning);

test('server: a ledger symlinked outside is listed as linking outside, and its repair changes nothing there', async (t) => {
  const h = workspaceWithLedger(t);
  const victim = path.join(h.outside, 'passwd');
  fs.writeFileSync(victim, 'root:x:0:0:root:/root:/bin/bash\n'.repeat(40));
  const link = path.join(h.ledgers, 'evil.jsonl');
  fs.symlinkSync(victim, link);
  const server = await startServer(t, { folders: [h.ws], trusted: true });
  const state = await server.waitForState(scanned);
  const item = state.folders[0].ledgers.find((l) => l.path === link);
  assert.ok(item, 'the link is listed');
  assert.match(item.error, /E_PATH_OUTSIDE_ROOT.*links outside the workspace/);
  const result = await server.request('ledgerlock/repairTail', { ledger: link });
  assert.equal(result.ok, false);
  assert.equal(result.code, 'E_PATH_OUTSIDE_ROOT');
  assert.equal(fs.readFileSync(victim, 'utf8'), 'root:x:0:0:root:/root:/bin/bash\n'.repeat(40));
});

test('server: store.json a FIFO does not stall the scan, and requests keep being answered, in Restricted Mode too', async (t) => {
  for (const trusted of [false, true]) {
    const h = workspaceWithLedger(t);
    const storeJson = path.join(h.ws, '.ledgerlock', 'store.json');
    fs.rmSync(storeJson);
    execFileSync('mkfifo', [storeJson]);
    const server = await startServer(t, { folders: [h.ws], trusted });
    const state = await server.waitForState(scanned);
    const ledger = state.folders[0].ledgers.find((l) => l.path.endsWith('events.jsonl'));
    assert.match(ledger.error, /E_NOT_REGULAR_FILE/);
    for (let i = 0; i < 6; i++) {
      const again = await server.request('ledgerlock/refresh', null, 20_000);
      assert.equal(again.folders.length, 1);
    }
    await server.stop();
  }
});

test('server: lock globs of "**" do not make ordinary folders locks, and reaping a folder is refused', async (t) => {
  const h = workspaceWithLedger(t);
  const src = path.join(h.ws, 'src');
  fs.mkdirSync(src);
  fs.writeFileSync(path.join(src, 'main.ts'), 'export {};\n');
  const old = new Date(Date.now() - 3_600_000);
  fs.utimesSync(src, old, old);
  const lockDir = path.join(h.ws, 'job.lock');
  fs.mkdirSync(lockDir);
  fs.utimesSync(lockDir, old, old);
  const server = await startServer(t, { folders: [h.ws], trusted: true, settings: { lockGlobs: ['**'] } });
  const state = await server.waitForState(scanned);
  const locks = state.folders[0].locks.map((l) => l.path);
  assert.ok(!locks.includes(src), `src is not a lock: ${locks.join(', ')}`);
  assert.ok(locks.includes(lockDir), 'an empty mkdir-style lock still is one');
  const result = await server.request('ledgerlock/reapLock', { lock: src });
  assert.equal(result.ok, false);
  assert.equal(result.code, 'E_NOT_A_LOCK');
  assert.ok(fs.existsSync(path.join(src, 'main.ts')));
});

test('server: every numeric setting is held to the manifest bounds; out of bounds uses the default and says so', async (t) => {
  const h = workspaceWithLedger(t);
  const props = manifest.contributes.configuration.properties;
  const stale = props['ledgerlock.staleWindowSeconds'];
  assert.equal(stale.minimum, 1);
  const lockDir = path.join(h.ws, 'fresh.lock');
  fs.mkdirSync(lockDir);
  const settings = {
    staleWindowSeconds: 0.001,
    contentionThresholdSeconds: props['ledgerlock.contentionThresholdSeconds'].maximum + 1,
    lockGlobs: Array.from({ length: props['ledgerlock.lockGlobs'].maxItems + 1 }, () => '**/*.lock'),
  };
  const server = await startServer(t, { folders: [h.ws], trusted: true, settings });
  const state = await server.waitForState(scanned);
  const lock = state.folders[0].locks.find((l) => l.path === lockDir);
  assert.ok(lock, 'the default lock globs are used');
  assert.equal(lock.reapable, false, 'a fresh directory lock is not orphaned with the default 30 s window');
  const log = server.log.join('\n');
  for (const key of ['staleWindowSeconds', 'contentionThresholdSeconds', 'lockGlobs']) assert.match(log, new RegExp(`ledgerlock\\.${key} .* out of bounds`));
});

test('the settings that decide what is a lock or when it is stale are restricted in untrusted workspaces', () => {
  const restricted = manifest.capabilities.untrustedWorkspaces.restrictedConfigurations;
  for (const key of ['ledgerlock.lockGlobs', 'ledgerlock.staleWindowSeconds', 'ledgerlock.ledgerGlobs']) assert.ok(restricted.includes(key), key);
});

test('server: compact with keep 0 is refused', async (t) => {
  const h = workspaceWithLedger(t);
  const server = await startServer(t, { folders: [h.ws], trusted: true });
  await server.waitForState(scanned);
  const ledger = path.join(h.ledgers, 'events.jsonl');
  const result = await server.request('ledgerlock/compactLedger', { ledger, keep: 0 });
  assert.equal(result.ok, false);
  assert.equal(result.code, 'E_BAD_OPTION');
  assert.equal(cli(['verify', 'events', '--json'], { cwd: h.ws }).json().events, 2);
});

test('server: a destructive request for a path outside every workspace folder is refused', async (t) => {
  const h = workspaceWithLedger(t);
  const other = tempDir(t, 'll-elsewhere-');
  assert.equal(cli(['append', 'events', '--data', '1'], { cwd: other }).code, 0);
  const server = await startServer(t, { folders: [h.ws], trusted: true });
  await server.waitForState(scanned);
  const result = await server.request('ledgerlock/compactLedger', { ledger: path.join(other, '.ledgerlock', 'ledgers', 'events.jsonl'), keep: 1 });
  assert.equal(result.ok, false);
  assert.equal(result.code, 'E_PATH_OUTSIDE_ROOT');
});

test('server: a killed holder is shown stale without a file event', async (t) => {
  const h = workspaceWithLedger(t);
  const holder = spawn(process.execPath, [new URL('../../dist/cli.js', import.meta.url).pathname, 'lock', 'build', '--', 'sleep', '600'], { cwd: h.ws, stdio: 'ignore', detached: true });
  const killGroup = () => { try { process.kill(-holder.pid, 'SIGKILL'); } catch { /* gone */ } };
  t.after(killGroup);
  const lockPath = path.join(h.ws, '.ledgerlock', 'locks', 'build.lock');
  for (let i = 0; i < 200 && !fs.existsSync(lockPath); i++) await new Promise((r) => setTimeout(r, 50));
  const server = await startServer(t, { folders: [h.ws], trusted: true });
  await server.waitForState((s) => s.folders[0]?.locks.some((l) => l.path === lockPath && l.state === 'held'));
  killGroup(); // the holder and its `sleep`
  const state = await server.waitForState((s) => s.folders[0]?.locks.some((l) => l.path === lockPath && l.state === 'stale'), 30_000);
  assert.ok(state.folders[0].locks.find((l) => l.path === lockPath).reapable);
});

test('server: a folder with more locks than it lists says where it stopped counting', { skip: os.cpus().length < 2 ? 'too slow on one core' : false }, async (t) => {
  const base = tempDir(t, 'll-many-');
  const dir = path.join(base, 'locks');
  fs.mkdirSync(dir);
  const cap = 20_000;
  for (let i = 0; i <= cap; i++) fs.writeFileSync(path.join(dir, `l${i}.lock`), '');
  const server = await startServer(t, { folders: [base], trusted: false });
  const state = await server.waitForState(scanned, 180_000);
  const folder = state.folders[0];
  assert.equal(folder.truncated, true);
  assert.equal(folder.locks.length, cap);
  assert.match(folder.limit, /stopped counting at 20,000 locks/);
});
