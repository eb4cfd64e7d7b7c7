// A ledger written to with no file-watcher event (the editor's watcher reported three of a
// log's 1,000 appends in 100 s; a write from the other side of a container or WSL mount brings
// none): the server's own pass sees its size change and reads it again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { hostname } from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { startServer } from '../fixtures/lsp-client.mjs';
import { tempDir } from '../fixtures/lock-helpers.mjs';

const folderOf = (s) => s.folders[0];
const line = (id) => `${JSON.stringify({ id, type: 'tick', at: new Date().toISOString() })}\n`;

test('server: appends that bring no watcher event still reach the ledger row within a pass or two, and a torn tail shows', async (t) => {
  const ws = tempDir(t, 'll-unwatched-');
  const logPath = path.join(ws, 'logs', 'agent.jsonl');
  fs.mkdirSync(path.dirname(logPath), { recursive: true });
  fs.writeFileSync(logPath, Array.from({ length: 10 }, (_, i) => line(i + 1)).join(''));
  const server = await startServer(t, { folders: [ws], trusted: true });
  const ledgerOf = (s) => folderOf(s)?.ledgers.find((l) => l.path === logPath);
  await server.waitForState((s) => folderOf(s)?.scanning !== true && ledgerOf(s)?.events === 10);
  // No workspace/didChangeWatchedFiles is sent from here on.
  const sent = Date.now();
  fs.appendFileSync(logPath, Array.from({ length: 5 }, (_, i) => line(11 + i)).join(''));
  await server.waitForState((s) => ledgerOf(s)?.events === 15, 15_000);
  const seenMs = Date.now() - sent;
  fs.appendFileSync(logPath, '{"id": 16, "ty');
  await server.waitForState((s) => ledgerOf(s)?.health === 'torn', 15_000);
  console.log(`# an unwatched append reached the ledger row in ${seenMs} ms`);
  assert.ok(seenMs < 10_000, `seen after ${seenMs} ms`);
});

test('server: a lock and a ledger created with no watcher event are found by the pass, beside known locks and in the store', async (t) => {
  const ws = tempDir(t, 'll-unwatched-locks-');
  const locks = path.join(ws, 'locks');
  fs.mkdirSync(locks);
  fs.writeFileSync(path.join(locks, 'build.lock'), JSON.stringify({ pid: process.pid, host: hostname() }));
  const server = await startServer(t, { folders: [ws], trusted: true });
  await server.waitForState((s) => folderOf(s)?.scanning !== true && folderOf(s)?.locks.length === 1);
  // No workspace/didChangeWatchedFiles is sent from here on: the watcher "missed" these.
  const deploy = path.join(locks, 'deploy.lock');
  const storeLedger = path.join(ws, '.ledgerlock', 'ledgers', 'audit.jsonl');
  const sent = Date.now();
  fs.writeFileSync(deploy, JSON.stringify({ pid: process.pid, host: hostname() }));
  fs.mkdirSync(path.dirname(storeLedger), { recursive: true });
  fs.writeFileSync(storeLedger, line(1)); // no checksum: listed as damaged, which is all this test asks
  const state = await server.waitForState(
    (s) => folderOf(s)?.locks.some((l) => l.path === deploy && l.state === 'held') && folderOf(s)?.ledgers.some((l) => l.path === storeLedger),
    15_000,
  );
  const seenMs = Date.now() - sent;
  console.log(`# an unwatched lock and store ledger were listed ${seenMs} ms after they were made`);
  assert.deepEqual(folderOf(state).locks.map((l) => path.basename(l.path)).sort(), ['build.lock', 'deploy.lock']);
  assert.ok(seenMs < 10_000, `seen after ${seenMs} ms`);
});

test('server: a lock in a looked-at folder moved out of the workspace and linked back is not listed, and the pass goes on', async (t) => {
  const ws = tempDir(t, 'll-unwatched-moved-');
  const outside = tempDir(t, 'll-unwatched-outside-');
  const holder = JSON.stringify({ pid: process.pid, host: hostname() });
  fs.mkdirSync(path.join(ws, 'a', 'locks'), { recursive: true });
  fs.writeFileSync(path.join(ws, 'a', 'locks', 'build.lock'), holder);
  fs.mkdirSync(path.join(ws, 'locks'));
  fs.writeFileSync(path.join(ws, 'locks', 'build.lock'), holder);
  const server = await startServer(t, { folders: [ws], trusted: true });
  await server.waitForState((s) => folderOf(s)?.scanning !== true && folderOf(s)?.locks.length === 2);
  // Let a pass record both folders' looks before they change.
  await new Promise((r) => setTimeout(r, 2_500));
  fs.renameSync(path.join(ws, 'a'), path.join(outside, 'a'));
  fs.symlinkSync(path.join(outside, 'a'), path.join(ws, 'a'));
  fs.writeFileSync(path.join(outside, 'a', 'locks', 'elsewhere.lock'), holder);
  const deploy = path.join(ws, 'locks', 'deploy.lock');
  fs.writeFileSync(deploy, holder);
  const state = await server.waitForState((s) => folderOf(s)?.locks.some((l) => l.path === deploy), 15_000);
  // Two more passes: the moved folder has been looked at by now.
  await new Promise((r) => setTimeout(r, 4_500));
  const names = (await server.waitForState(() => true)).folders[0].locks.map((l) => path.basename(l.path));
  assert.ok(!names.includes('elsewhere.lock'), `a lock outside the workspace was listed: ${names}`);
  assert.ok(folderOf(state).locks.some((l) => l.path === deploy));
});

test('server: a folder first met through one lock event is read by the pass, finding the lock beside it that brought no event', async (t) => {
  const ws = tempDir(t, 'll-unwatched-beside-');
  const server = await startServer(t, { folders: [ws], trusted: true });
  await server.waitForState((s) => folderOf(s)?.scanning !== true);
  const holder = JSON.stringify({ pid: process.pid, host: hostname() });
  const dir = path.join(ws, 'jobs');
  fs.mkdirSync(dir);
  const silent = path.join(dir, 'early.lock');
  const reported = path.join(dir, 'late.lock');
  fs.writeFileSync(silent, holder);
  fs.writeFileSync(reported, holder);
  // Old enough that no rule about recent changes could explain finding it.
  const past = new Date(Date.now() - 60_000);
  fs.utimesSync(dir, past, past);
  server.notify('workspace/didChangeWatchedFiles', { changes: [{ uri: pathToFileURL(reported).href, type: 1 }] });
  const state = await server.waitForState((s) => folderOf(s)?.locks.length === 2, 15_000);
  assert.deepEqual(folderOf(state).locks.map((l) => path.basename(l.path)).sort(), ['early.lock', 'late.lock']);
});
