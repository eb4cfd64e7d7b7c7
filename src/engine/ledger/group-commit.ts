/**
 * Group commit: appends made while a write is in flight wait and go out together in the next
 * batch, so N concurrent appends cost far fewer than N lock round trips, writes and fsyncs.
 */
import type { Draft } from './record';
import type { LedgerEvent } from './types';

export interface WrittenBatch {
  events: LedgerEvent[];
  /** Settles once the batch is as durable as the ledger's mode promises. */
  durable: Promise<void>;
}

interface Waiting {
  drafts: Draft[];
  /** Hands the waiter its events: `drafts.length` of them from `at` in the batch's events. */
  resolve(events: LedgerEvent[], at: number): void;
  reject(err: unknown): void;
}

/** A batch is cut at this many bytes of payload so one write stays a sane size. */
const MAX_BATCH_BYTES = 8 * 1024 * 1024;

export class GroupCommitter {
  private queue: Waiting[] = [];
  private running: Promise<void> | null = null;
  private readonly settling = new Set<Promise<void>>();

  /**
   * `stable`: what a failure reaches the appenders as, mapped once per batch so an append needs
   * no promise of its own to map it.
   */
  constructor(
    private readonly writeBatch: (drafts: Draft[]) => Promise<WrittenBatch>,
    private readonly stable: (err: unknown) => unknown = (err) => err,
  ) {}

  submit(drafts: Draft[]): Promise<LedgerEvent[]> {
    return new Promise((resolve, reject) => this.enqueue({ drafts, resolve: (events, at) => resolve(events.slice(at, at + drafts.length)), reject }));
  }

  /** One event: its own event back, without an array per append. */
  submitOne(draft: Draft): Promise<LedgerEvent> {
    return new Promise((resolve, reject) => this.enqueue({ drafts: [draft], resolve: (events, at) => resolve(events[at]!), reject }));
  }

  private enqueue(w: Waiting): void {
    this.queue.push(w);
    // Started from a microtask so appends made in the same tick share the first batch.
    this.running ??= Promise.resolve().then(() => this.drain());
  }

  /** Appends submitted and not yet taken into a batch. */
  get queued(): number {
    return this.queue.length;
  }

  /** Resolves when every submitted append has settled. */
  async idle(): Promise<void> {
    while (this.running || this.settling.size > 0) {
      await this.running;
      await Promise.all([...this.settling]);
    }
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.takeBatch();
        const drafts: Draft[] = [];
        for (const w of batch) for (const d of w.drafts) drafts.push(d);
        let written: WrittenBatch;
        try {
          written = await this.writeBatch(drafts);
        } catch (err) {
          const failure = this.stable(err);
          for (const w of batch) w.reject(failure);
          continue;
        }
        const settle = written.durable.then(
          () => {
            let at = 0;
            for (const w of batch) {
              w.resolve(written.events, at);
              at += w.drafts.length;
            }
          },
          (err: unknown) => {
            const failure = this.stable(err);
            for (const w of batch) w.reject(failure);
          },
        );
        this.settling.add(settle);
        void settle.finally(() => this.settling.delete(settle));
      }
    } finally {
      this.running = null;
    }
  }

  private takeBatch(): Waiting[] {
    let bytes = 0;
    let n = 0;
    while (n < this.queue.length && (n === 0 || bytes < MAX_BATCH_BYTES)) {
      for (const d of this.queue[n]!.drafts) bytes += d.bodyBytes;
      n++;
    }
    return this.queue.splice(0, n);
  }
}
