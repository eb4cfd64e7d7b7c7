/** The workspace a store command acts on: `--root DIR`, else the nearest folder holding a `.ledgerlock` store, else cwd. */
import * as path from 'node:path';
import { findStoreDir } from '../../engine';

export async function workspaceRoot(cwd: string, root: string | undefined): Promise<string> {
  if (root !== undefined) return path.resolve(cwd, root);
  const store = await findStoreDir(cwd);
  return store !== undefined ? path.dirname(store) : path.resolve(cwd);
}
