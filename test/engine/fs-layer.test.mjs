// The file-system layer's bounded folder read: a folder of many names costs no more than the
// names asked for.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { engine as e } from '../fixtures/ledger-helpers.mjs';
import { tempDir } from '../fixtures/workspace.mjs';

test('fs layer: readdir with a bound returns at most that many entries of a folder of 5,000, with their types', async (t) => {
  const dir = tempDir(t, 'll-readdir-');
  for (let i = 0; i < 5_000; i++) fs.writeFileSync(path.join(dir, `f${i}`), '');
  fs.mkdirSync(path.join(dir, 'sub'));
  const some = await e.nodeFileSystem.readdir(dir, 7);
  assert.equal(some.length, 7);
  assert.ok(some.every((d) => d.isFile() || d.isDirectory()));
  assert.equal((await e.nodeFileSystem.readdir(dir)).length, 5_001);
  assert.equal((await e.nodeFileSystem.readdir(dir, 10_000)).length, 5_001);
});
