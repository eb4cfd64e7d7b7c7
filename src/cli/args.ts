/**
 * A small argv parser: positionals, `--flag`, `--flag value`, `--flag=value`, `-n 5`, and
 * everything after `--` kept verbatim (for `lock LOCK -- CMD`). Which flags exist and what
 * they hold is each command's zod schema; this only splits.
 */
import { ErrorCode, LedgerlockError } from '../engine/errors';

export interface ParsedArgs {
  positionals: string[];
  flags: Record<string, string | true>;
  rest: string[] | undefined;
}

/** `valueFlags` take a value; every other flag is boolean. Aliases map short to long names. */
export function parseArgs(argv: string[], valueFlags: ReadonlySet<string>, aliases: Record<string, string> = {}): ParsedArgs {
  const positionals: string[] = [];
  const flags: Record<string, string | true> = {};
  let rest: string[] | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      rest = argv.slice(i + 1);
      break;
    }
    if (arg.startsWith('-') && arg !== '-' && !/^-\d/.test(arg)) {
      const eq = arg.indexOf('=');
      const rawName = arg.replace(/^--?/, '').slice(0, eq > 0 ? eq - (arg.startsWith('--') ? 2 : 1) : undefined);
      const name = aliases[rawName] ?? rawName;
      if (valueFlags.has(name)) {
        const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
        if (value === undefined) throw usage(`option --${name} needs a value`);
        flags[name] = value;
      } else {
        if (eq > 0) throw usage(`option --${name} takes no value`);
        flags[name] = true;
      }
      continue;
    }
    positionals.push(arg);
  }
  return { positionals, flags, rest };
}

export function usage(message: string): LedgerlockError {
  return new LedgerlockError(ErrorCode.BadInput, message, { usage: true });
}
