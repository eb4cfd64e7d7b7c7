// Agent sessions kept outside the workspace (README.md, "Agent sessions"): Claude Code and Codex
// transcripts written by a real child process the way those tools write them
// (test/fixtures/session-writer.cjs), torn by SIGKILL, glued onto by the next append, zero-filled
// by a crash; each repaired without losing a complete record and then accepted by the tool's own
// rules. A session being written is never repaired. A hostile tool root stays bounded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { engine, exited, firstLine } from '../fixtures/lock-helpers.mjs';

const WRITER = new URL('../fixtures/session-writer.cjs', import.meta.url).pathname;
const opts = { telemetry: false };

function home(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'll-agent-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const workspace = path.join(dir, 'work', 'my_app.v2');
  fs.mkdirSync(workspace, { recursive: true });
  const claude = path.join(dir, '.claude');
  const project = path.join(claude, 'projects', engine.claudeProjectKey(workspace));
  fs.mkdirSync(project, { recursive: true });
  return { dir, workspace, claude, project, codex: path.join(dir, '.codex') };
}

function run(args) {
  return execFileSync(process.execPath, [WRITER, ...args], { encoding: 'utf8' }).trim();
}

function spawnWriter(t, args) {
  const child = spawn(process.execPath, [WRITER, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL'));
  return child;
}

/** Claude Code's own rules for a transcript: every line parses, and each parentUuid names a record in the file (or null), except the records truly lost. */
function claudeAccepts(file, lost = []) {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  assert.equal(lines.pop(), '', 'the file ends with a newline');
  const records = lines.map((l, i) => {
    try {
      return JSON.parse(l);
    } catch (err) {
      assert.fail(`line ${i + 1} does not parse: ${err.message}: ${JSON.stringify(l.slice(0, 80))}`);
    }
  });
  const uuids = new Set(records.map((r) => r.uuid));
  for (const r of records) {
    if (r.parentUuid === null || r.parentUuid === undefined) continue;
    assert.ok(uuids.has(r.parentUuid) || lost.includes(r.parentUuid), `the chain breaks at ${r.uuid}: parent ${r.parentUuid} is not in the file`);
  }
  return records;
}

/** A session torn by SIGKILL in the middle of entry `tornAt`, then resumed: the next append is glued onto the torn bytes. */
async function tornAndGlued(t, h, n, tornAt) {
  const file = path.join(h.project, '6b0f8f0e-2d1a-4c4e-9a55-0c2f1d0b9e11.jsonl');
  const child = spawnWriter(t, ['claude', file, h.workspace, String(n), String(tornAt)]);
  const torn = (await firstLine(child)).split(' ')[1];
  child.kill('SIGKILL');
  await exited(child);
  const before = fs.readFileSync(file);
  assert.notEqual(before[before.length - 1], 0x0a, 'the kill left a torn last entry');
  const lastWhole = `00000000-0000-4000-8000-${String(tornAt - 1).padStart(12, '0')}`;
  const glued = run(['claude-append', file, h.workspace, lastWhole]);
  return { file, torn, glued, tornAt, before };
}

test("a Claude Code session torn by SIGKILL with the resumed session's entry glued onto it: verify names it, one repair keeps the glued entry and quarantines only the torn bytes, and Claude Code's rules accept the file", async (t) => {
  const h = home(t);
  const s = await tornAndGlued(t, h, 12, 8);
  await engine.withinRoot(h.claude, async () => {
    const ledger = await engine.openLedger(s.file, opts);
    try {
      assert.equal(ledger.format, 'foreign');
      const report = await ledger.verify();
      assert.equal(report.profile, 'claude-code');
      assert.equal(report.health, 'torn', 'the damage is the last line');
      const [problem] = report.problems;
      assert.equal(problem.kind, 'glued-record');
      assert.equal(problem.line, 8);
      assert.match(problem.message, /torn Claude Code record .* glued/);
      assert.deepEqual(problem.salvage.cut, [{ offset: problem.offset, length: s.before.length - problem.offset }], 'the torn bytes, and only they, are cut');
      const r = await ledger.repair();
      assert.equal(r.repaired, true);
      assert.equal(r.salvaged.length, 1);
      assert.equal(r.salvaged[0].kept.length, 1);
      assert.match(r.salvaged[0].kept[0].summary, /^user: resumed after the crash/);
      const q = r.salvaged[0].cut[0];
      assert.deepEqual(fs.readFileSync(q.quarantine), s.before.subarray(q.offset), 'the quarantine holds exactly the torn bytes');
      assert.match(path.basename(q.quarantine), new RegExp(`@${q.offset}\\.`), 'named with its offset');
      assert.equal((await ledger.verify()).health, 'ok');
      assert.equal((await ledger.repair()).repaired, false, 'repairing twice is the same as once');
    } finally {
      await ledger.close();
    }
  });
  const records = claudeAccepts(s.file, [s.torn]);
  assert.equal(records.length, 8, 'entries 1..7 and the glued one');
  assert.deepEqual(
    records.slice(0, 7).map((r) => r.uuid),
    Array.from({ length: 7 }, (_, i) => `00000000-0000-4000-8000-${String(i + 1).padStart(12, '0')}`),
  );
  assert.equal(records[7].uuid, s.glued);
});

test('zero-filled bytes from a crash, mid-file and at the end, are named, moved to quarantine with their offsets, never taken for records; every complete entry stays', async (t) => {
  const h = home(t);
  const file = path.join(h.project, '0e7c7a38-1f6b-4d9f-8d8e-5b1d2c3a4f50.jsonl');
  run(['claude', file, h.workspace, '6']);
  const lines = fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .slice(0, 6)
    .map((l) => `${l}\n`);
  // ext4 after a crash: a 4 KiB block of zeros where a line was, a record with zero padding after it, and zeros at the end.
  const zeros = Buffer.alloc(4096);
  const bytes = Buffer.concat([
    Buffer.from(lines[0] + lines[1]),
    zeros,
    Buffer.from('\n' + lines[2]),
    Buffer.from(lines[3].trimEnd()),
    Buffer.alloc(700),
    Buffer.from('\n' + lines[4] + lines[5]),
    Buffer.alloc(1024),
  ]);
  fs.writeFileSync(file, bytes);
  await engine.withinRoot(h.claude, async () => {
    const ledger = await engine.openLedger(file, opts);
    try {
      const report = await ledger.verify();
      assert.deepEqual(
        report.problems.map((p) => p.kind),
        ['zero-filled', 'zero-filled', 'torn-tail'],
      );
      assert.match(report.problems[0].message, /4096 zero-filled bytes from a crash at offset \d+/);
      assert.match(report.problems[1].message, /zero-filled bytes from a crash .* beside a complete Claude Code record/);
      assert.equal(report.events, 5, 'a zero run is never counted as a record');
      const r = await ledger.repair();
      assert.equal(r.records, 6);
      const cuts = r.salvaged.flatMap((l) => l.cut);
      for (const c of cuts) assert.ok(fs.readFileSync(c.quarantine).every((b) => b === 0) && fs.readFileSync(c.quarantine).length === c.length);
      assert.deepEqual(fs.readFileSync(r.quarantine), Buffer.alloc(1024), 'the zero tail kept byte for byte');
      assert.equal((await ledger.verify()).health, 'ok');
    } finally {
      await ledger.close();
    }
  });
  assert.equal(fs.readFileSync(file, 'utf8'), lines.join(''), 'exactly the six complete entries, in order');
  claudeAccepts(file);
});

test('a line that is JSON but no Claude Code entry, and an entry repeated by a retried append, are reported and not counted; --remove-corrupt keeps them in quarantine', async (t) => {
  const h = home(t);
  const file = path.join(h.project, '1a2b3c4d-0000-4000-8000-000000000001.jsonl');
  run(['claude', file, h.workspace, '4']);
  const lines = fs.readFileSync(file, 'utf8').split('\n').slice(0, 4);
  fs.writeFileSync(file, [lines[0], lines[1], lines[1], '{"type":"text","text":"a content block alone"}', lines[2], lines[3], ''].join('\n'));
  await engine.withinRoot(h.claude, async () => {
    const ledger = await engine.openLedger(file, opts);
    try {
      const report = await ledger.verify();
      assert.deepEqual(
        report.problems.map((p) => [p.kind, p.line]),
        [
          ['duplicate-record', 3],
          ['not-a-record', 4],
        ],
      );
      assert.match(report.problems[0].message, /repeats the Claude Code record of line 2 .*byte for byte/);
      assert.equal(report.events, 4);
      for (const p of [...report.problems].reverse()) await ledger.quarantineRecord(p.offset);
      assert.equal((await ledger.verify()).health, 'ok');
    } finally {
      await ledger.close();
    }
  });
  assert.equal(fs.readFileSync(file, 'utf8'), lines.join('\n') + '\n');
});

test('a session being written is never repaired: a live Claude Code session marker, or a Codex writer holding its rollout open, refuses with E_LOCK_LIVE_HOLDER and nothing is cut', async (t) => {
  const h = home(t);
  const s = await tornAndGlued(t, h, 6, 4);
  const marker = spawnWriter(t, ['marker', path.join(h.claude, 'sessions'), path.basename(s.file, '.jsonl'), h.workspace]);
  await firstLine(marker);
  const bytes = fs.readFileSync(s.file);
  await engine.withinRoot(h.claude, async () => {
    const ledger = await engine.openLedger(s.file, opts);
    try {
      await assert.rejects(
        ledger.repair(),
        (err) => err.code === 'E_LOCK_LIVE_HOLDER' && err.details.writers[0].pid === marker.pid && err.details.writers[0].how === 'session-marker',
      );
      await assert.rejects(ledger.quarantineRecord(0), { code: 'E_LOCK_LIVE_HOLDER' });
    } finally {
      await ledger.close();
    }
  });
  assert.deepEqual(fs.readFileSync(s.file), bytes, 'nothing cut while the session runs');
  marker.kill('SIGKILL');
  await exited(marker);
  const ledger = await engine.openLedger(s.file, opts);
  try {
    assert.equal((await ledger.repair()).repaired, true, 'once the session has ended, the repair runs');
  } finally {
    await ledger.close();
  }
  claudeAccepts(s.file, [s.torn]);

  if (process.platform !== 'linux') return;
  const day = path.join(h.codex, 'sessions', '2026', '01', '01');
  fs.mkdirSync(day, { recursive: true });
  const rollout = path.join(day, 'rollout-2026-01-01T00-00-00-0199a213-81c0-7800-8aa1-bbab2a035a53.jsonl');
  const writer = spawnWriter(t, ['codex', rollout, h.workspace, '3', 'hold']);
  await firstLine(writer);
  fs.appendFileSync(rollout, '{"timestamp":"2026-01-01T00:00:09.000Z","type":"response_item","payload":{"type":"mess');
  const held = fs.readFileSync(rollout);
  const codex = await engine.openLedger(rollout, opts);
  try {
    assert.equal((await codex.verify()).profile, 'codex');
    await assert.rejects(
      codex.repair(),
      (err) => err.code === 'E_LOCK_LIVE_HOLDER' && err.details.writers.some((w) => w.pid === writer.pid && w.how === 'open'),
    );
  } finally {
    await codex.close();
  }
  assert.deepEqual(fs.readFileSync(rollout), held);
});

test('a Codex rollout torn mid-item with the next item glued on: the glued item is kept and the rollout parses line by line as RolloutLine', async (t) => {
  const h = home(t);
  const day = path.join(h.codex, 'sessions', '2026', '01', '02');
  fs.mkdirSync(day, { recursive: true });
  const rollout = path.join(day, 'rollout-2026-01-02T00-00-00-0199a213-81c0-7800-8aa1-bbab2a035a54.jsonl');
  run(['codex', rollout, h.workspace, '4']);
  const whole = fs.readFileSync(rollout, 'utf8');
  const next = '{"timestamp":"2026-01-02T00:00:09.000Z","type":"event_msg","payload":{"type":"user_message","message":"again"}}\n';
  fs.appendFileSync(rollout, '{"timestamp":"2026-01-02T00:00:08.000Z","type":"response_item","payload":{"type":"message","ro' + next);
  const ledger = await engine.openLedger(rollout, opts);
  try {
    const report = await ledger.verify();
    assert.deepEqual(
      report.problems.map((p) => p.kind),
      ['glued-record'],
    );
    const r = await ledger.repair();
    assert.match(r.salvaged[0].kept[0].summary, /^event_msg.user_message: again/);
  } finally {
    await ledger.close();
  }
  assert.equal(fs.readFileSync(rollout, 'utf8'), whole + next);
  for (const l of fs.readFileSync(rollout, 'utf8').trimEnd().split('\n')) {
    const v = JSON.parse(l);
    assert.ok(typeof v.timestamp === 'string' && typeof v.type === 'string' && 'payload' in v);
  }
});

test("a workspace's sessions are found by encoding its path forward and confirmed by the cwd in their records; a folder whose key collides is not listed", async (t) => {
  const h = home(t);
  const mine = path.join(h.project, '11111111-1111-4111-8111-111111111111.jsonl');
  run(['claude', mine, h.workspace, '3']);
  const other = path.join(h.project, '22222222-2222-4222-8222-222222222222.jsonl');
  run(['claude', other, h.workspace.replace('my_app.v2', 'my-app-v2'), '3']); // same key, another folder
  const s = await tornAndGlued(t, h, 4, 3);
  const day = path.join(h.codex, 'sessions', '2026', '01', '03');
  fs.mkdirSync(day, { recursive: true });
  run(['codex', path.join(day, 'rollout-2026-01-03T00-00-00-a.jsonl'), h.workspace, '2']);
  run(['codex', path.join(day, 'rollout-2026-01-03T00-00-00-b.jsonl'), '/somewhere/else', '2']);
  fs.mkdirSync(path.join(h.codex, 'accounts'), { recursive: true });
  fs.writeFileSync(path.join(h.codex, 'accounts', 'registry.json.lock'), JSON.stringify({ pid: 2 ** 22 + 12345, at: Date.now() - 120_000 }));
  const report = await engine.findAgentSessions(h.workspace, [
    { tool: 'claude-code', root: h.claude },
    { tool: 'codex', root: h.codex },
    { tool: 'authmux', root: path.join(h.codex, 'accounts') },
  ]);
  const byPath = new Map(report.sessions.map((x) => [x.path, x]));
  assert.deepEqual([...byPath.keys()].sort(), [mine, s.file, path.join(day, 'rollout-2026-01-03T00-00-00-a.jsonl')].sort());
  assert.equal(byPath.get(mine).health, 'ok');
  assert.equal(byPath.get(mine).records, 3);
  assert.equal(byPath.get(mine).cwd, h.workspace);
  assert.equal(byPath.get(s.file).health, 'torn');
  assert.equal(byPath.get(s.file).problems[0].kind, 'glued-record');
  assert.deepEqual(byPath.get(mine).writing, []);
  assert.equal(report.locks.length, 1);
  assert.equal(report.locks[0].profile, 'authmux');
  assert.ok(!fs.existsSync(`${mine}.quarantine`) && !fs.existsSync(`${mine}.lock`), 'listing writes nothing');
});

test('a hostile tool root stays bounded: a session linked out of the root is not read, a FIFO session never blocks, a 2 GB sparse transcript is judged by its end', async (t) => {
  const h = home(t);
  const outside = path.join(h.dir, 'outside.jsonl');
  run(['claude', outside, h.workspace, '2']);
  fs.symlinkSync(outside, path.join(h.project, '33333333-3333-4333-8333-333333333333.jsonl'));
  spawnSync('mkfifo', [path.join(h.project, '44444444-4444-4444-8444-444444444444.jsonl')]);
  const big = path.join(h.project, '55555555-5555-4555-8555-555555555555.jsonl');
  run(['claude', big, h.workspace, '2']);
  fs.truncateSync(big, 2 * 1024 ** 3);
  const started = Date.now();
  const report = await engine.findAgentSessions(h.workspace, [{ tool: 'claude-code', root: h.claude }]);
  const took = Date.now() - started;
  const byName = new Map(report.sessions.map((x) => [path.basename(x.path).slice(0, 8), x]));
  assert.equal(byName.get('33333333').error.code, 'E_PATH_OUTSIDE_ROOT');
  if (byName.has('44444444')) assert.equal(byName.get('44444444').error.code, 'E_NOT_REGULAR_FILE');
  const sparse = byName.get('55555555');
  assert.equal(sparse.checked, 'tail');
  assert.equal(sparse.bytes, 2 * 1024 ** 3);
  assert.notEqual(sparse.health, 'ok');
  assert.ok(took < 10_000, `listed in ${took} ms`);
  // A link out of the root as the project folder itself: refused, never listed through.
  fs.rmSync(h.project, { recursive: true });
  fs.mkdirSync(path.join(h.dir, 'elsewhere'));
  fs.symlinkSync(path.join(h.dir, 'elsewhere'), h.project);
  const linked = await engine.findAgentSessions(h.workspace, [{ tool: 'claude-code', root: h.claude }]);
  assert.equal(linked.roots[0].error.code, 'E_PATH_OUTSIDE_ROOT');
});
