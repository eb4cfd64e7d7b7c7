// A full disk in the middle of a batch: the batch is cut back off, durably and under the lock,
// before it is rejected with E_NO_SPACE, so nothing unacknowledged stays behind for a retry to
// duplicate; the next append that fits continues the ids. Runs on a 1 MiB tmpfs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { engine } from '../fixtures/ledger-helpers.mjs';
import { CLI } from '../cli/helpers.mjs';

/** A fresh 1 MiB tmpfs, or the reason there cannot be one here. */
function smallDisk(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'll-nospace-'));
  const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir], { encoding: 'utf8' });
  if (mount.status !== 0) {
    fs.rmSync(dir, { recursive: true, force: true });
    return { skip: `cannot mount a size-limited tmpfs here (needs root): ${(mount.stderr || mount.error?.message || '').trim()}` };
  }
  t.after(() => {
    // Lazily if something (a directory descriptor the engine keeps for a moment) is still open there.
    if (spawnSync('umount', [dir]).status !== 0) spawnSync('umount', ['-l', dir]);
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { dir };
}

const big = (i) => ({ i, pad: 'x'.repeat(1000) });

/** A store on the small disk and its default ledger, open. */
async function ledgerOn(dir) {
  await engine.ensureStore(dir);
  const file = path.join(dir, '.ledgerlock', 'ledgers', 'events.jsonl');
  return { file, ledger: await engine.openLedger(file, { telemetry: false }) };
}
const batchOf = (n, from = 0) => Array.from({ length: n }, (_, k) => ({ type: 'big', data: big(from + k) }));

for (const form of ['appendMany', 'appendManySync']) {
  test(`${form} on a full disk rejects with E_NO_SPACE and leaves none of the batch behind`, async (t) => {
    const disk = smallDisk(t);
    if (disk.skip) return t.skip(disk.skip);
    const { file, ledger } = await ledgerOn(disk.dir);
    try {
      await ledger.appendMany(batchOf(100));
      const before = fs.readFileSync(file);
      let failure;
      try {
        // ~2 MB: part of it fits, then the write hits ENOSPC.
        if (form === 'appendManySync') ledger.appendManySync(batchOf(2000, 100));
        else await ledger.appendMany(batchOf(2000, 100));
      } catch (err) {
        failure = err;
      }
      assert.equal(failure?.code, 'E_NO_SPACE', `rejected with ${failure?.code}: ${failure?.message}`);
      assert.equal(failure.details.rolledBack, true);
      assert.ok(fs.readFileSync(file).equals(before), 'the ledger is byte for byte what it was before the batch');
      const next = form === 'appendManySync' ? ledger.appendSync('small', { ok: true }) : await ledger.append('small', { ok: true });
      assert.equal(next.id, 101, 'the next append continues the ids: none were taken by the failed batch');
      const report = await ledger.verify();
      assert.equal(report.health, 'ok');
      assert.equal(report.events, 101);
    } finally {
      await ledger.close();
    }
  });
}

test('concurrent appends that share a failing batch all reject, and nothing of them is on disk', async (t) => {
  const disk = smallDisk(t);
  if (disk.skip) return t.skip(disk.skip);
  const { file, ledger } = await ledgerOn(disk.dir);
  try {
    const results = await Promise.allSettled(Array.from({ length: 40 }, (_, i) => ledger.appendMany(batchOf(50, i * 50))));
    const ok = results.filter((r) => r.status === 'fulfilled').flatMap((r) => r.value.map((e) => e.id));
    const failed = results.filter((r) => r.status === 'rejected');
    assert.ok(failed.length > 0, 'the disk filled up');
    for (const f of failed) assert.equal(f.reason.code, 'E_NO_SPACE');
    const onDisk = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l).id);
    assert.deepEqual(onDisk, ok.sort((a, b) => a - b), 'exactly the acknowledged events are on disk');
    assert.deepEqual(onDisk, Array.from({ length: onDisk.length }, (_, i) => i + 1), 'and their ids are contiguous');
  } finally {
    await ledger.close();
  }
});

test('ledgerlock append on a full disk prints exactly the ids that are on disk and exits with E_NO_SPACE', (t) => {
  const disk = smallDisk(t);
  if (disk.skip) return t.skip(disk.skip);
  const input = Array.from({ length: 2000 }, (_, i) => JSON.stringify(big(i))).join('\n') + '\n';
  const r = spawnSync(process.execPath, [CLI, 'append', 'events'], { cwd: disk.dir, input, encoding: 'utf8' });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /E_NO_SPACE/);
  const printed = r.stdout.split('\n').filter(Boolean).map(Number);
  const file = path.join(disk.dir, '.ledgerlock', 'ledgers', 'events.jsonl');
  const onDisk = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l).id);
  assert.deepEqual(onDisk, printed, 'every printed id is on disk, and nothing else is');
});
