// CI's bounded crash-state exploration: every scenario, a fixed seed and a capped number of
// states each (every prefix always included); any violated invariant fails the run with the
// replay command. Also proves the explorer can fail: with a barrier removed from a recording
// (an engine that forgot that fsync), it must find the loss.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { availableScenarios, buildTreeForReplay, checkState, exploreScenario, findScenario, recordScenario } from './explore-lib.mjs';
import { durableBy, pendingAt } from './crash-states.mjs';

const SEED = 20261121;
const STATES_PER_SCENARIO = Number(process.env.LEDGERLOCK_CRASH_STATES ?? 120);

function report(result) {
  return result.failures
    .slice(0, 5)
    .map((f) => `${f.id}\n  ${f.violations.join('\n  ')}\n  replay: node test/crash/explore.mjs --replay '${f.id}'`)
    .join('\n');
}

for (const { scenario, missing } of availableScenarios()) {
  test(
    `${scenario.name}: every crash state recovers with acknowledged work intact`,
    { skip: missing.length ? `engine lacks ${missing.join(', ')}` : false },
    async () => {
      const result = await exploreScenario(scenario, { seed: SEED, maxStates: STATES_PER_SCENARIO });
      assert.ok(result.explored > 0, 'no crash state was explored');
      assert.equal(result.failures.length, 0, `${result.failures.length} of ${result.explored} crash states violate an invariant:\n${report(result)}`);
    },
  );
}

// Each pair: a scenario, and a barrier whose absence loses acknowledged data.
const MISSING_BARRIERS = [
  ['atomic-write/replace', '^fsync state/\\.doc', 'the temp file is renamed before its data is durable'],
  ['atomic-write/replace', '^syncdir state$', 'the rename is acknowledged before the directory is fsynced'],
  ['ledger/append', '^fsync \\.ledgerlock/ledgers/events\\.jsonl$', 'an append is acknowledged before its fdatasync'],
  ['ledger/repair', '^fsync \\.ledgerlock/quarantine/', 'the torn tail is cut before its quarantine copy is durable'],
  ['json/update', '^syncdir \\.ledgerlock/state$', 'an update is acknowledged before its rename is durable'],
  [
    'ledger/quarantine-record',
    '^syncdir \\.ledgerlock/ledgers$',
    'the ledger rewritten without the damaged record is acknowledged before its rename is durable',
  ],
  ['ledger/compact', '^syncdir \\.ledgerlock/ledgers$', 'a compaction is acknowledged before its rename is durable'],
  ['ledger/two-writers', '^fsync \\.ledgerlock/ledgers/events\\.jsonl$', 'appends flushed outside the lock are acknowledged without their fdatasync'],
  ['ledger/append-sync', '^fsync \\.ledgerlock/ledgers/events\\.jsonl$', 'a sync append returns before its fdatasync'],
  ['atomic-write/replace-sync', '^syncdir state$', 'a sync atomic write returns before the directory is fsynced'],
  ['atomic-write/group', '^syncdir state$', 'writes sharing a directory fsync are acknowledged without one after their renames'],
];

for (const [name, barrier, why] of MISSING_BARRIERS) {
  test(
    `the explorer catches a missing barrier in ${name}: ${why}`,
    { skip: availableScenarios(name).find((s) => s.scenario.name === name)?.missing.length ? 'protocol not there yet' : false },
    async () => {
      const result = await exploreScenario(findScenario(name), { seed: SEED, maxStates: STATES_PER_SCENARIO, omitBarrier: barrier });
      assert.ok(result.failures.length > 0, `no violation found in ${result.explored} states with /${barrier}/ removed`);
    },
  );
}

