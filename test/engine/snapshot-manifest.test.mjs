import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import fc from 'fast-check';

const require = createRequire(import.meta.url);
const { parseManifest, serializeManifest, LedgerlockError, SNAPSHOT_FORMAT } = require('../../dist/engine.js');

const hex64 = fc.stringMatching(/^[0-9a-f]{64}$/);
const segment = fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,12}$/).filter((s) => s !== '.' && s !== '..' && !s.includes('..'));
const relPath = fc.array(segment, { minLength: 1, maxLength: 4 }).map((parts) => parts.join('/'));
const file = fc.record({ path: relPath, sha256: hex64, size: fc.nat(), mode: fc.integer({ min: 0, max: 0o7777 }) });
const manifest = fc.record({
  format: fc.constant(SNAPSHOT_FORMAT),
  version: fc.constant(1),
  id: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_-]{0,40}$/),
  createdAt: fc.date({ min: new Date(0), max: new Date(4e12), noInvalidDate: true }).map((d) => d.toISOString()),
  label: fc.option(fc.string({ maxLength: 50 }), { nil: undefined }),
  include: fc.array(fc.string({ maxLength: 20 }), { maxLength: 4 }),
  files: fc.uniqueArray(file, { selector: (f) => f.path, maxLength: 8 }),
  ledgers: fc.array(fc.record({
    name: fc.string({ minLength: 1, maxLength: 10 }),
    path: relPath,
    lastId: fc.option(fc.nat(), { nil: null }),
    crc: fc.option(fc.stringMatching(/^[0-9a-f]{8}$/), { nil: null }),
    bytes: fc.nat(),
  }), { maxLength: 3 }),
}, { requiredKeys: ['format', 'version', 'id', 'createdAt', 'include', 'files', 'ledgers'] });

function onlyLedgerlockErrors(fn) {
  try {
    fn();
    return true;
  } catch (err) {
    return err instanceof LedgerlockError;
  }
}

test('a manifest survives serialize then parse unchanged', () => {
  fc.assert(fc.property(manifest, (m) => {
    // fast-check builds null-prototype objects; compare as plain data.
    assert.deepEqual(parseManifest(Buffer.from(serializeManifest(m))), JSON.parse(JSON.stringify(m)));
  }), { numRuns: 300 });
});

test('parsing arbitrary bytes throws only LedgerlockErrors', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => onlyLedgerlockErrors(() => parseManifest(bytes))), { numRuns: 500 });
});

test('parsing arbitrary JSON throws only LedgerlockErrors', () => {
  fc.assert(fc.property(fc.jsonValue(), (value) => onlyLedgerlockErrors(() => parseManifest(Buffer.from(JSON.stringify(value) ?? 'null')))), { numRuns: 500 });
});

test('a mutated valid manifest parses or fails with a LedgerlockError, never anything else', () => {
  const mutation = fc.tuple(manifest, fc.constantFrom('format', 'version', 'id', 'createdAt', 'files', 'ledgers', 'include'), fc.anything());
  fc.assert(fc.property(mutation, ([m, key, value]) => onlyLedgerlockErrors(() => parseManifest(Buffer.from(JSON.stringify({ ...m, [key]: value }) ?? '')))), { numRuns: 500 });
});

test('a file path that climbs out of the workspace is rejected by the schema', () => {
  for (const bad of ['../x.json', '/etc/passwd', 'a/../../b', 'a//b', 'C:/x', 'a\\..\\b', './a']) {
    const m = { format: SNAPSHOT_FORMAT, version: 1, id: 'x1', createdAt: new Date().toISOString(), include: [], ledgers: [], files: [{ path: bad, sha256: 'a'.repeat(64), size: 1, mode: 0o644 }] };
    assert.throws(() => parseManifest(Buffer.from(JSON.stringify(m))), { code: 'E_SCHEMA' }, bad);
  }
});
