// One side of the lock hand-off measurement: takes the lock ROUNDS times; after each release it
// pauses briefly so the other process (waiting in acquire) gets the lock. Reports the wall
// clock (µs since the epoch, same clock for both processes) of every acquire and release.
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const { acquireLock } = require('../../../dist/engine.js');

const [lockPath, rounds, holdMs] = process.argv.slice(2);
const now = () => (performance.timeOrigin + performance.now()) * 1000;
const spin = (ms) => { const until = performance.now() + ms; while (performance.now() < until); };
process.send({ ready: true });
await new Promise((resolve) => process.once('message', resolve));
const acquired = [];
const released = [];
for (let i = 0; i < Number(rounds); i++) {
  const lock = await acquireLock(lockPath, { telemetry: false, retryBaseMs: 1, retryMaxMs: 25, timeoutMs: 60_000 });
  acquired.push(now());
  spin(Number(holdMs)); // the work done under the lock
  released.push(now());
  await lock.release();
  await new Promise((r) => setTimeout(r, 2));
}
process.send({ acquired, released }, () => process.exit(0));
