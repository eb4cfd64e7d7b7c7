// A ledger written to with no file-watcher event (the editor's watcher reported three of a
// log's 1,000 appends in 100 s; a write from the other side of a container or WSL mount brings
// none): the server's own pass sees its size change and reads it again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
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
