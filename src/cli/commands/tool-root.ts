/**
 * `--tool-root TOOL=PATH` (repeatable): a per-user folder of another tool (Claude Code, Codex,
 * authmux) the person names on the command line. Files there are read and repaired with that
 * folder as the confinement root, and only under a root named (README.md, "Agent sessions").
 */
import * as path from 'node:path';
import { z } from 'zod';
import { openLedger, parseToolRoot, toolRootOf, withinRoot, type Ledger, type LedgerOptions, type ToolRoot } from '../../engine';
import { withLedger } from './open';

export const toolRootFlag = z
  .union([z.string(), z.array(z.string())])
  .transform((v) => (Array.isArray(v) ? v : [v]))
  .optional();

export function toolRoots(given: string[] | undefined): ToolRoot[] {
  return (given ?? []).map((spec) => parseToolRoot(spec));
}

/**
 * LEDGER as the ledger commands open it: under the working directory, or, with tool roots named,
 * a file under one of them (refused outside all of them), confined to that root.
 */
export async function withLedgerOrSession<T>(
  cwd: string,
  arg: string,
  roots: ToolRoot[],
  options: LedgerOptions & { create: boolean },
  fn: (ledger: Ledger, root: ToolRoot | undefined) => Promise<T>,
): Promise<T> {
  if (roots.length === 0) return withLedger(cwd, arg, options, (l) => fn(l, undefined));
  const file = path.resolve(cwd, arg);
  const root = toolRootOf(file, roots);
  return withinRoot(root.root, async () => {
    const ledger = await openLedger(file, { ...options, create: false });
    try {
      return await fn(ledger, root);
    } finally {
      await ledger.close();
    }
  });
}
