// The recovery path a ledger gets after a crash, and the invariants every ledger scenario
// checks on its result: acknowledged events present exactly once and in order, nothing cut
// that was not quarantined, no lock left that blocks the next append.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { listFiles, readOrUndefined } from './checks.mjs';

export const LEDGER = ['.ledgerlock', 'ledgers', 'events.jsonl'];
export const ledgerPath = (root) => path.join(root, ...LEDGER);
const OPEN = { lockTimeoutMs: 3000 };

/** Payload of the n-th event a scenario writes; `key` identifies it in the recovered ledger. */
export function payload(key, padBytes = 300) {
  return { key, pad: `${key}:`.padEnd(padBytes, '.') };
}

export async function appendSetupEvents(root, engine, keys, opts = {}) {
  const ledger = await engine.openLedger(ledgerPath(root), { ...OPEN, ...opts });
  try {
    for (const key of keys) await ledger.append('setup', payload(key));
  } finally {
    await ledger.close();
  }
}

/**
 * Opens the crashed ledger, repairs what a crash may leave (a torn tail; a damaged record inside
 * bytes no one acknowledged), reads everything back, and appends once more.
 * `expected`: { setupKeys, issuedKeys, ackedKeys: [{ key, id }] in order, durableEnd?, firstKept? }
 */
export async function recoverAndCheck(root, engine, expected) {
  const out = [];
  const file = ledgerPath(root);
  const before = readOrUndefined(file);
  const quarantineDir = path.join(root, '.ledgerlock', 'quarantine');
  const quarantinedBefore = new Set(listFiles(quarantineDir));
  if (before === undefined && (expected.ackedKeys.length > 0 || expected.setupKeys.length > 0)) {
    out.push(`the ledger file is missing, though ${expected.setupKeys.length} pre-existing and ${expected.ackedKeys.length} acknowledged events were in it`);
    return out;
  }

  const ledger = await engine.openLedger(file, OPEN);
  let events;
  try {
    if (expected.appendFirst) {
      // The first append after the crash, before any verify or repair: it must find and cut a
      // hole a power loss left, never write past it.
      const first = await ledger.append('after-crash', payload('after-crash-first'));
      const maxId = Math.max(0, ...expected.ackedKeys.map((a) => a.id));
      if (!(first.id > maxId)) out.push(`the first append after the crash got id ${first.id}, not above ${maxId}: an acknowledged id is reused`);
    }
    let report = await ledger.verify();
    for (let round = 0; report.health === 'corrupt' && round < 8; round++) {
      // A torn write can leave a hole followed by records of the same unacknowledged write:
      // that is corruption by the ledger's rules, removed by the explicit quarantine action.
      const bad = report.problems.find((p) => p.kind !== 'torn-tail');
      out.push(...damageInsideAcked(bad, expected));
      await ledger.quarantineRecord(bad.offset);
      report = await ledger.verify();
    }
    if (report.health === 'torn') await ledger.repair();
    const after = await ledger.verify();
    if (after.health !== 'ok') out.push(`after repair the ledger is still ${after.health}: ${after.problems.map((p) => p.message).join('; ')}`);
    events = await ledger.range({});
    out.push(...checkEvents(events, expected));
    out.push(...checkReadPathsAgree(await ledger.tail(events.length + 5), events, 'tail'));
    if (events.length > 2) {
      const mid = events[Math.floor(events.length / 2)].id;
      out.push(
        ...checkReadPathsAgree(
          await ledger.range({ fromId: mid }),
          events.filter((e) => e.id >= mid),
          `range from id ${mid}`,
        ),
      );
    }
    const next = await ledger.append('after-crash', payload('after-crash'));
    const maxId = Math.max(0, ...events.map((e) => e.id), ...expected.ackedKeys.map((a) => a.id));
    if (!(next.id > maxId)) out.push(`the first append after recovery got id ${next.id}, not above ${maxId}: an acknowledged id is reused`);
  } finally {
    await ledger.close();
  }
  out.push(...checkNothingLost(before, readOrUndefined(file), quarantineDir, quarantinedBefore));
  return out;
}

