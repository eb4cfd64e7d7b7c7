// One process of the multi-process append benchmark: opens the ledger, waits for "go", then
// appends with PRODUCERS concurrent producers for MS milliseconds and reports its count.
// BUNDLE (optional): another engine bundle to load instead of dist/engine.js (processes-ab.mjs).
import { createRequire } from 'node:module';
import { produceFor } from '../measure.mjs';
const require = createRequire(import.meta.url);
const [file, producers, ms, bundle] = process.argv.slice(2);
const { openLedger } = require(bundle ?? '../../../dist/engine.js');

const ledger = await openLedger(file, { telemetry: false });
const payload = { user: 'bench', action: 'update', value: 'x'.repeat(100) };
process.send({ ready: true });
await new Promise((resolve) => process.once('message', resolve));
const { count, seconds } = await produceFor(Number(producers), Number(ms), () => ledger.append('bench', payload));
await ledger.close();
process.send({ count, seconds }, () => process.exit(0));
