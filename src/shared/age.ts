/**
 * "850 ms", "12 s", "4 min", "3 h", "2 d": the one way an age reads, in the engine's lock
 * reasons, the CLI and every surface of the editor. Dependency-free, so each side can use it.
 */
export function formatAge(ms: number): string {
  if (!Number.isFinite(ms)) return 'an unknown time';
  const abs = Math.max(0, ms);
  if (abs < 1000) return `${Math.round(abs)} ms`;
  if (abs < 120_000) return `${Math.round(abs / 1000)} s`;
  if (abs < 2 * 3_600_000) return `${Math.round(abs / 60_000)} min`;
  if (abs < 2 * 86_400_000) return `${Math.round(abs / 3_600_000)} h`;
  return `${Math.round(abs / 86_400_000)} d`;
}
