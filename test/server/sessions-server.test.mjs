// The language server's agent sessions (README "Agent sessions"), driven over stdio as the editor
// drives it: tool roots reach it only as the user's value the extension sends
// (ledgerlock/toolRoots), never through workspace/configuration, which carries workspace and folder
// settings; a listed session is paged confined to its root, and repaired only on request, never
// while a process writes it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { tempDir } from '../cli/helpers.mjs';
import { startServer } from '../fixtures/lsp-client.mjs';

const require = createRequire(import.meta.url);
const { claudeProjectKey } = require('../../dist/engine.js');

function entry(cwd, i, uuid, parentUuid) {
  const type = i % 2 ? 'user' : 'assistant';
  const message = type === 'user' ? { role: 'user', content: `step ${i}` } : { role: 'assistant', content: [{ type: 'text', text: `done ${i}` }] };
  return {
    parentUuid,
    isSidechain: false,
    userType: 'external',
    cwd,
    sessionId: 's1',
    version: '1.0.44',
    type,
    message,
    uuid,
    timestamp: new Date(Date.UTC(2025, 5, 1, 12, 0, i)).toISOString(),
  };
}

/** A workspace and a Claude Code root holding its transcript: line 4 a torn record with the next one (u4) glued on. */
function setup(t) {
  const base = tempDir(t, 'll-sessions-server-');
  fs.mkdirSync(path.join(base, 'ws'));
  const ws = fs.realpathSync(path.join(base, 'ws'));
  const root = path.join(base, 'claude');
  const dir = path.join(root, 'projects', claudeProjectKey(ws));
  fs.mkdirSync(dir, { recursive: true });
  const torn = JSON.stringify(entry(ws, 4, 't4', 'u3'));
  const lines = [1, 2, 3].map((i) => JSON.stringify(entry(ws, i, `u${i}`, i > 1 ? `u${i - 1}` : null)));
  lines.push(torn.slice(0, 60) + JSON.stringify(entry(ws, 4, 'u4', 't4')));
  lines.push(JSON.stringify(entry(ws, 5, 'u5', 'u4')));
  const session = path.join(dir, 'session-one.jsonl');
  fs.writeFileSync(session, `${lines.join('\n')}\n`);
  return { ws, root, session, spec: `claude-code=${root}` };
}

const sessionsOf = (state) => state.folders.flatMap((f) => f.sessions);

test('server: a tool root in workspace settings is never searched; the user value the extension sends is', async (t) => {
  const h = setup(t);
  // workspace/configuration answers what workspace and folder settings say: here, a tool root.
  const server = await startServer(t, { folders: [h.ws], trusted: true, settings: { toolRoots: [h.spec] } });
  const before = await server.request('ledgerlock/sessionsList', null);
  assert.deepEqual(before.roots, [], 'no tool root from workspace/configuration');
  assert.equal(sessionsOf(before).length, 0);
  server.notify('ledgerlock/toolRoots', { roots: [h.spec] });
  let after;
  for (let i = 0; i < 50 && !(after && sessionsOf(after).length > 0); i++) {
    await new Promise((r) => setTimeout(r, 100));
    after = await server.request('ledgerlock/sessionsList', null);
  }
  const [s] = sessionsOf(after);
  assert.equal(s?.path, h.session);
  assert.equal(s.health, 'corrupt');
  assert.ok(
    s.problems.some((p) => p.kind === 'glued-record'),
    JSON.stringify(s.problems),
  );
});

test('server: a listed session pages its records confined to its root, and repair keeps the glued record', async (t) => {
  const h = setup(t);
  const server = await startServer(t, { folders: [h.ws], trusted: true });
  server.notify('ledgerlock/toolRoots', { roots: [h.spec, 'no-such-tool=/tmp'] });
  const state = await server.request('ledgerlock/sessionsList', null);
  assert.equal(sessionsOf(state).length, 1);
  assert.match(state.rejected.join('\n'), /no-such-tool/);
  const page = await server.request('ledgerlock/eventsPage', { ledger: h.session, cursor: null, limit: 2 });
  assert.equal(page.events[0]?.line, 5, 'newest first, told by line');
  const elsewhere = await server.request('ledgerlock/repairSession', { session: path.join(h.root, 'projects', 'other.jsonl') });
  assert.equal(elsewhere.code, 'E_NOT_FOUND');
  const result = await server.request('ledgerlock/repairSession', { session: h.session });
  assert.equal(result.ok, true, result.message);
  const records = fs
    .readFileSync(h.session, 'utf8')
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.deepEqual(
    records.map((r) => r.uuid),
    ['u1', 'u2', 'u3', 'u4', 'u5'],
  );
  assert.ok(result.kept.length === 1, result.message);
  const quarantine = fs.readdirSync(`${h.session}.quarantine`);
  assert.equal(quarantine.length, 1);
  const repaired = await server.request('ledgerlock/eventsPage', { ledger: h.session, cursor: null, limit: 2 });
  assert.deepEqual(
    repaired.events.map((e) => e.line),
    [5, 4],
    'the glued record is a record of its own line now',
  );
});

test('server: a session its tool has open is not repaired, and a restricted workspace repairs nothing', async (t) => {
  const h = setup(t);
  const before = fs.readFileSync(h.session);
  const writer = spawn(
    process.execPath,
    ['-e', `require('fs').openSync(${JSON.stringify(h.session)}, 'a'); console.log('open'); setTimeout(() => {}, 60000)`],
    {
      stdio: ['ignore', 'pipe', 'ignore'],
    },
  );
  t.after(() => writer.kill('SIGKILL'));
  await new Promise((r) => writer.stdout.once('data', r));
  const server = await startServer(t, { folders: [h.ws], trusted: true });
  server.notify('ledgerlock/toolRoots', { roots: [h.spec] });
  const state = await server.request('ledgerlock/sessionsList', null);
  const [s] = sessionsOf(state);
  assert.ok(
    s.writing.some((w) => w.includes(String(writer.pid))),
    JSON.stringify(s.writing),
  );
  const refused = await server.request('ledgerlock/repairSession', { session: h.session });
  assert.equal(refused.ok, false);
  assert.equal(refused.code, 'E_LOCK_LIVE_HOLDER');
  assert.deepEqual(fs.readFileSync(h.session), before, 'nothing cut');

  const restricted = await startServer(t, { folders: [h.ws], trusted: false });
  restricted.notify('ledgerlock/toolRoots', { roots: [h.spec] });
  await restricted.request('ledgerlock/sessionsList', null);
  const untrusted = await restricted.request('ledgerlock/repairSession', { session: h.session });
  assert.equal(untrusted.code, 'E_UNTRUSTED');
  assert.deepEqual(fs.readFileSync(h.session), before);
});
