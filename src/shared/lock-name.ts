/**
 * A lock file named only `.lock` or `.lck` (claude-flow's guidance lock) says nothing by its
 * name: wherever a lock is named — the editor's rows and dialogs, the server's outcomes and
 * problems — such a lock is named with its folder, and its tool where known.
 */
export function isBareLockName(name: string): boolean {
  return /^\.(lock|lck)$/i.test(name);
}

/** The lock's file name, or `folder/.lock · tool` for a bare one. */
export function shortLockName(p: string, tool?: string): string {
  const parts = p.split(/[\\/]/);
  const name = parts.pop() ?? p;
  return isBareLockName(name) ? `${parts.pop() ?? ''}/${name}${tool ? ` · ${tool}` : ''}` : name;
}