test('an acknowledged ensureStore keeps its .ledgerlock directory entry (store/create k13.d0)', async () => {
  // The bug: ensureStore never fsynced the workspace directory, so a power loss right after it
  // returned could drop `.ledgerlock` and every acknowledged write inside it.
  const recording = recordScenario('store/create');
  const ops = recording.ops;
  const ackAt = ops.findIndex((op) => op.kind === 'ack') + 1;
  const mkdirStore = ops.findIndex((op) => op.kind === 'mkdir' && op.path === '.ledgerlock');
  assert.ok(mkdirStore >= 0, 'ensureStore no longer creates .ledgerlock?');
  assert.ok(!pendingAt(ops, durableBy(ops), ackAt).includes(mkdirStore), 'mkdir .ledgerlock is not durable when ensureStore resolves');
  // The minimal failing state of the bug, rebuilt on the fixed engine: everything not durable at the ack is lost.
  const state = { k: ackAt, drop: pendingAt(ops, durableBy(ops), ackAt), tear: undefined };
  assert.ok(buildTreeForReplay(recording, state).lookup('.ledgerlock/store.json') !== undefined);
  const { violations } = await checkState(findScenario('store/create'), recording, state);
  assert.deepEqual(violations, []);
  // And the explorer finds the bug when the fix's directory fsync is taken away.
  const broken = await exploreScenario(findScenario('store/create'), { seed: SEED, maxStates: STATES_PER_SCENARIO, omitBarrier: '^syncdir \\.$' });
  assert.ok(
    broken.failures.some((f) => f.violations.some((v) => v.includes('store.json is missing after ensureStore was acknowledged'))),
    'the old bug is not detected any more',
  );
});

test("a foreign ledger's torn tail survives a crash during repair (ledger/repair-foreign k8.d2)", async () => {
  // The bug: repair created `<ledger>.quarantine/` with a plain mkdir, so a power loss after the
  // durable truncation could drop the directory entry and with it the quarantined bytes.
  const recording = recordScenario('ledger/repair-foreign');
  const ops = recording.ops;
  const mkdirQuarantine = ops.findIndex((op) => op.kind === 'mkdir' && op.path === 'logs/app.jsonl.quarantine');
  const truncate = ops.findIndex((op) => op.kind === 'truncate' && op.path === 'logs/app.jsonl');
  assert.ok(mkdirQuarantine >= 0 && truncate > mkdirQuarantine, 'repair no longer creates the quarantine directory before truncating?');
  const by = durableBy(ops);
  assert.ok(by[mkdirQuarantine] < truncate, 'the quarantine directory is not durable before the ledger is truncated');
  // The minimal failing state, rebuilt: crash right after the truncation, everything not yet durable lost.
  const state = { k: truncate + 1, drop: pendingAt(ops, by, truncate + 1), tear: undefined };
  assert.deepEqual((await checkState(findScenario('ledger/repair-foreign'), recording, state)).violations, []);
  const broken = await exploreScenario(findScenario('ledger/repair-foreign'), { seed: SEED, maxStates: STATES_PER_SCENARIO, omitBarrier: '^syncdir logs$' });
  assert.ok(
    broken.failures.some((f) => f.violations.some((v) => v.includes('in no quarantine file'))),
    'the old bug is not detected any more',
  );
});

test('two writers flushing outside the lock: a flush covers only writes made before it began, and an ack that relied on one in flight is caught', async () => {
  const recording = recordScenario('ledger/two-writers');
  const ops = recording.ops;
  const by = durableBy(ops);
  // In the recording, one writer's write lands while the other's flush is in flight; that flush must not make it durable.
  const overlapped = ops.findIndex(
    (op, j) =>
      op.kind === 'write' &&
      op.path.endsWith('events.jsonl') &&
      ops.some((f, b) => b > j && f.kind === 'fsync' && f.ino === op.ino && f.from <= j && by[j] !== b),
  );
  assert.ok(overlapped >= 0, "no write landed during another writer's flush in this recording");
  // An engine that acknowledged on such a flush (joining it in flight) loses acknowledged appends: the explorer finds it.
  const broken = await exploreScenario(findScenario('ledger/two-writers'), { seed: SEED, maxStates: STATES_PER_SCENARIO, ackOnAnyFlush: true });
  assert.ok(
    broken.failures.some((f) => f.violations.some((v) => /acknowledged event .* is missing/.test(v))),
    'acknowledging on a flush in flight is not detected',
  );
});
