/**
 * Waking a waiter when the lock it waits for is released, instead of sleeping out its whole
 * backoff: a watch on the lock's directory fires on the unlink or rename of the lock file.
 * The backoff timer stays as the fallback (some file systems deliver no events), so a missed
 * event only costs the old latency, never correctness.
 *
 * An event wakes the waiter only while the lock's name is free: the next holder's create and
 * write of its lock file fire events too, and a waiter woken by them would only fail its create
 * (README, "Processes sharing a ledger"). The look is taken after the event, so a release that
 * follows it fires an event of its own and is never missed; a waiter's first wait looks once
 * its subscription is up, for a release that came before it.
 *
 * One directory watch per folder serves every waiter of this process, and outlives the last of
 * them by FOLDER_LINGER_MS: a process that meets a busy lock again and again (many processes
 * appending to one ledger) does not build and tear down a watch for every wait.
 */
import { lstatSync, statSync, watch, type FSWatcher } from 'node:fs';
import * as path from 'node:path';

/** How long a folder's watch stays up after its last waiter left. */
const FOLDER_LINGER_MS = 1_000;
/** Folders watched at once by this process at most; an idle one is closed to make room. */
const MAX_FOLDERS = 64;

/** `file`: the name an event is about; null where the platform does not say (then every waiter looks). */
type Listener = (file: string | null) => void;

class FolderWatch {
  private readonly listeners = new Set<Listener>();
  private linger: NodeJS.Timeout | undefined;

  constructor(
    private readonly dir: string,
    private readonly watcher: FSWatcher,
    /** The watched folder's identity: a folder removed and made again at the path is another one. */
    readonly identity: string | undefined,
  ) {
    const own = path.basename(dir);
    watcher.on('change', (event, file) => {
      // A 'change' is a write to a file that keeps its name: never a release.
      if (event !== 'rename') return;
      const name = file === null ? null : file.toString();
      // The folder itself moved or went (an event named after it): this watch sees nothing more.
      if (name === own) this.close();
      for (const l of this.listeners) l(name);
    });
    watcher.on('error', () => this.close());
  }

  get idle(): boolean {
    return this.listeners.size === 0;
  }

  add(listener: Listener): () => void {
    if (this.linger !== undefined) clearTimeout(this.linger);
    this.linger = undefined;
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0 && folders.get(this.dir) === this) {
        this.linger = setTimeout(() => this.close(), FOLDER_LINGER_MS);
        this.linger.unref();
      }
    };
  }

  close(): void {
    if (this.linger !== undefined) clearTimeout(this.linger);
    this.linger = undefined;
    if (folders.get(this.dir) === this) folders.delete(this.dir);
    this.watcher.close();
    // Waiters still subscribed fall back to their backoff timers for the rest of their wait.
  }
}

const folders = new Map<string, FolderWatch>();

/** Listens for renames in `dir`; undefined when no watch can be had there (limits, platform). */
function subscribe(dir: string, listener: Listener): (() => void) | undefined {
  const identity = identityOf(dir);
  let folder = folders.get(dir);
  // A watch kept from before the folder was removed and made again watches nothing now.
  if (folder !== undefined && folder.identity !== identity) {
    folder.close();
    folder = undefined;
  }
  if (folder === undefined) {
    if (folders.size >= MAX_FOLDERS) {
      for (const [, f] of folders) {
        if (!f.idle) continue;
        f.close();
        break;
      }
    }
    let watcher: FSWatcher;
    try {
      watcher = watch(dir, { persistent: false });
    } catch {
      return undefined;
    }
    folder = new FolderWatch(dir, watcher, identity);
    folders.set(dir, folder);
  }
  return folder.add(listener);
}

/** Device, inode and birth time: a new folder may get a freed inode's number, not its birth time. */
function identityOf(dir: string): string | undefined {
  try {
    const st = statSync(dir, { throwIfNoEntry: false });
    return st === undefined ? undefined : `${st.dev}:${st.ino}:${st.birthtimeMs}`;
  } catch {
    return undefined;
  }
}

export class ReleaseWatch {
  /** undefined: not subscribed yet; null: no watch to be had, the backoff timer alone. */
  private unsubscribe: (() => void) | null | undefined;
  private wake: (() => void) | null = null;
  private changed = false;

  constructor(private readonly lockPath: string) {}

  /** Resolves after `ms`, or as soon as the lock file's directory entry changes. */
  wait(ms: number, signal?: AbortSignal): Promise<void> {
    // A release between the failed create and the subscription fired no event we could see:
    // the first wait looks once the subscription is up.
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
    this.unsubscribe?.();
    this.unsubscribe = null;
  }

  /** Subscribes to the folder's watch if not done yet; true if it was not. */
  private start(): boolean {
    if (this.unsubscribe !== undefined) return false;
    const name = path.basename(this.lockPath);
    this.unsubscribe =
      subscribe(path.dirname(this.lockPath), (file) => {
        if ((file !== null && file !== name) || this.taken()) return;
        if (this.wake) this.wake();
        else this.changed = true;
      }) ?? null;
    return true;
  }
}
