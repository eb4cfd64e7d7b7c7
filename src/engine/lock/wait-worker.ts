/** The worker thread behind acquireLockSync's waits (see sync-wait.ts): one wait per request. */
import { workerData } from 'node:worker_threads';
import { LedgerlockError, errnoCode } from '../errors';
import type { TelemetryEvent } from '../telemetry';
import { resolveAcquire } from './acquire-options';
import { Contention } from './contention';
import type { WaitReply, WaitWorkerData } from './sync-wait';

const { target, options, flag, port } = workerData as WaitWorkerData;

function reply(message: WaitReply): void {
  port.postMessage(message);
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
}

const forward = (event: TelemetryEvent) => reply({ kind: 'telemetry', event });
const contention = new Contention(target, resolveAcquire({ ...options, telemetry: options.telemetry === 'forward' ? forward : options.telemetry }));
let attempt = 0;

port.on('message', () => {
  contention.next(attempt++).then(
    (gaveUp) => reply(gaveUp ? { kind: 'run-without-lock' } : { kind: 'retry', reported: contention.reported, started: contention.started }),
    (err: unknown) => {
      if (err instanceof LedgerlockError) reply({ kind: 'error', code: err.code, message: err.message, details: structuredCloneable(err.details) });
      else
        reply({
          kind: 'error',
          code: 'E_IO',
          message: `waiting for ${target} failed: ${(err as Error)?.message ?? String(err)}`,
          details: { path: target, errno: errnoCode(err) },
        });
    },
  );
});

function structuredCloneable(details: Record<string, unknown>): Record<string, unknown> {
  return JSON.parse(JSON.stringify(details)) as Record<string, unknown>;
}
