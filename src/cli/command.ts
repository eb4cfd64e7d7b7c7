/**
 * The shape of a CLI command. Each command lives in `commands/<name>.ts`, declares its flags
 * with a zod schema (so bad input is rejected before anything touches the disk) and returns
 * its exit code.
 */
import type { Readable, Writable } from 'node:stream';
import type { ZodType, ZodTypeDef } from 'zod';
import { ErrorCode, toLedgerlockError } from '../engine/errors';
import type { Paint } from './format';
import type { Progress } from './progress';

/** Exit codes are part of the CLI contract (docs/ARCHITECTURE.md, "CLI contract"). */
export const Exit = { Ok: 0, Problem: 1, Usage: 2, LockTimeout: 3 } as const;
export type ExitCode = (typeof Exit)[keyof typeof Exit];

export interface CliIO {
  stdout: Writable;
  stderr: Writable;
  stdin: Readable;
  cwd: string;
  /** Environment for colour decisions (NO_COLOR, FORCE_COLOR); default process.env. */
  env?: NodeJS.ProcessEnv;
}

export interface CommandContext<F> {
  io: CliIO;
  positionals: string[];
  flags: F;
  rest: string[] | undefined;
  json: boolean;
  /** Writes one line to stdout (text mode). */
  print(line: string): void;
  /** Writes the command's single JSON document to stdout. */
  printJson(doc: unknown): void;
  /** Colour for stdout text (a no-op under NO_COLOR, --no-color, or when stdout is not a terminal). */
  paint: Paint;
  /** A path for text output: relative to the cwd when that is shorter. */
  rel(p: string): string;
  /** Progress on stderr while long work runs; silent unless stderr is a terminal. */
  progress(label: string, unit: 'bytes' | 'items'): Progress;
}

export interface Command<F = Record<string, unknown>> {
  name: string;
  usage: string;
  summary: string;
  /** Flags that take a value (all others are booleans). `json` and `help` are always allowed. */
  valueFlags?: string[];
  /** Value flags that may be repeated (`--tool-root A --tool-root B`); the schema sees an array. */
  repeatFlags?: string[];
  aliases?: Record<string, string>;
  flags: ZodType<F, ZodTypeDef, unknown>;
  /** How many positionals: [min, max]. */
  positionals: [number, number];
  /** Whether `-- CMD ...` is required. */
  needsRest?: boolean;
  run(ctx: CommandContext<F>): Promise<number>;
}

/** Registry entries erase the per-command flag type (its parser is the command's own zod schema). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyCommand = Command<any>;

export function defineCommand<F>(command: Command<F>): Command<F> {
  return command;
}

/**
 * Maps an error to the CLI's exit code: bad input 2, a timed-out lock 3, anything else refused
 * or found 1 (a full disk, a permission, an I/O error: the environment refused).
 */
export function exitCodeFor(err: unknown): ExitCode {
  const known = toLedgerlockError(err);
  if (known === undefined) return Exit.Problem;
  switch (known.code) {
    case ErrorCode.LockTimeout:
      return Exit.LockTimeout;
    case ErrorCode.BadInput:
    case ErrorCode.BadOption:
    case ErrorCode.BadJson:
    case ErrorCode.SchemaMismatch:
    case ErrorCode.InvalidUtf8:
    case ErrorCode.LineTooLong:
    case ErrorCode.RecordTooLarge:
    case ErrorCode.PathTraversal:
    case ErrorCode.PathOutsideRoot:
    case ErrorCode.NotFound:
    case ErrorCode.NotALedger:
    case ErrorCode.StoreTooNew:
    case ErrorCode.StoreInvalid:
    case ErrorCode.NotRegularFile:
    case ErrorCode.NotALock:
    case ErrorCode.DocumentTooLarge:
    case ErrorCode.SymlinkLoop:
    case ErrorCode.NameTooLong:
      return Exit.Usage;
    default:
      return Exit.Problem;
  }
}

/** The command's flags by kind: value flags as declared, booleans are the rest of its schema's keys. */
export function flagsOf(command: AnyCommand): { valueFlags: string[]; boolFlags: string[]; aliases: Record<string, string>; repeatFlags: string[] } {
  const valueFlags = command.valueFlags ?? [];
  const shape = (command.flags as unknown as { shape?: Record<string, unknown> }).shape ?? {};
  const boolFlags = Object.keys(shape).filter((k) => !valueFlags.includes(k));
  return { valueFlags, boolFlags, aliases: command.aliases ?? {}, repeatFlags: command.repeatFlags ?? [] };
}
