// A snapshot asked for while the folder's first scan still runs (Create Snapshot in a window
// just opened): the folder is open, so the answer is its plan, never "not an open workspace folder".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { startServer } from '../fixtures/lsp-client.mjs';
import { tempDir } from '../fixtures/lock-helpers.mjs';

test('server: a snapshot plan asked for during the first scan names what the snapshot would hold', async (t) => {
  const ws = tempDir(t, 'll-snap-early-');
  fs.mkdirSync(path.join(ws, '.ledgerlock', 'state'), { recursive: true });
  fs.writeFileSync(path.join(ws, '.ledgerlock', 'state', 'settings.json'), '{"theme":"dark"}\n');
  // Enough files that the first scan is still running when the plan is asked for.
  for (let d = 0; d < 40; d++) {
    const dir = path.join(ws, 'src', `m${d}`);
    fs.mkdirSync(dir, { recursive: true });
    for (let i = 0; i < 250; i++) fs.writeFileSync(path.join(dir, `f${i}.lock`), '');
  }
  const server = await startServer(t, { folders: [ws], trusted: true });
  const plan = await server.request('ledgerlock/snapshotPlan', { folder: pathToFileURL(ws).href });
  assert.equal(plan.error, undefined, plan.error);
  assert.deepEqual(plan.files, ['.ledgerlock/state/settings.json']);
  assert.equal(plan.storeExists, false);
});
