/** The options of acquireLock and its sync form, resolved and checked in one place. */
import * as path from 'node:path';
import { ErrorCode, LedgerlockError } from '../errors';
import { checkDuration } from '../options';
import type { TelemetryTarget } from '../telemetry';
import { resolveTiming, type LockTiming } from './timing';

export interface AcquireOptions extends LockTiming {
  /** Written into the lock so others can see who holds it. Default: this script's name. */
  tool?: string;
  /** Give up waiting after this long. Default 10 s. */
  timeoutMs?: number;
  /** How often the holder refreshes the lock's mtime. Default staleMs / 3. */
  heartbeatMs?: number;
  /** First backoff ceiling (full jitter doubles it each retry). Default 5 ms. */
  retryBaseMs?: number;
  /** Largest backoff ceiling. Default 250 ms. */
  retryMaxMs?: number;
  /** 'run-without-lock': on timeout, hand the task a handle whose `held` is false instead of throwing. */
  onTimeout?: 'throw' | 'run-without-lock';
  /** Create the lock's missing parent directories. Default true. */
  createParents?: boolean;
  /**
   * fsync the new lock file and its directory, so after a power loss the lock still names its
   * (now dead) holder. Default false: mutual exclusion rests on the kernel's exclusive create,
   * not on the disk, and a power loss ends every holder anyway; what it can leave (no file, an
   * empty one, one from before the boot) is stale by the rules. The fsyncs cost 10-20x.
   */
  durable?: boolean;
  telemetry?: TelemetryTarget;
  signal?: AbortSignal;
}

export interface ResolvedAcquire {
  staleMs: number;
  contentionMs: number;
  timeoutMs: number;
  heartbeatMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
  tool: string;
  runWithoutLock: boolean;
  createParents: boolean;
  durable: boolean;
  telemetry: TelemetryTarget;
  signal: AbortSignal | undefined;
}

export function resolveAcquire(opts: AcquireOptions): ResolvedAcquire {
  const { staleMs, contentionMs } = resolveTiming({ ...opts, now: 0 });
  if (opts.onTimeout !== undefined && opts.onTimeout !== 'throw' && opts.onTimeout !== 'run-without-lock') {
    throw new LedgerlockError(ErrorCode.BadOption, `option onTimeout must be 'throw' or 'run-without-lock', got ${JSON.stringify(opts.onTimeout)}`, {
      option: 'onTimeout',
    });
  }
  const retryBaseMs = checkDuration('retryBaseMs', opts.retryBaseMs ?? 5);
  return {
    staleMs,
    contentionMs,
    timeoutMs: checkDuration('timeoutMs', opts.timeoutMs ?? 10_000),
    heartbeatMs: checkDuration('heartbeatMs', opts.heartbeatMs ?? Math.max(1, Math.floor(staleMs / 3))),
    retryBaseMs,
    retryMaxMs: checkDuration('retryMaxMs', opts.retryMaxMs ?? Math.max(250, retryBaseMs)),
    tool: opts.tool ?? defaultTool(),
    runWithoutLock: opts.onTimeout === 'run-without-lock',
    createParents: opts.createParents ?? true,
    durable: opts.durable ?? false,
    telemetry: opts.telemetry,
    signal: opts.signal,
  };
}

/** The last default tool name and the script it came from: resolved on every acquire, it rarely changes. */
let toolOf: { script: string | undefined; tool: string } | undefined;

function defaultTool(): string {
  const script = process.argv[1];
  if (toolOf?.script !== script || toolOf === undefined) toolOf = { script, tool: script ? path.basename(script) : path.basename(process.execPath) };
  return toolOf.tool;
}
