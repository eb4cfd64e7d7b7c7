/**
 * A held lock: its heartbeat (verify the file still names us, then touch that same inode),
 * an on-demand ownership check, compromise reporting, ownership-checked release, and
 * best-effort removal at process exit.
 */
import { ErrorCode, errnoCode, isLedgerlockError } from '../errors';
import { fsl, statAtOpen, type OpenFile } from '../fs';
import { emitTelemetry, type TelemetryTarget } from '../telemetry';
import { namesOwner, ownerIn, removeIfOwnedSync, type KeptLockFile } from './file';
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
  /** The acquire found the lock taken at least once before it got it (someone else wanted it too). */
  waitedForIt = false;
  /** LOCK_COMPROMISED being recorded, once the lock is found lost. */
  private reported: Promise<void> | undefined;
  /** The inode we created: a file at our path that is another inode is not our lock, whatever it says. */
  private readonly identity: { dev: number; ino: number } | undefined;
  /**
   * The create's descriptor, open until the release: while it is open the inode cannot be
   * freed, so its number cannot pass to another file, and the path naming it proves the file
   * there is the one we created (docs/ARCHITECTURE.md, "Lock create, release and reap").
   */
  private kept: KeptLockFile | undefined;

  constructor(
    readonly path: string,
    readonly owner: string,
    heartbeatMs: number,
    private readonly telemetry: TelemetryTarget,
    created?: { dev: number; ino: number },
    file?: OpenFile,
  ) {
    // From the create's descriptor when the file system layer gave it: no second lookup, and no window for another file to take the path.
    this.identity = created ?? inodeOf(path);
    if (file !== undefined && created !== undefined) this.kept = { file, identity: created };
    else file?.closeSync();
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

  /**
   * Whether the lock is still ours right now: the file at our path is the inode we created and
   * still names our owner id. With the create's descriptor kept, an lstat of the path and a read
   * through that descriptor (its inode cannot have been freed and its number reused); without
   * it, an open, an fstat and a read (the inode alone is not enough then, since a freed inode's
   * number is soon given to a new file). A lock found lost is compromised for
   * good (onCompromised, LOCK_COMPROMISED); returns why, or undefined while it is ours. A file
   * that cannot be read for another reason (EMFILE, EIO) proves nothing, as in the heartbeat.
   */
  checkOwnedSync(): string | undefined {
    return this.judged(() => this.lossNow());
  }

  /**
   * The same in one stat: the path no longer names the inode we created. Cheap enough before
   * every write under a lingering lock; a pass is not proof (see checkOwnedSync), a failure is.
   */
  checkInodeSync(): string | undefined {
    if (this.identity === undefined) return this.checkOwnedSync();
    return this.judged(() => {
      let st;
      try {
        st = fsl().statSync(this.path);
      } catch (err) {
        return errnoCode(err) === 'ENOENT' ? 'the lock file was removed by someone else' : undefined;
      }
      return st.dev === this.identity!.dev && st.ino === this.identity!.ino ? undefined : 'the lock file was replaced by another file';
    });
  }

  /** Settles once a lost lock's LOCK_COMPROMISED is recorded (at once when it is not lost). */
  compromiseRecorded(): Promise<void> {
    return this.reported ?? Promise.resolve();
  }

  private judged(look: () => string | undefined): string | undefined {
    if (this.lost !== undefined) return this.lost;
    if (this.released) return 'the lock was already released';
    const lost = look();
    if (lost !== undefined) void this.compromise(lost);
    return lost;
  }

  private lossNow(): string | undefined {
    const kept = this.kept;
    if (kept !== undefined) {
      let st;
      try {
        st = fsl().lstatSync(this.path);
      } catch (err) {
        return errnoCode(err) === 'ENOENT' ? 'the lock file was removed by someone else' : undefined;
      }
      if (st.dev === kept.identity.dev && st.ino === kept.identity.ino) {
        let content;
        try {
          content = readSmall(kept.file, st.size);
        } catch {
          return undefined;
        }
        // Our inode, rewritten in place by someone who did not create it exclusively.
        return namesOwner(content, this.owner) ? undefined : `the lock file was replaced (it now names ${describeHolder(parseLockContent(content).holder)})`;
      }
      // Another file took the path: the open below reads it, for the message that says whose it is.
    }
    let file;
    try {
      file = fsl().openSync(this.path, 'r');
    } catch (err) {
      if (errnoCode(err) === 'ENOENT' || isLedgerlockError(err, ErrorCode.NotFound)) return 'the lock file was removed by someone else';
      // A symlink or a non-file put in its place is not the file we created.
      if (isLedgerlockError(err)) return `the lock file was replaced (${err.message})`;
      return undefined;
    }
    try {
      const st = statAtOpen(file) ?? file.statSync();
      if (this.identity !== undefined && (st.dev !== this.identity.dev || st.ino !== this.identity.ino)) {
        return `the lock file was replaced by another file (it now names ${describeHolder(parseLockContent(readSmall(file, st.size)).holder)})`;
      }
      const content = readSmall(file, st.size);
      if (!namesOwner(content, this.owner)) return `the lock file was replaced (it now names ${describeHolder(parseLockContent(content).holder)})`;
      return undefined;
    } catch {
      return undefined;
    } finally {
      file.closeSync();
    }
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
    let removed;
    try {
      removed = removeIfOwnedSync(this.path, this.owner, this.kept);
    } finally {
      this.closeKept();
    }
    const { outcome, trash } = removed;
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
    if (this.lost !== undefined) return this.reported;
    this.lost = reason;
    this.stop();
    for (const cb of this.callbacks.splice(0)) {
      try {
        cb(reason);
      } catch {
        // a listener's failure must not stop the others from hearing about it
      }
    }
    this.reported = emitTelemetry(this.telemetry, this.path, { type: 'LOCK_COMPROMISED', data: { lock: this.path, reason } });
    await this.reported;
  }

  private stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    heldLocks.delete(this);
    // A lost lock's descriptor pins nothing worth keeping; a released one is closed by removeFile after its last read.
    if (this.lost !== undefined) this.closeKept();
  }

  private closeKept(): void {
    const kept = this.kept;
    this.kept = undefined;
    try {
      kept?.file.closeSync();
    } catch {
      // closing a descriptor we opened: nothing to report
    }
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

function inodeOf(lockPath: string): { dev: number; ino: number } | undefined {
  try {
    const st = fsl().statSync(lockPath);
    return { dev: st.dev, ino: st.ino };
  } catch {
    return undefined; // already gone: the first check will say so
  }
}

/** A lock file's bytes, read through the open descriptor; more than any lock holds reads as a replacement. */
function readSmall(file: { readSync(b: Buffer, o: number, l: number, p: number): number }, size: number): Buffer {
  const buffer = Buffer.alloc(Math.min(size, MAX_LOCK_BYTES + 1));
  let length = 0;
  for (let n = -1; n !== 0 && length < buffer.length; length += n) n = file.readSync(buffer, length, buffer.length - length, length);
  return buffer.subarray(0, length);
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const lock of heldLocks) lock.removeAtExit();
  });
}
