// One process of the multi-process append benchmark: opens the ledger, waits for "go", then
// appends with PRODUCERS concurrent producers for MS milliseconds and reports its count.
// BUNDLE (optional): another engine bundle to load instead of dist/engine.js (processes-ab.mjs).
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const [file, producers, ms, bundle] = process.argv.slice(2);
const { openLedger } = require(bundle ?? '../../../dist/engine.js');

const ledger = await openLedger(file, { telemetry: false });
const payload = { user: 'bench', action: 'update', value: 'x'.repeat(100) };
process.send({ ready: true });
await new Promise((resolve) => process.once('message', resolve));
const start = performance.now();
let count = 0;
await Promise.all(
  Array.from({ length: Number(producers) }, async () => {
    while (performance.now() - start < Number(ms)) {
      await ledger.append('bench', payload);
      count++;
    }
  }),
);
const seconds = (performance.now() - start) / 1000;
await ledger.close();
process.send({ count, seconds }, () => process.exit(0));
