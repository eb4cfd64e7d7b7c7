/**
 * In-process ordering of mutations by key: tasks with the same key run one after another in
 * call order, tasks with different keys run freely. A rejected task rejects to its own caller
 * and never blocks the ones queued behind it; a key with nothing queued is forgotten.
 */
export class MutationSerializer {
  private readonly tails = new Map<string, Promise<void>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    // Forget the key before the caller hears the result, unless another task queued behind it.
    const result = previous
      .then(() => task())
      .finally(() => {
        if (this.tails.get(key) === tail) this.tails.delete(key);
      });
    const tail: Promise<void> = result.then(settled, settled);
    this.tails.set(key, tail);
    return result;
  }

  /** Keys with a task running or queued. */
  get activeKeys(): number {
    return this.tails.size;
  }
}

function settled(): void {}
