// Records a scenario in a child process (so every pid it leaves in a lock file is dead), builds
// its crash states, and runs the real recovery path on each one with the normal file system.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { FileTree } from './model.mjs';
import { acksBefore, buildTree, durableBy, generateStates, parse, pendingAt, describe } from './crash-states.mjs';
import { scenarios } from './scenarios/index.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
export const engine = createRequire(import.meta.url)(path.join(here, '..', '..', 'dist', 'engine.js'));

export function findScenario(name) {
  const s = scenarios.find((x) => x.name === name);
  if (!s) throw new Error(`no crash scenario named ${name}; known: ${scenarios.map((x) => x.name).join(', ')}`);
  return s;
}

/** Scenarios whose engine API has landed (a missing export means the protocol is not there yet). */
export function availableScenarios(filter) {
  return scenarios
    .filter((s) => !filter || s.name.includes(filter) || s.protocol.includes(filter))
    .map((s) => ({ scenario: s, missing: (s.requires ?? []).filter((name) => typeof engine[name] !== 'function') }));
}

/** Runs the scenario's setup + recorded run in a child process and loads the recording. */
export function recordScenario(name, { omitBarrier, ackOnAnyFlush } = {}) {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ledgerlock-crash-rec-')), 'recording.json');
  try {
    const env = { ...process.env };
    if (omitBarrier) env.LEDGERLOCK_CRASH_OMIT_BARRIER = omitBarrier;
    if (ackOnAnyFlush) env.LEDGERLOCK_CRASH_ACK_ON_ANY_FLUSH = '1';
    const child = spawnSync(process.execPath, [path.join(here, 'record.mjs'), name, out], { encoding: 'utf8', timeout: 120_000, env });
    if (child.status !== 0) throw new Error(`recording ${name} failed (exit ${child.status ?? child.signal}):\n${child.stderr}${child.stdout}`);
    const raw = JSON.parse(fs.readFileSync(out, 'utf8'));
    return {
      ...raw,
      snapshot: FileTree.fromJSON(raw.snapshot),
      ops: raw.ops.map((op) => (op.bytes === undefined ? op : { ...op, bytes: Buffer.from(op.bytes, 'base64') })),
    };
  } finally {
    fs.rmSync(path.dirname(out), { recursive: true, force: true });
  }
}

const RECOVERY_DEADLINE_MS = 20_000;

/** Materialises one state and runs the scenario's recovery checks on it. Returns violation messages. */
export async function checkState(scenario, recording, state, { keep = false } = {}) {
  // Same absolute path as the recorded run: stores keep absolute paths (blobs.json), so a state
  // elsewhere would be a different state. The recording removed it; each state recreates it.
  const dir = recording.root;
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir);
  let violations;
  try {
    buildTree(recording.snapshot, recording.ops, state).materialise(dir);
    const ctx = {
      engine,
      state,
      acks: acksBefore(recording.ops, state.k),
      allAcks: acksBefore(recording.ops, recording.ops.length),
      recording,
    };
    let timer;
    const deadline = new Promise((resolve) => {
      timer = setTimeout(
        () => resolve([`recovery did not finish within ${RECOVERY_DEADLINE_MS / 1000} s (a lock that blocks forever?)`]),
        RECOVERY_DEADLINE_MS,
      );
    });
    violations = await Promise.race([
      Promise.resolve()
        .then(async () => [...((await scenario.check(dir, ctx)) ?? []), ...(await telemetryReadable(dir))])
        .catch((err) => [`recovery threw ${err?.code ?? ''} ${err?.stack ?? err}`.trim()]),
      deadline,
    ]);
    clearTimeout(timer);
  } finally {
    if (!keep) fs.rmSync(dir, { recursive: true, force: true });
  }
  return { violations, dir: keep ? dir : undefined };
}

/**
 * Every scenario also leaves the store's own recovery log behind: a crash may tear its tail
 * (the next append repairs it) but must never leave damage in its middle.
 */
