/**
 * The six verdicts a lock can get (docs/ARCHITECTURE.md, "How a lock is judged"): held,
 * contended (someone waits), stale (its holder is provably gone), orphaned (nobody provably
 * holds it and its heartbeat stopped), unknown (nothing this judge can see decides), free (a
 * flock-style file at rest: its tool leaves it in place between holds, nobody holds it now).
 */
export type LockState = 'held' | 'contended' | 'stale' | 'orphaned' | 'unknown' | 'free';
