import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { tempDir as sharedTempDir } from '../fixtures/workspace.mjs';

const require = createRequire(import.meta.url);
const { BlobStore, sha256 } = require('../../dist/engine.js');

const tempDir = () => sharedTempDir(undefined, 'll-blobs-');

test('a blob is stored under sha256/<2 hex>/<rest> and reads back verified', async () => {
  const blobs = new BlobStore(tempDir());
  const stored = await blobs.put(Buffer.from('hello'));
  assert.equal(stored.hash, sha256(Buffer.from('hello')));
  assert.equal(stored.path, path.join(blobs.root, 'sha256', stored.hash.slice(0, 2), stored.hash.slice(2)));
  assert.equal(stored.written, true);
  assert.equal((await blobs.read(stored.hash)).toString(), 'hello');
  assert.deepEqual(fs.readdirSync(blobs.tmpDir), [], 'no temp file is left behind');
});

test('identical content is stored once', async () => {
  const blobs = new BlobStore(tempDir());
  const a = await blobs.put(Buffer.from('same bytes'));
  const b = await blobs.put(Buffer.from('same bytes'));
  assert.equal(a.hash, b.hash);
  assert.equal(b.written, false);
  assert.equal((await blobs.list()).length, 1);
});

test('storing content that is already there refreshes its mtime, so GC grace protects it again', async () => {
  const blobs = new BlobStore(tempDir());
  const a = await blobs.put(Buffer.from('old content'));
  const old = new Date(Date.now() - 24 * 3600 * 1000);
  fs.utimesSync(a.path, old, old);
  await blobs.put(Buffer.from('old content'));
  assert.ok(fs.statSync(a.path).mtimeMs > Date.now() - 60_000);
});

test('a blob over the size cap is refused with E_BLOB_TOO_LARGE and nothing is written', async () => {
  const blobs = new BlobStore(tempDir(), { maxBlobBytes: 10 });
  await assert.rejects(blobs.put(Buffer.alloc(11)), { code: 'E_BLOB_TOO_LARGE' });
  assert.deepEqual(await blobs.list(), []);
  await blobs.put(Buffer.alloc(10));
});

test('a flipped bit in a blob is detected on read and reported by path', async () => {
  const blobs = new BlobStore(tempDir(), { telemetry: false });
  const stored = await blobs.put(Buffer.from('{"important":true}'));
  const bytes = fs.readFileSync(stored.path);
  bytes[3] ^= 0x01;
  fs.writeFileSync(stored.path, bytes);
  await assert.rejects(blobs.read(stored.hash), (err) => err.code === 'E_BLOB_CORRUPT' && err.details.path === stored.path);
  assert.equal(await blobs.check(stored.hash), 'corrupt');
});

test('a missing blob is reported as E_BLOB_MISSING with its path', async () => {
  const blobs = new BlobStore(tempDir());
  const hash = sha256(Buffer.from('never stored'));
  await assert.rejects(blobs.read(hash), (err) => err.code === 'E_BLOB_MISSING' && err.details.path === blobs.pathOf(hash));
  assert.equal(await blobs.check(hash), 'missing');
});

test('storing over a corrupt copy replaces it with good bytes', async () => {
  const blobs = new BlobStore(tempDir(), { telemetry: false });
  const stored = await blobs.put(Buffer.from('heal me'));
  fs.writeFileSync(stored.path, 'garbage');
  const again = await blobs.put(Buffer.from('heal me'));
  assert.equal(again.written, true);
  assert.equal((await blobs.read(stored.hash)).toString(), 'heal me');
});

test('a blob name that is not a sha256 is refused, so it cannot become a path', async () => {
  const blobs = new BlobStore(tempDir());
  assert.throws(() => blobs.pathOf('../../etc/passwd'), { code: 'E_BAD_INPUT' });
});