async function telemetryReadable(root) {
  const file = path.join(root, '.ledgerlock', 'telemetry.jsonl');
  if (!fs.existsSync(file) || typeof engine.openLedger !== 'function') return [];
  const ledger = await engine.openLedger(file, { telemetry: false, create: false, lockTimeoutMs: 3000 });
  try {
    const report = await ledger.verify();
    return report.health === 'corrupt' ? [`telemetry.jsonl is corrupt after recovery: ${report.problems.map((p) => p.message).join('; ')}`] : [];
  } finally {
    await ledger.close();
  }
}

/** Explores one scenario: records it, builds up to `maxStates` states, checks each one. */
export async function exploreScenario(scenario, { seed = 1, maxStates = 1000, deep = false, onState, omitBarrier, ackOnAnyFlush } = {}) {
  const recording = recordScenario(scenario.name, { omitBarrier, ackOnAnyFlush });
  const { states, candidates } = generateStates(recording.snapshot, recording.ops, { seed, maxStates, deep });
  const failures = [];
  for (const state of states) {
    const { violations } = await checkState(scenario, recording, state);
    if (violations.length) failures.push({ id: `${scenario.name}:${state.id}`, seed, state, violations, explain: explainState(recording, state) });
    onState?.(state, violations);
  }
  return { scenario: scenario.name, protocol: scenario.protocol, ops: recording.ops.length, candidates, explored: states.length, failures, recording };
}

/** Which ops a state kept, dropped, tore or never reached, for a person reading a failure. */
export function explainState(recording, state) {
  const { ops } = recording;
  const by = durableBy(ops);
  const pending = new Set(pendingAt(ops, by, state.k));
  const dropped = new Set(state.drop);
  return ops.map((op, j) => {
    let fate;
    if (j >= state.k) fate = 'not reached';
    else if (dropped.has(j)) fate = 'DROPPED';
    else if (state.tear?.op === j)
      fate = `TORN (${state.tear.granularity}-byte pieces ${pieceList(state.tear.pieces)} kept${state.tear.zeroFill ? ', tail zero-filled' : ''})`;
    else if (op.kind === 'ack' || op.kind === 'fsync' || op.kind === 'syncdir') fate = '';
    else fate = pending.has(j) ? 'kept (not yet durable)' : 'kept (durable)';
    return `${String(j).padStart(4)} ${opLine(op).padEnd(72)} ${fate}`;
  });
}

function pieceList(pieces) {
  if (pieces.length === 0) return 'none';
  const contiguous = pieces.every((p, i) => p === pieces[0] + i);
  return contiguous ? `${pieces[0]}..${pieces.at(-1)}` : pieces.join(',');
}

export function opLine(op) {
  switch (op.kind) {
    case 'ack':
      return `ack ${op.label} ${JSON.stringify(op.value ?? null)}`;
    case 'write':
      return `write ${op.path} @${op.offset} +${op.bytes.length}`;
    case 'truncate':
      return `truncate ${op.path} to ${op.length}`;
    case 'chmod':
      return `chmod ${op.path} ${op.mode.toString(8)}`;
    case 'fsync':
      return `${op.data ? 'fdatasync' : 'fsync'} ${op.path}`;
    case 'syncdir':
      return `fsync dir ${op.path}`;
    default:
      return `${op.kind} ${op.path}`;
  }
}

export function replayId(scenarioName, state) {
  return `${scenarioName}:${describe(state)}`;
}

/** Splits `scenario:state` and rebuilds the state against a fresh recording. */
export function parseReplayId(id) {
  const at = id.lastIndexOf(':');
  if (at < 0) throw new Error(`a replay id looks like <scenario>:<state>, got ${id}`);
  return { scenarioName: id.slice(0, at), desc: id.slice(at + 1) };
}

export { parse as parseState, FileTree };

export function buildTreeForReplay(recording, state) {
  return buildTree(recording.snapshot, recording.ops, state);
}
