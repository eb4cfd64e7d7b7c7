/**
 * Deleting a snapshot removes only its manifest (under the store lock); the blobs it alone
 * referenced are swept by the next GC once their grace period has passed.
 */
import { syncParentDir } from '../atomic';
import { ErrorCode, LedgerlockError, errnoCode } from '../errors';
import { fsl } from '../fs';
import { manifestPath, readCurrent } from './catalog';
import { snapshotPaths } from './layout';
import { withStoreLock, type StoreOpOptions } from './open';

export async function deleteSnapshot(workspaceRoot: string, id: string, options: StoreOpOptions = {}): Promise<{ id: string; wasCurrent: boolean }> {
  const paths = snapshotPaths(workspaceRoot);
  const file = manifestPath(paths, id);
  return withStoreLock(
    paths,
    async () => {
      const wasCurrent = (await readCurrent(paths)) === id;
      try {
        await fsl().unlink(file);
      } catch (err) {
        if (errnoCode(err) === 'ENOENT') throw new LedgerlockError(ErrorCode.NotFound, `no snapshot ${id} in ${paths.snapshots}`, { id, path: file });
        throw err;
      }
      if (wasCurrent)
        await fsl()
          .unlink(paths.current)
          .catch(() => undefined);
      await syncParentDir(file);
      return { id, wasCurrent };
    },
    options,
  );
}
