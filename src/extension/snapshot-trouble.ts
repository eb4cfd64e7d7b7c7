/** One line per damaged snapshot blob or unreadable manifest, for the status bar and its fixes. */
import { baseName } from './format';
import type { ServerState } from './server-state';

export function snapshotTrouble(state: ServerState): string[] {
  return state.damagedSnapshotFolders().flatMap((f) => [
    ...f.problems.map(
      (p) =>
        `snapshot blob ${p.hash.slice(0, 8)} ${p.problem} (${p.usedBy
          .map((u) => baseName(u.path))
          .filter((v, i, a) => a.indexOf(v) === i)
          .join(', ')})`,
    ),
    ...f.unreadable.map((u) => `snapshot manifest unreadable: ${u}`),
  ]);
}
