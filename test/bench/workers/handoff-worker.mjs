// One side of the lock hand-off measurement: takes the lock ROUNDS times, holding it HOLD_MS each
// time, and pauses 1 ms after each release so the other process, waiting in acquire, can take
// it. Reports wall-clock times (µs since the epoch, one clock for both processes) of each
// attempt, acquire and release; a hand-off is an acquire whose attempt began before the other
// side's release.
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const { acquireLock } = require('../../../dist/engine.js');

const [lockPath, rounds, holdMs] = process.argv.slice(2);
const now = () => (performance.timeOrigin + performance.now()) * 1000;
const spin = (ms) => { const until = performance.now() + ms; while (performance.now() < until); };
process.send({ ready: true });
await new Promise((resolve) => process.once('message', resolve));
const acquires = [];
const releases = [];
for (let i = 0; i < Number(rounds); i++) {
  const attempt = now();
  const lock = await acquireLock(lockPath, { telemetry: false, retryBaseMs: 1, retryMaxMs: 25, timeoutMs: 60_000 });
  acquires.push({ attempt, at: now() });
  spin(Number(holdMs)); // the work done under the lock
  releases.push(now());
  await lock.release();
  await new Promise((r) => setTimeout(r, 1));
}
process.send({ acquires, releases }, () => process.exit(0));