function damageInsideAcked(problem, expected) {
  if (!problem) return ['verify says corrupt but names no problem'];
  const end = expected.durableEnd ?? 0;
  return problem.offset < end ? [`a record at offset ${problem.offset}, inside the ${end} bytes that were acknowledged, is damaged: ${problem.message}`] : [];
}

export function checkEvents(events, { setupKeys, setupIds, issuedKeys, ackedKeys, firstKept, compacted }) {
  const out = [];
  const keys = events.map((e) => e.data?.key);
  const known = new Set([...setupKeys, ...issuedKeys, 'after-crash-first']);
  for (let i = 1; i < events.length; i++) {
    if (!(events[i].id > events[i - 1].id)) out.push(`ids do not increase: ${events[i - 1].id} then ${events[i].id}`);
  }
  const seen = new Map();
  for (const k of keys) seen.set(k, (seen.get(k) ?? 0) + 1);
  for (const [k, n] of seen) {
    if (!known.has(k)) out.push(`an event that was never written is present: ${JSON.stringify(k)}`);
    if (n > 1) out.push(`event ${k} is present ${n} times`);
  }
  setupKeys.forEach((key, i) => {
    const e = events.find((x) => x.data?.key === key);
    const id = setupIds?.[i] ?? i + 1;
    if (e && e.id !== id) out.push(`pre-existing event ${key} had id ${id}, now ${e.id}`);
  });
  if (compacted) {
    const gone = setupKeys.slice(0, firstKept).filter((k) => seen.has(k));
    if (gone.length) out.push(`compaction was acknowledged, yet ${gone.join(', ')} are back`);
  }
  // Concurrent appends resolve in any order; the ledger's order is their ids'.
  const mustHave = [
    ...setupKeys.filter((k) => firstKept === undefined || setupKeys.indexOf(k) >= firstKept).map((key) => ({ key })),
    ...[...ackedKeys].sort((a, b) => a.id - b.id),
  ];
  let at = -1;
  for (const want of mustHave) {
    const i = keys.indexOf(want.key);
    if (i < 0) {
      out.push(`${want.id === undefined ? 'pre-existing' : 'acknowledged'} event ${want.key}${want.id === undefined ? '' : ` (id ${want.id})`} is missing`);
      continue;
    }
    if (i < at) out.push(`event ${want.key} is out of order`);
    if (want.id !== undefined && events[i].id !== want.id) out.push(`acknowledged event ${want.key} had id ${want.id}, now ${events[i].id}`);
    at = i;
  }
  return out;
}

function checkReadPathsAgree(got, want, how) {
  const a = got.map((e) => `${e.id}:${e.data?.key}`).join(' ');
  const b = want.map((e) => `${e.id}:${e.data?.key}`).join(' ');
  return a === b ? [] : [`${how} disagrees with a full read: [${a}] vs [${b}]`];
}

/** Every byte recovery removed from the ledger must sit in a new quarantine file. */
function checkNothingLost(before, after, quarantineDir, quarantinedBefore) {
  if (!before || !after) return [];
  const fresh = listFiles(quarantineDir)
    .filter((f) => !quarantinedBefore.has(f))
    .map((f) => fs.readFileSync(f));
  // What recovery kept is the old bytes minus the cut pieces, plus what it appended after.
  let common = 0;
  while (common < before.length && common < after.length && before[common] === after[common]) common++;
  const cut = before.subarray(common);
  if (cut.length === 0) return [];
  // Each line of what changed must still be in the ledger (kept, perhaps moved) or in a new quarantine file.
  const places = [after.toString('latin1'), ...fresh.map((f) => f.toString('latin1'))];
  const lost = cut
    .toString('latin1')
    .split('\n')
    .filter((line) => line.length && !places.some((p) => p.includes(line)));
  if (lost.length === 0) return [];
  return [
    `recovery removed ${lost.reduce((a, l) => a + l.length, 0)} bytes after offset ${common} of the ledger that are in no quarantine file (${fresh.length} new quarantine files): ${JSON.stringify(lost[0].slice(0, 60))}`,
  ];
}
