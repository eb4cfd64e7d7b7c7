/**
 * Waking a waiter when the lock it waits for is released, instead of sleeping out its whole
 * backoff: a watch on the lock's directory fires on the unlink or rename of the lock file.
 * The backoff timer stays as the fallback (some file systems deliver no events), so a missed
 * event only costs the old latency, never correctness.
 *
 * An event wakes the waiter only while the lock's name is free: the next holder's create and
 * write of its lock file fire events too, and a waiter woken by them would only fail its create
 * (README, "Processes sharing a ledger"). The look is taken after the event, so a release that
 * follows it fires an event of its own and is never missed.
 */
import { lstatSync, watch, type FSWatcher } from 'node:fs';
import * as path from 'node:path';

export class ReleaseWatch {
  private watcher: FSWatcher | null | undefined;
  private wake: (() => void) | null = null;
  private changed = false;

  constructor(private readonly lockPath: string) {}

  /** Resolves after `ms`, or as soon as the lock file's directory entry changes. */
  wait(ms: number, signal?: AbortSignal): Promise<void> {
    // A release between the failed create and the watch's start fired no event we could see:
    // the first wait looks once the watch is up.
    if (this.start() && !this.taken()) return Promise.resolve();
    if (this.changed) {
      this.changed = false;
      if (!this.taken()) return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.wake = null;
        resolve();
      };
      const onAbort = () => {
        clearTimeout(timer);
        this.wake = null;
        reject(signal?.reason);
      };
      const timer = setTimeout(done, Math.max(1, ms));
      this.wake = done;
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Whether the lock's name is taken right now (a hint only: the exclusive create decides). */
  taken(): boolean {
    try {
      return lstatSync(this.lockPath, { throwIfNoEntry: false }) !== undefined;
    } catch {
      return false; // cannot look: let the create attempt tell
    }
  }

  close(): void {
    this.watcher?.close();
    this.watcher = null;
  }

  /** Starts the watch if it is not started yet; true if it was not. */
  private start(): boolean {
    if (this.watcher !== undefined) return false;
    const name = path.basename(this.lockPath);
    try {
      this.watcher = watch(path.dirname(this.lockPath), { persistent: false }, (_event, file) => {
        if (file !== null && file.toString() !== name) return;
        if (this.taken()) return;
        if (this.wake) this.wake();
        else this.changed = true;
      });
      this.watcher.on('error', () => this.close());
    } catch {
      this.watcher = null; // no watch here (limits, platform): the backoff timer alone
    }
    return true;
  }
}
