/**
 * The command table, in the order `--help` lists them. Each command's modules are evaluated
 * only when it runs: the CLI is one CommonJS bundle in which esbuild wraps what `import()`
 * reaches in a lazy initialiser (esbuild.mjs), so `ledgerlock tail` never runs snapshot code.
 */
import type { AnyCommand } from '../command';

export interface CommandEntry {
  name: string;
  load(): Promise<AnyCommand>;
}

export const commands: readonly CommandEntry[] = [
  { name: 'status', load: async () => (await import('./status')).statusCommand },
  { name: 'locks', load: async () => (await import('./locks')).locksCommand },
  { name: 'reap', load: async () => (await import('./reap')).reapCommand },
  { name: 'lock', load: async () => (await import('./lock')).lockCommand },
  { name: 'append', load: async () => (await import('./append')).appendCommand },
  { name: 'tail', load: async () => (await import('./tail')).tailCommand },
  { name: 'read', load: async () => (await import('./read')).readCommand },
  { name: 'verify', load: async () => (await import('./verify')).verifyCommand },
  { name: 'repair', load: async () => (await import('./repair')).repairCommand },
  { name: 'sessions', load: async () => (await import('./sessions')).sessionsCommand },
  { name: 'compact', load: async () => (await import('./compact')).compactCommand },
  { name: 'snapshot', load: async () => (await import('./snapshot')).snapshotCommand },
  { name: 'migrate', load: async () => (await import('./migrate')).migrateCommand },
  { name: 'relocate', load: async () => (await import('./relocate')).relocateCommand },
];

export function loadAll(): Promise<AnyCommand[]> {
  return Promise.all(commands.map((c) => c.load()));
}
