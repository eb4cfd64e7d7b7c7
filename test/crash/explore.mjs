#!/usr/bin/env node
// Crash-state exploration. `node test/crash/explore.mjs` explores every scenario and prints a
// table per protocol; `--replay <scenario>:<state>` rebuilds one state and shows what happened.
//   --only <text>       scenarios whose name or protocol contains <text>
//   --max-states <n>    states per scenario (default 1500; every prefix is always included)
//   --seed <n>          sampler seed (default 1)
//   --deep              more drop sets and tear points per prefix, and tears with dropped neighbours
//   --replay <id>       one state, verbosely; add --keep to keep its directory for inspection
//   --json              one JSON document on stdout
import { availableScenarios, buildTreeForReplay, checkState, explainState, exploreScenario, findScenario, parseReplayId, parseState, recordScenario } from './explore-lib.mjs';

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const flag = (name) => args.includes(`--${name}`);

if (opt('replay')) await replay(opt('replay'));
else await explore();

async function explore() {
  const seed = Number(opt('seed', '1'));
  const maxStates = Number(opt('max-states', '1500'));
  const json = flag('json');
  const results = [];
  const skipped = [];
  for (const { scenario, missing } of availableScenarios(opt('only'))) {
    if (missing.length) {
      skipped.push({ scenario: scenario.name, protocol: scenario.protocol, missing });
      continue;
    }
    const started = Date.now();
    const r = await exploreScenario(scenario, { seed, maxStates, deep: flag('deep') });
    results.push({ ...r, ms: Date.now() - started });
    if (!json) process.stderr.write(`  ${scenario.name}: ${r.explored} states, ${r.failures.length} violations (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
  }
  if (json) {
    process.stdout.write(`${JSON.stringify({ seed, maxStates, results: results.map(({ recording, ...r }) => r), skipped }, null, 2)}\n`);
  } else {
    printTable(results, skipped, seed);
  }
  process.exitCode = results.some((r) => r.failures.length) ? 1 : 0;
}

function printTable(results, skipped, seed) {
  const byProtocol = new Map();
  for (const r of results) byProtocol.set(r.protocol, [...(byProtocol.get(r.protocol) ?? []), r]);
  const rows = [['protocol', 'scenario', 'ops', 'candidates', 'explored', 'violations']];
  for (const [protocol, rs] of byProtocol) {
    for (const r of rs) rows.push([protocol, r.scenario, r.ops, r.candidates, r.explored, r.failures.length]);
    if (rs.length > 1) rows.push([protocol, '(all)', '', sum(rs, 'candidates'), sum(rs, 'explored'), rs.reduce((a, r) => a + r.failures.length, 0)]);
  }
  rows.push(['TOTAL', '', '', sum(results, 'candidates'), sum(results, 'explored'), results.reduce((a, r) => a + r.failures.length, 0)]);
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => String(row[c]).length)));
  const line = (row) => `| ${row.map((v, c) => (typeof v === 'number' ? String(v).padStart(widths[c]) : String(v).padEnd(widths[c]))).join(' | ')} |`;
  console.log(`\nCrash-state exploration (seed ${seed}${flag('deep') ? ', deep' : ''}, at most ${opt('max-states', '1500')} states per scenario)\n`);
  console.log(line(rows[0]));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const row of rows.slice(1)) console.log(line(row));
  for (const s of skipped) console.log(`skipped ${s.scenario} (${s.protocol}): the engine does not export ${s.missing.join(', ')} yet`);
  for (const r of results) {
    for (const f of r.failures) {
      console.log(`\n✗ ${f.id}  (scenario ${r.scenario}, seed ${f.seed}, state ${f.state.id})`);
      for (const v of f.violations) console.log(`    ${v.split('\n').join('\n    ')}`);
      console.log('  ops:');
      for (const l of f.explain.filter((l) => !l.endsWith('not reached'))) console.log(`    ${l}`);
      console.log(`  replay: node test/crash/explore.mjs --replay '${f.id}'`);
    }
  }
}

function sum(rs, key) {
  return rs.reduce((a, r) => a + r[key], 0);
}

async function replay(id) {
  const { scenarioName, desc } = parseReplayId(id);
  const scenario = findScenario(scenarioName);
  const recording = recordScenario(scenario.name);
  const state = parseState(desc, recording.ops);
  console.log(`scenario ${scenario.name} (${scenario.protocol}), state ${desc}, ${recording.ops.length} ops recorded\n`);
  for (const l of explainState(recording, state)) console.log(l);
  console.log('\nfiles in the crash state:');
  for (const { rel, node } of buildTreeForReplay(recording, state).list()) {
    if (rel) console.log(`  ${rel}${node.type === 'dir' ? '/' : ` (${node.data.length} bytes, mode ${node.mode.toString(8)})`}`);
  }
  const { violations, dir } = await checkState(scenario, recording, state, { keep: flag('keep') });
  console.log(violations.length ? `\n${violations.length} violation(s):\n  ${violations.join('\n  ')}` : '\nno violation');
  if (dir) console.log(`\nstate kept in ${dir}`);
  process.exitCode = violations.length ? 1 : 0;
}
