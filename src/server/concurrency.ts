/** Runs `fn` over `items` with at most `limit` in flight, so 1,000 lock files don't open 1,000 files at once. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  });
  await Promise.all(workers);
  return results;
}

/** Coalesces bursts of work per key (a writer appending every second, a save storm). */
export class KeyedDebouncer {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly running = new Map<string, Promise<void>>();
  /** When the first of the events now waiting arrived, per key. */
  private readonly waitingSince = new Map<string, number>();

  /** `maxWaitMs`: a file written more often than `delayMs` is still looked at this often. */
  constructor(
    private readonly delayMs: number,
    private readonly maxWaitMs = 1000,
  ) {}

  schedule(key: string, work: () => Promise<void>): void {
    const since = this.waitingSince.get(key) ?? Date.now();
    this.waitingSince.set(key, since);
    const pending = this.timers.get(key);
    // Past the longest wait, a pending run is kept instead of pushed back again.
    if (pending && Date.now() - since >= this.maxWaitMs) return;
    clearTimeout(pending);
    this.timers.set(
      key,
      setTimeout(() => {
        this.timers.delete(key);
        this.waitingSince.delete(key);
        // Work for one key never overlaps itself.
        const previous = this.running.get(key) ?? Promise.resolve();
        const current = previous
          .then(work)
          .catch(() => undefined)
          .finally(() => {
            if (this.running.get(key) === current) this.running.delete(key);
          });
        this.running.set(key, current);
      }, this.delayMs),
    );
  }

  dispose(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.waitingSince.clear();
  }
}
