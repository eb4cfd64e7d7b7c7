/**
 * argv → positionals, flags and the command after `--`, through node:util.parseArgs (no
 * dependency, and the same rules every Node CLI now follows). On top of it: a flag given twice
 * is refused rather than silently last-wins, and an unknown flag gets a "did you mean".
 * Which flags exist and what their values must be is each command's zod schema.
 */
import { parseArgs as nodeParseArgs } from 'node:util';
import { ErrorCode, LedgerlockError } from '../engine/errors';
import { didYouMean } from './suggest';

export interface ParsedArgs {
  positionals: string[];
  flags: Record<string, string | true | string[]>;
  /** What followed `--`, for commands that run another command; undefined when there was no `--`. */
  rest: string[] | undefined;
}

export interface FlagSpec {
  /** Flags that take a value; every other flag is a boolean. */
  valueFlags: readonly string[];
  boolFlags: readonly string[];
  /** Other long names for a flag: `{ lines: 'n' }`. */
  aliases?: Record<string, string>;
  /** Value flags that may be given more than once; their values arrive as an array. */
  repeatFlags?: readonly string[];
  /** `-- CMD ARGS` is the command's own (lock); otherwise `--` only ends the flags. */
  takesRest?: boolean;
}

/** Every command accepts these. */
export const GLOBAL_FLAGS = ['json', 'help', 'no-color'] as const;

export function parseArgs(argv: readonly string[], spec: FlagSpec): ParsedArgs {
  let args = [...argv];
  let rest: string[] | undefined;
  if (spec.takesRest) {
    const dash = args.indexOf('--');
    if (dash !== -1) {
      rest = args.slice(dash + 1);
      args = args.slice(0, dash);
    }
  }
  const aliases = spec.aliases ?? {};
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {};
  for (const name of spec.valueFlags) options[name] = { type: 'string' };
  for (const name of [...spec.boolFlags, ...GLOBAL_FLAGS]) options[name] = { type: 'boolean' };
  options.help = { type: 'boolean', short: 'h' };
  for (const [alias, name] of Object.entries(aliases)) options[alias] = { ...options[name]! };

  let parsed;
  try {
    parsed = nodeParseArgs({ args, options, allowPositionals: true, strict: true, tokens: true });
  } catch (err) {
    throw usage(explain(err, Object.keys(options)));
  }
  const flags: Record<string, string | true | string[]> = {};
  for (const token of parsed.tokens) {
    if (token.kind !== 'option') continue;
    const name = aliases[token.name] ?? token.name;
    if (spec.repeatFlags?.includes(name) && token.value !== undefined) {
      flags[name] = [...((flags[name] as string[] | undefined) ?? []), token.value];
      continue;
    }
    if (name in flags) throw usage(`option ${name.length === 1 ? '-' : '--'}${name} was given more than once`);
    flags[name] = token.value ?? true;
  }
  return { positionals: parsed.positionals, flags, rest };
}

/** parseArgs' errors in the CLI's words, with a suggestion for a mistyped flag. */
function explain(err: unknown, known: string[]): string {
  const e = err as { code?: string; message?: string };
  const message = e.message ?? String(err);
  if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const flag = /'(-[^']*)'/.exec(message)?.[1] ?? '';
    const name = flag.replace(/^-+/, '');
    const guess = didYouMean(name, known);
    return `unknown option ${flag}${guess !== undefined ? `; did you mean --${guess}?` : ''}`;
  }
  if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const flag = /'(-[^' ]*)/.exec(message)?.[1] ?? 'an option';
    if (/argument missing/.test(message)) return `option ${flag} needs a value`;
    if (/ambiguous/.test(message)) return `the value of ${flag} starts with "-"; write it as ${flag}=VALUE`;
    return `option ${flag} takes no value`;
  }
  return message.split('\n')[0]!;
}

export function usage(message: string): LedgerlockError {
  return new LedgerlockError(ErrorCode.BadInput, message, { usage: true });
}
