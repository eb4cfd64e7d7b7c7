/**
 * `ledgerlock` — the engine from a terminal or CI. One JSON document on stdout with --json;
 * exit codes: 0 ok, 1 problem found or action refused, 2 usage or bad input, 3 lock timeout.
 * Only the command that runs is loaded.
 */
import { LedgerlockError, toLedgerlockError } from '../engine/errors';
import { parseArgs, usage } from './args';
import { Exit, exitCodeFor, flagsOf, type AnyCommand, type CliIO } from './command';
import { commands, loadAll } from './commands';
import { didYouMean } from './suggest';
import { VERSION } from './version';

export async function runCli(argv: string[], io: CliIO): Promise<number> {
  const [name, ...args] = argv;
  // What follows `--` belongs to the command `lock` runs, --json included.
  const dash = args.indexOf('--');
  const json = (dash === -1 ? args : args.slice(0, dash)).includes('--json');
  try {
    if (name === undefined || name === '--help' || name === '-h') {
      const { overviewHelp } = await import('./help');
      io.stdout.write(overviewHelp(await loadAll()) + '\n');
      return name === undefined ? Exit.Usage : Exit.Ok;
    }
    if (name === '--version' || name === '-V') {
      io.stdout.write(`${VERSION}\n`);
      return Exit.Ok;
    }
    if (name === 'help') return await help(args, io);
    if (name === 'completion') return await completion(args, io);
    const entry = commands.find((c) => c.name === name);
    if (entry === undefined) throw unknownCommand(name);
    return await runCommand(await entry.load(), args, io, json);
  } catch (err) {
    return reportError(err, io, json, name);
  }
}

function unknownCommand(name: string): LedgerlockError {
  const guess = didYouMean(name, [...commands.map((c) => c.name), 'completion', 'help']);
  return usage(`unknown command ${JSON.stringify(name)}${guess !== undefined ? `; did you mean "${guess}"?` : ''} (run "ledgerlock --help")`);
}

async function help(args: string[], io: CliIO): Promise<number> {
  const { commandHelp, overviewHelp, examplesOf } = await import('./help');
  const [topic, ...extra] = args;
  if (extra.length > 0) throw usage('usage: ledgerlock help [COMMAND]');
  if (topic === undefined) {
    io.stdout.write(overviewHelp(await loadAll()) + '\n');
    return Exit.Ok;
  }
  if (topic === 'completion') {
    io.stdout.write(
      ['Usage: ledgerlock completion bash|zsh|fish', '', 'Print a completion script for the shell.', ...examplesOf('completion')].join('\n') + '\n',
    );
    return Exit.Ok;
  }
  const entry = commands.find((c) => c.name === topic);
  if (entry === undefined) throw unknownCommand(topic);
  io.stdout.write(commandHelp(await entry.load()) + '\n');
  return Exit.Ok;
}

async function completion(args: string[], io: CliIO): Promise<number> {
  const { completionScript, SHELLS } = await import('./completion');
  const shell = args[0];
  if (shell === '--help' || shell === '-h') return help(['completion'], io);
  if (args.length !== 1 || !(SHELLS as readonly string[]).includes(shell!)) {
    const guess = shell !== undefined ? didYouMean(shell, SHELLS) : undefined;
    throw usage(`usage: ledgerlock completion ${SHELLS.join('|')}${guess !== undefined ? `; did you mean "${guess}"?` : ''}`);
  }
  io.stdout.write(completionScript(shell as (typeof SHELLS)[number], await loadAll()));
  return Exit.Ok;
}

async function runCommand(command: AnyCommand, args: string[], io: CliIO, json: boolean): Promise<number> {
  const parsed = parseArgs(args, { ...flagsOf(command), takesRest: command.needsRest === true });
  if (parsed.flags.help === true) {
    const { commandHelp } = await import('./help');
    io.stdout.write(commandHelp(command) + '\n');
    return Exit.Ok;
  }
  const { json: _json, 'no-color': noColor, help: _help, ...rawFlags } = parsed.flags;
  const [min, max] = command.positionals;
  if (parsed.positionals.length < min || parsed.positionals.length > max) {
    throw usage(`usage: ledgerlock ${command.usage}`);
  }
  if (command.needsRest && (parsed.rest === undefined || parsed.rest.length === 0)) {
    throw usage(`usage: ledgerlock ${command.usage}`);
  }
  const [{ painter, relPath }, { startProgress }] = await Promise.all([import('./format'), import('./progress')]);
  const flags = command.flags.safeParse(rawFlags);
  if (!flags.success) {
    const issue = flags.error.issues[0]!;
    const flag = issue.path.length > 0 ? `--${issue.path.join('.')}` : 'options';
    throw usage(
      issue.code === 'unrecognized_keys'
        ? `unknown option(s) ${issue.keys.map((k) => `--${k}`).join(', ')} for "${command.name}"`
        : `${flag}: ${issue.message}`,
    );
  }
  return command.run({
    io,
    positionals: parsed.positionals,
    flags: flags.data,
    rest: parsed.rest,
    json,
    print: (line) => io.stdout.write(line + '\n'),
    printJson: (doc) => io.stdout.write(JSON.stringify(doc, null, 2) + '\n'),
    paint: painter(io.stdout, noColor !== true && !json),
    rel: (p) => relPath(io.cwd, p),
    progress: (label, unit) => startProgress(io.stderr, label, unit),
  });
}

function reportError(err: unknown, io: CliIO, json: boolean, commandName: string | undefined): number {
  const code = exitCodeFor(err);
  const known = toLedgerlockError(err); // an errno gets its stable code (E_NO_SPACE, E_PERMISSION, …)
  const error = known !== undefined ? known.toJSON() : { code: 'E_INTERNAL', message: err instanceof Error ? err.message : String(err), details: {} };
  const command = commandName !== undefined && commands.some((c) => c.name === commandName) ? commandName : null;
  if (json) io.stdout.write(JSON.stringify({ ok: false, command, error }, null, 2) + '\n');
  io.stderr.write(`ledgerlock: ${error.code}: ${oneLine(error.message)}\n`);
  if (!(err instanceof LedgerlockError) && process.env.LEDGERLOCK_DEBUG) io.stderr.write(`${(err as Error)?.stack}\n`);
  return code;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ');
}

/**
 * A reader that goes away (`ledgerlock status | head -3`) leaves the rest of the output unread:
 * it is dropped, and the command finishes what it was doing and exits with its own code. An
 * engine operation is never cut short because nobody reads its report, and `set -o pipefail`
 * still sees the command's verdict. Any other failure to write is said on stderr once.
 */
function whenReaderLeaves(stream: NodeJS.WriteStream): void {
  let said = false;
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE' || said) return;
    said = true;
    process.exitCode = Exit.Problem;
    if (stream !== process.stderr) process.stderr.write(`ledgerlock: cannot write to standard output: ${err.message}\n`);
  });
}

/** The process entry (dist/cli.js, built from entry.ts, calls it). */
export function main(): void {
  whenReaderLeaves(process.stdout);
  whenReaderLeaves(process.stderr);
  const io: CliIO = { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, cwd: process.cwd() };
  runCli(process.argv.slice(2), io).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      process.stderr.write(`ledgerlock: internal error: ${(err as Error)?.stack ?? err}\n`);
      process.exitCode = Exit.Problem;
    },
  );
}
