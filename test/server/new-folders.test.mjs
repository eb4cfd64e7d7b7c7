// Files in a folder created while the editor is open: a recursive watcher may report only the
// folder (`mkdir -p tmp/run`, then `tmp/run/crash.lock`), so the server looks into it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { hostname } from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { startServer } from '../fixtures/lsp-client.mjs';
import { tempDir } from '../fixtures/lock-helpers.mjs';

const folderOf = (s) => s.folders[0];

test('server: a stale lock and a torn log in a new folder are found from the folder event alone, and forgotten with it', async (t) => {
  const ws = tempDir(t, 'll-newdir-');
  const server = await startServer(t, { folders: [ws], trusted: true });
  await server.waitForState((s) => folderOf(s) !== undefined && folderOf(s).scanning !== true);
  const dead = spawnSync(process.execPath, ['-e', '0']).pid;
  const lockPath = path.join(ws, 'tmp', 'run', 'crash.lock');
  const logPath = path.join(ws, 'tmp', 'agent.jsonl');
  fs.mkdirSync(path.dirname(lockPath), { recursive: true });
  fs.writeFileSync(lockPath, JSON.stringify({ pid: dead, host: hostname() }));
  fs.writeFileSync(logPath, `${JSON.stringify({ id: 1 })}\n{"id": 2, "ty`);
  const sent = Date.now();
  // Only the folder's creation, as a watcher that missed the files inside reports it (1: created).
  server.notify('workspace/didChangeWatchedFiles', { changes: [{ uri: pathToFileURL(path.join(ws, 'tmp')).href, type: 1 }] });
  const state = await server.waitForState(
    (s) =>
      folderOf(s)?.locks.some((l) => l.path === lockPath && l.state === 'stale') && folderOf(s)?.ledgers.some((l) => l.path === logPath && l.health === 'torn'),
    10_000,
  );
  assert.ok(Date.now() - sent < 3_000, `found ${Date.now() - sent} ms after the folder event`);
  assert.equal(folderOf(state).locks.length, 1);
  fs.rmSync(path.join(ws, 'tmp'), { recursive: true });
  server.notify('workspace/didChangeWatchedFiles', { changes: [{ uri: pathToFileURL(path.join(ws, 'tmp')).href, type: 3 }] });
  await server.waitForState((s) => folderOf(s)?.locks.length === 0 && folderOf(s)?.ledgers.length === 0, 10_000);
});
