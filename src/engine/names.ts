/**
 * Turning what a user typed into a path inside a store: a bare name (`events`) means the
 * store's own ledger or lock; anything with a separator or an extension is a path. Names are
 * checked so `..` or an absolute path can never smuggle a write outside the store.
 */
import * as path from 'node:path';
import { ErrorCode, LedgerlockError } from './errors';
import { storePaths } from './store';

const LEDGER_EXTENSIONS = ['.jsonl', '.ndjson'];
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Throws E_PATH_TRAVERSAL unless `name` is a plain store name (no separators, no `..`). */
export function checkStoreName(name: string, what: string): string {
  if (!NAME.test(name) || name.includes('..')) {
    throw new LedgerlockError(
      ErrorCode.PathTraversal,
      `invalid ${what} name ${JSON.stringify(name)}: use letters, digits, '.', '_' or '-', not starting with '.' and without '..'`,
      { name, what },
    );
  }
  return name;
}

/**
 * A path argument: it must name a file of the expected kind and must not climb with `..`
 * (an absolute path says where it goes; `../x` from a script usually is a mistake).
 */
function checkPathArg(arg: string, extensions: string[], what: string): void {
  if (arg.split(/[\\/]/).includes('..')) {
    throw new LedgerlockError(ErrorCode.PathTraversal, `${what} path ${JSON.stringify(arg)} climbs out with '..'; give an absolute path instead`, {
      path: arg,
      what,
    });
  }
  if (!extensions.some((ext) => arg.endsWith(ext))) {
    throw new LedgerlockError(ErrorCode.BadInput, `${what} path ${JSON.stringify(arg)} must end with ${extensions.join(' or ')}`, { path: arg, what });
  }
}

function looksLikePath(arg: string, extensions: string[]): boolean {
  return arg.includes('/') || arg.includes(path.sep) || arg.includes('..') || extensions.some((ext) => arg.endsWith(ext));
}

/** `events` → `<root>/.ledgerlock/ledgers/events.jsonl`; a path stays a path (resolved against root). */
export function resolveLedgerPath(root: string, arg: string): string {
  if (arg.length === 0) throw new LedgerlockError(ErrorCode.BadInput, 'ledger name is empty', {});
  if (looksLikePath(arg, LEDGER_EXTENSIONS)) {
    checkPathArg(arg, LEDGER_EXTENSIONS, 'ledger');
    return path.resolve(root, arg);
  }
  return path.join(storePaths(root).ledgers, `${checkStoreName(arg, 'ledger')}.jsonl`);
}

/** `build` → `<root>/.ledgerlock/locks/build.lock`; a path stays a path (resolved against root). */
export function resolveLockPath(root: string, arg: string): string {
  if (arg.length === 0) throw new LedgerlockError(ErrorCode.BadInput, 'lock name is empty', {});
  if (looksLikePath(arg, ['.lock'])) {
    checkPathArg(arg, ['.lock'], 'lock');
    return path.resolve(root, arg);
  }
  return path.join(storePaths(root).locks, `${checkStoreName(arg, 'lock')}.lock`);
}

/**
 * Resolves `candidate` (following symlinks) and refuses it when it leaves `root`:
 * E_PATH_OUTSIDE_ROOT names both.
 */
export function assertInside(root: string, resolvedCandidate: string, resolvedRoot: string): void {
  const rel = path.relative(resolvedRoot, resolvedCandidate);
  if (rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel))) return;
  throw new LedgerlockError(ErrorCode.PathOutsideRoot, `${resolvedCandidate} is outside ${root}`, { path: resolvedCandidate, root });
}
