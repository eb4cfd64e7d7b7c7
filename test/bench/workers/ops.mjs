// Runs N operations of one benchmark path, for `strace -c`: syscalls per operation are the
// difference between two runs with different N, divided by the difference.
import { closeSync, fdatasyncSync, fsyncSync, mkdirSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
const require = createRequire(import.meta.url);
const engine = require('../../../dist/engine.js');

const [path, n, dir] = process.argv.slice(2);
const count = Number(n);
const payload = { user: 'bench', action: 'update', value: 'x'.repeat(100) };
const line = Buffer.from(JSON.stringify({ id: 1, ts: new Date().toISOString(), type: 'bench', data: payload, crc: '00000000' }) + '\n');
const data = Buffer.alloc(4096, 7);
await engine.ensureStore(dir);
const ledgerPath = join(dir, '.ledgerlock', 'ledgers', 'events.jsonl');
mkdirSync(join(dir, 'locks'), { recursive: true });
const lockPath = join(dir, 'locks', 'bench.lock');

const paths = {
  async append() { const l = await engine.openLedger(ledgerPath, { telemetry: false }); for (let i = 0; i < count; i++) await l.append('bench', payload); await l.close(); },
  async appendSync() { const l = await engine.openLedger(ledgerPath, { telemetry: false }); for (let i = 0; i < count; i++) { l.appendSync('bench', payload); if (i % 8 === 7) await new Promise((r) => setImmediate(r)); } await l.close(); },
  rawAppend() { const fd = openSync(join(dir, 'raw.bin'), 'a'); for (let i = 0; i < count; i++) { writeSync(fd, line); fdatasyncSync(fd); } closeSync(fd); },
  async lock() { for (let i = 0; i < count; i++) await (await engine.acquireLock(lockPath, { telemetry: false })).release(); },
  lockSync() { for (let i = 0; i < count; i++) engine.acquireLockSync(lockPath, { telemetry: false }).releaseSync(); },
  rawLock() { for (let i = 0; i < count; i++) { const fd = openSync(lockPath, 'wx'); writeSync(fd, line); closeSync(fd); unlinkSync(lockPath); } },
  async atomic() { for (let i = 0; i < count; i++) await engine.atomicWriteFile(join(dir, 'a.bin'), data, { telemetry: false }); },
  atomicSync() { for (let i = 0; i < count; i++) engine.atomicWriteFileSync(join(dir, 'a.bin'), data, { telemetry: false }); },
  rawAtomic() {
    for (let i = 0; i < count; i++) {
      const tmp = join(dir, `.r.bin.${i}.tmp`);
      const fd = openSync(tmp, 'wx', 0o644); writeSync(fd, data); fsyncSync(fd); closeSync(fd);
      renameSync(tmp, join(dir, 'r.bin'));
      const d = openSync(dir, 'r'); fsyncSync(d); closeSync(d);
    }
  },
};
await paths[path]();
