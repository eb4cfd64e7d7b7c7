/**
 * A held lock: its heartbeat (verify the file still names us, then touch that same inode),
 * compromise reporting, ownership-checked release, and best-effort removal at process exit.
 */
import { errnoCode } from '../errors';
import { fsl } from '../fs';
import { emitTelemetry, type TelemetryTarget } from '../telemetry';
import { ownerIn, removeIfOwnedSync } from './file';
import { describeHolder, MAX_LOCK_BYTES, parseLockContent } from './holder';

export interface LockHandle {
  readonly path: string;
  /** The random id written into the lock file; '' when the lock is not held. */
  readonly owner: string;
  /** True while this process holds the lock: false after release, after compromise, and in run-without-lock mode. */
  readonly held: boolean;
  /** The lock file was removed or replaced by someone else while we held it. */
  readonly compromised: boolean;
  onCompromised(cb: (reason: string) => void): void;
  release(): Promise<void>;
  /** release(), synchronously; a lost lock is reported to onCompromised at once and to telemetry in the background. */
  releaseSync(): void;
}

const heldLocks = new Set<HeldLock>();
let exitHookInstalled = false;

export class HeldLock implements LockHandle {
  private released = false;
  private lost: string | undefined;
  private beating = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly callbacks: ((reason: string) => void)[] = [];

  constructor(readonly path: string, readonly owner: string, heartbeatMs: number, private readonly telemetry: TelemetryTarget) {
    this.timer = setInterval(() => void this.heartbeat(), heartbeatMs);
    this.timer.unref();
    heldLocks.add(this);
    installExitHook();
  }

  get held(): boolean {
    return !this.released && this.lost === undefined;
  }

  get compromised(): boolean {
    return this.lost !== undefined;
  }

  onCompromised(cb: (reason: string) => void): void {
    if (this.lost !== undefined) {
      const reason = this.lost;
      queueMicrotask(() => cb(reason));
    } else {
      this.callbacks.push(cb);
    }
  }

  /** Why the lock was lost, if it was. */
  get compromiseReason(): string | undefined {
    return this.lost;
  }

  async release(): Promise<void> {
    const lost = this.removeFile();
    if (lost !== undefined) await this.compromise(lost);
  }

  releaseSync(): void {
    const lost = this.removeFile();
    if (lost !== undefined) void this.compromise(lost);
  }

  /** Removes the lock file if it is still ours; why the lock turned out lost, if it did. */
  private removeFile(): string | undefined {
    if (this.released) return undefined;
    this.released = true;
    this.stop();
    if (this.lost !== undefined) return undefined;
    const { outcome, trash } = removeIfOwnedSync(this.path, this.owner);
    if (outcome === 'gone') return 'the lock file was gone at release';
    if (outcome === 'not-ours') return 'the lock file named another owner at release; it was left in place';
    if (outcome === 'not-ours-left') return `the lock file named another owner at release; its bytes are at ${trash}`;
    return undefined;
  }

  /** Refreshes mtime only after reading the file through the same descriptor and finding our owner id. */
  private async heartbeat(): Promise<void> {
    if (this.beating || !this.held) return;
    this.beating = true;
    let file;
    try {
      file = await fsl().open(this.path, 'r');
      const buffer = Buffer.alloc(MAX_LOCK_BYTES + 1);
      let length = 0;
      for (let n = -1; n !== 0 && length < buffer.length; length += n) n = await file.read(buffer, length, buffer.length - length, length);
      const content = buffer.subarray(0, length);
      if (!this.held) return;
      if (ownerIn(content) !== this.owner) {
        await this.compromise(`the lock file was replaced (it now names ${describeHolder(parseLockContent(content).holder)})`);
        return;
      }
      const now = new Date();
      await file.utimes(now, now);
    } catch (err) {
      // A vanished file is a lost lock; anything else (EIO, EMFILE) may pass, so try again next beat.
      if (errnoCode(err) === 'ENOENT' && this.held) await this.compromise('the lock file was removed by someone else');
    } finally {
      this.beating = false;
      await file?.close().catch(() => undefined);
    }
  }

  private async compromise(reason: string): Promise<void> {
    if (this.lost !== undefined) return;
    this.lost = reason;
    this.stop();
    for (const cb of this.callbacks.splice(0)) {
      try {
        cb(reason);
      } catch {
        // a listener's failure must not stop the others from hearing about it
      }
    }
    await emitTelemetry(this.telemetry, this.path, { type: 'LOCK_COMPROMISED', data: { lock: this.path, reason } });
  }

  private stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    heldLocks.delete(this);
  }

  /** Synchronous, for the exit hook: remove the file only if it still names us. */
  removeAtExit(): void {
    try {
      if (ownerIn(fsl().readFileSync(this.path)) === this.owner) fsl().unlinkSync(this.path);
    } catch {
      // exiting anyway; a leftover lock names a dead pid and will be reaped
    }
  }
}

/** What a task gets in run-without-lock mode after the wait timed out. */
export class UnheldLock implements LockHandle {
  readonly owner = '';
  readonly held = false;
  readonly compromised = false;
  constructor(readonly path: string) {}
  onCompromised(): void {}
  async release(): Promise<void> {}
  releaseSync(): void {}
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const lock of heldLocks) lock.removeAtExit();
  });
}
