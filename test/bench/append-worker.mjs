// One process of the multi-process append benchmark: appends for N ms, reports its count.
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const { openLedger } = require('../../dist/engine.js');

const [file, ms] = process.argv.slice(2);
const ledger = await openLedger(file, { telemetry: false });
const payload = { user: 'bench', action: 'update', value: 'x'.repeat(100) };
const start = performance.now();
let count = 0;
// Several producers per process, like a server handling requests.
await Promise.all(Array.from({ length: 8 }, async () => {
  while (performance.now() - start < Number(ms)) {
    await ledger.append('bench', payload);
    count++;
  }
}));
const seconds = (performance.now() - start) / 1000;
await ledger.close();
process.send({ count, seconds }, () => process.exit(0));
