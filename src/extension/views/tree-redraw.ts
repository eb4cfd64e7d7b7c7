/**
 * When a tree with asynchronous children asks VS Code to draw rows again (docs/ARCHITECTURE.md,
 * "Ledgers view: pages and Follow"). Two rules:
 *
 * - A change is never fired while a `getChildren` of the tree is still pending. VS Code would
 *   ask for the same children again, and the answer that arrives second registers rows whose
 *   ids the first already registered: "Element with id … is already registered", and the row
 *   stays empty. A change asked for meanwhile is fired once the pending answers are in (or
 *   after DEFER_MAX_MS, should one never come).
 * - At most one change per `minGapMs`: VS Code holds a tree's change back until 200 ms pass
 *   without another, so a change fired sooner after the last would wait 200 ms; waiting only
 *   for the rest of the window draws it sooner.
 */
import * as vscode from 'vscode';

/** The longest a change waits for pending children before it is fired anyway. */
const DEFER_MAX_MS = 5_000;

export class TreeRedraw<N> implements vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<N | N[] | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  /** Rows to draw again at the next change ('all': the whole tree). */
  private pending: Set<N> | 'all' | undefined;
  private last = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private fetching = 0;
  private deferredSince: number | undefined;

  constructor(private readonly minGapMs: number) {}

  /** Draws `what` again (undefined: the whole tree), as soon as the two rules allow. */
  request(what: N | N[] | undefined): void {
    if (what === undefined) this.pending = 'all';
    else if (this.pending !== 'all') {
      const pending = this.pending ?? new Set<N>();
      for (const n of Array.isArray(what) ? what : [what]) pending.add(n);
      this.pending = pending;
    }
    this.schedule();
  }

  /** Runs a `getChildren`; changes wait until it and every other pending one answered. */
  async children<T>(fetch: () => T | Promise<T>): Promise<T> {
    this.fetching++;
    try {
      return await fetch();
    } finally {
      this.fetching--;
      if (this.fetching === 0 && this.pending !== undefined) {
        // A change held back for the answers (its timer is only the bound) goes out now.
        if (this.deferredSince !== undefined) {
          clearTimeout(this.timer);
          this.timer = undefined;
        }
        this.schedule();
      }
    }
  }

  private schedule(): void {
    if (this.timer !== undefined) return;
    const wait = this.last + this.minGapMs - Date.now();
    if (wait <= 0) this.flush();
    else this.timer = setTimeout(() => this.flush(), wait);
  }

  private flush(): void {
    this.timer = undefined;
    if (this.pending === undefined) return;
    if (this.fetching > 0) {
      this.deferredSince ??= Date.now();
      const left = this.deferredSince + DEFER_MAX_MS - Date.now();
      // Fired by the last pending answer (children), or at the bound.
      if (left > 0) {
        this.timer = setTimeout(() => this.flush(), left);
        return;
      }
    }
    const pending = this.pending;
    this.pending = undefined;
    this.deferredSince = undefined;
    this.last = Date.now();
    this.changed.fire(pending === 'all' ? undefined : [...pending]);
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.changed.dispose();
  }
}
