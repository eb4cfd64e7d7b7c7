// Property tests over the lock-file parsers: whatever bytes a lock file holds, reading it either
// classifies it or fails with a LedgerlockError carrying a known code — never anything else.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { engine, nativeLock, tempDir } from '../fixtures/lock-helpers.mjs';

const { parseLockContent, parseNativeLock, inspectLock, LedgerlockError, MAX_LOCK_BYTES } = engine;
const KINDS = new Set(['ledgerlock', 'json', 'text', 'empty', 'unknown']);
const NATIVE_CODES = new Set(['E_LOCK_UNREADABLE', 'E_INVALID_UTF8', 'E_BAD_JSON', 'E_SCHEMA']);

/** Bytes a lock file might plausibly or implausibly hold. */
const lockBytes = fc.oneof(
  fc.uint8Array({ maxLength: 512 }),
  fc.string({ unit: 'binary', maxLength: 200 }).map((s) => Buffer.from(s, 'utf8')),
  fc.json().map((s) => Buffer.from(s)),
  fc.record({
    pid: fc.oneof(fc.integer(), fc.double(), fc.string(), fc.constant(null)),
    host: fc.oneof(fc.string(), fc.integer()),
    timestamp: fc.oneof(fc.integer(), fc.double(), fc.string(), fc.date({ noInvalidDate: true }).map((d) => d.toISOString())),
    owner: fc.anything(),
  }, { requiredKeys: [] }).map((o) => Buffer.from(JSON.stringify(o))),
  fc.tuple(fc.nat(), fc.string({ maxLength: 20 }), fc.date({ noInvalidDate: true })).map(([p, o, d]) => Buffer.from(`${p} ${o} ${d.toISOString()}`)),
  fc.record({ pid: fc.integer(), owner: fc.string(), version: fc.integer(), acquiredAt: fc.string() }, { requiredKeys: [] })
    .map((o) => Buffer.from(JSON.stringify({ ...nativeLock(), ...o }))),
);

test('parseLockContent never throws and always returns a known kind with a holder or a reason', () => {
  fc.assert(fc.property(lockBytes, (bytes) => {
    const parsed = parseLockContent(bytes);
    assert.ok(KINDS.has(parsed.kind), parsed.kind);
    if (parsed.kind === 'unknown') assert.equal(typeof parsed.problem, 'string');
    if (parsed.holder !== null) {
      const { pid, acquiredAt } = parsed.holder;
      if (pid !== undefined) assert.ok(Number.isSafeInteger(pid) && pid > 0 && pid <= 2 ** 31 - 1);
      if (acquiredAt !== undefined) assert.ok(Number.isFinite(Date.parse(acquiredAt)));
    }
  }), { numRuns: 2000 });
});

test('parseNativeLock either returns a valid native lock or throws a LedgerlockError with a known code', () => {
  fc.assert(fc.property(lockBytes, (bytes) => {
    try {
      const lock = parseNativeLock(bytes, { path: 'x.lock' });
      assert.equal(lock.format, 'ledgerlock-lock');
      assert.equal(parseLockContent(bytes).kind, 'ledgerlock', 'both parsers agree');
    } catch (err) {
      assert.ok(err instanceof LedgerlockError, String(err));
      assert.ok(NATIVE_CODES.has(err.code), err.code);
    }
  }), { numRuns: 2000 });
});

test('oversized content is unknown (parseLockContent) and E_LOCK_UNREADABLE (parseNativeLock)', () => {
  const big = Buffer.alloc(MAX_LOCK_BYTES + 1, 0x20);
  assert.equal(parseLockContent(big).kind, 'unknown');
  assert.throws(() => parseNativeLock(big), (err) => err.code === 'E_LOCK_UNREADABLE');
});

test('inspectLock on arbitrary file content always yields a LockInfo with a known state', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'fuzz.lock');
  await fc.assert(fc.asyncProperty(lockBytes, async (bytes) => {
    writeFileSync(file, bytes);
    const info = await inspectLock(file);
    assert.ok(['held', 'contended', 'stale', 'orphaned', 'unknown'].includes(info.state));
    assert.equal(info.reapable, info.state === 'stale' || info.state === 'orphaned');
    assert.equal(typeof info.reason, 'string');
    assert.ok(info.reason.length > 0);
    assert.equal(info.bytes, bytes.length);
  }), { numRuns: 200 });
});
