/**
 * Waiting for a held lock without an event loop: the sync acquire blocks on a shared flag
 * while a worker thread runs the async acquire's own waiting rules (judge, reap if stale,
 * report contention, time out naming the holder, wake on release). The worker never takes the
 * lock itself; it only says when the next exclusive-create attempt is due, so the lock file is
 * always created by, and names, the thread that holds it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { ErrorCode, LedgerlockError, LockContentionError } from '../errors';
import type { TelemetryEvent } from '../telemetry';
import type { AcquireOptions } from './acquire-options';

/** What the worker says back after each wait. */
export type WaitReply =
  | { kind: 'retry'; reported: boolean; started: number }
  | { kind: 'run-without-lock' }
  | { kind: 'telemetry'; event: TelemetryEvent }
  | { kind: 'error'; code: string; message: string; details: Record<string, unknown> };

export interface WaitWorkerData {
  target: string;
  options: Omit<AcquireOptions, 'signal' | 'telemetry'> & { telemetry?: string | false | 'forward' | undefined };
  flag: Int32Array;
  port: MessagePort;
}

/**
 * The worker's file, built into dist/ beside the bundle that holds this code; from an ES
 * module bundle (no __dirname) it is found beside the script that was started (dist/cli.js).
 */
const WORKER_FILE = 'lock-wait-worker.js';

function workerPath(): string {
  const dirs: string[] = [];
  if (typeof __dirname === 'string') dirs.push(__dirname, path.dirname(__dirname)); // dist/, or dist/compat/
  if (process.argv[1] !== undefined) {
    // The started script, through an npm bin link (node_modules/.bin/ledgerlock → dist/cli.js).
    try {
      dirs.push(path.dirname(fs.realpathSync(process.argv[1])));
    } catch {
      dirs.push(path.dirname(path.resolve(process.argv[1])));
    }
  }
  for (const dir of dirs) {
    const candidate = path.join(dir, WORKER_FILE);
    if (fs.existsSync(candidate)) return candidate;
  }
  return path.join(dirs[0] ?? '.', WORKER_FILE);
}

export class SyncWaiter {
  private readonly flag = new Int32Array(new SharedArrayBuffer(4));
  private readonly port: MessagePort;
  private readonly worker: Worker;
  private readonly onTelemetry: ((event: TelemetryEvent) => unknown) | undefined;
  /** The worker recorded LOCK_CONTENDED; when the wait began. */
  reported = false;
  started = Date.now();

  constructor(target: string, opts: Omit<AcquireOptions, 'signal'>) {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    const { telemetry, ...rest } = opts as AcquireOptions;
    delete rest.signal;
    this.onTelemetry = typeof telemetry === 'function' ? telemetry : undefined;
    const data: WaitWorkerData = {
      target,
      options: { ...rest, telemetry: typeof telemetry === 'function' ? 'forward' : telemetry },
      flag: this.flag,
      port: port2,
    };
    this.worker = new Worker(workerPath(), { workerData: data, transferList: [port2] });
    this.worker.unref();
  }

  /** Blocks until the next create attempt is due. Throws what the async acquire would throw. */
  next(): 'retry' | 'run-without-lock' {
    this.port.postMessage('wait');
    for (;;) {
      Atomics.wait(this.flag, 0, 0);
      Atomics.store(this.flag, 0, 0);
      for (let m = receiveMessageOnPort(this.port); m !== undefined; m = receiveMessageOnPort(this.port)) {
        const reply = m.message as WaitReply;
        if (reply.kind === 'telemetry') {
          try {
            void Promise.resolve(this.onTelemetry?.(reply.event)).catch(() => undefined);
          } catch {
            // recording never fails the operation
          }
          continue;
        }
        if (reply.kind === 'error') {
          if (reply.code === ErrorCode.LockTimeout) throw new LockContentionError(reply.message, reply.details);
          throw new LedgerlockError(reply.code as ErrorCode, reply.message, reply.details);
        }
        if (reply.kind === 'retry') {
          this.reported = reply.reported;
          this.started = reply.started;
        }
        return reply.kind;
      }
    }
  }

  close(): void {
    this.port.close();
    void this.worker.terminate();
  }
}
