// The CLI on agent sessions outside the workspace (README.md, "Agent sessions"): `sessions`
// under a named tool root, `verify`/`repair` of a session file only under a root named, and
// foreign files told in lines and records, never ids.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { cli } from './helpers.mjs';

const engine = createRequire(import.meta.url)('../../dist/engine.js');
const WRITER = new URL('../fixtures/session-writer.cjs', import.meta.url).pathname;

test("sessions lists the workspace's Claude Code session with its damage; verify and repair take it only under --tool-root, in lines and records", (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'll-cli-agent-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const workspace = path.join(dir, 'app');
  fs.mkdirSync(workspace);
  const claude = path.join(dir, '.claude');
  const project = path.join(claude, 'projects', engine.claudeProjectKey(workspace));
  fs.mkdirSync(project, { recursive: true });
  const file = path.join(project, '6b0f8f0e-2d1a-4c4e-9a55-0c2f1d0b9e11.jsonl');
  execFileSync(process.execPath, [WRITER, 'claude', file, workspace, '4']);
  const lines = fs.readFileSync(file, 'utf8');
  fs.writeFileSync(file, lines + lines.split('\n')[3].slice(0, 100));
  execFileSync(process.execPath, [WRITER, 'claude-append', file, workspace, '00000000-0000-4000-8000-000000000004']);

  const listed = cli(['sessions', '--tool-root', `claude-code=${claude}`, '--tool-root', `codex=${path.join(dir, '.codex')}`, '--json'], { cwd: workspace });
  assert.equal(listed.code, 1);
  const doc = JSON.parse(listed.stdout);
  assert.equal(doc.sessions.length, 1);
  assert.equal(doc.sessions[0].problems[0].kind, 'glued-record');
  assert.deepEqual(
    doc.roots.map((r) => [r.tool, r.exists]),
    [
      ['claude-code', true],
      ['codex', false],
    ],
  );

  const outside = cli(['verify', path.join(workspace, 'x.jsonl'), '--tool-root', `claude-code=${claude}`], { cwd: workspace });
  assert.equal(outside.code, 2);
  assert.match(outside.stderr, /E_PATH_OUTSIDE_ROOT/);

  const verified = cli(['verify', file, '--tool-root', `claude-code=${claude}`], { cwd: workspace });
  assert.equal(verified.code, 1);
  assert.match(verified.stdout, /foreign: Claude Code session\), 4 records/);
  assert.doesNotMatch(verified.stdout, /\bids?\b/);

  const repaired = cli(['repair', file, '--tool-root', `claude-code=${claude}`], { cwd: workspace });
  assert.equal(repaired.code, 0, repaired.stderr);
  assert.match(repaired.stdout, /kept the record in place: user: resumed after the crash/);
  assert.match(repaired.stdout, /keeps 5 complete records, the last on line 5/);
  assert.doesNotMatch(repaired.stdout, /last id/);
  assert.equal(cli(['verify', file, '--tool-root', `claude-code=${claude}`], { cwd: workspace }).code, 0);
});
