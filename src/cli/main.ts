/**
 * `ledgerlock` — the engine from a terminal or CI. One JSON document on stdout with --json;
 * exit codes: 0 ok, 1 problem found or action refused, 2 usage or bad input, 3 lock timeout.
 */
import { LedgerlockError, toLedgerlockError } from '../engine/errors';
import { parseArgs, usage } from './args';
import { Exit, exitCodeFor, type AnyCommand, type CliIO } from './command';
import { commands } from './commands';

const VERSION = process.env.LEDGERLOCK_VERSION ?? '0.1.0';

function helpText(): string {
  return [
    'Usage: ledgerlock <command> [options] [--json]',
    '',
    ...commands.flatMap((c) => [`  ${c.usage}`, `      ${c.summary}`]),
    '',
    'Exit codes: 0 ok, 1 problem found or refused, 2 usage or bad input, 3 timed out waiting for a lock.',
  ].join('\n');
}

export async function runCli(argv: string[], io: CliIO): Promise<number> {
  const [name, ...args] = argv;
  const json = args.includes('--json');
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(helpText() + '\n');
    return name === undefined ? Exit.Usage : Exit.Ok;
  }
  if (name === '--version' || name === '-V') {
    io.stdout.write(`${VERSION}\n`);
    return Exit.Ok;
  }
  const command = commands.find((c) => c.name === name);
  try {
    if (command === undefined) throw usage(`unknown command ${JSON.stringify(name)}; run "ledgerlock --help"`);
    return await runCommand(command, args, io, json);
  } catch (err) {
    return reportError(err, io, json, command);
  }
}

async function runCommand(command: AnyCommand, args: string[], io: CliIO, json: boolean): Promise<number> {
  const parsed = parseArgs(args, new Set(command.valueFlags ?? []), command.aliases);
  if (parsed.flags.help === true) {
    io.stdout.write(`Usage: ledgerlock ${command.usage}\n${command.summary}\n`);
    return Exit.Ok;
  }
  const { json: _json, ...rawFlags } = parsed.flags;
  const [min, max] = command.positionals;
  if (parsed.positionals.length < min || parsed.positionals.length > max) {
    throw usage(`usage: ledgerlock ${command.usage}`);
  }
  if (command.needsRest && (parsed.rest === undefined || parsed.rest.length === 0)) {
    throw usage(`usage: ledgerlock ${command.usage}`);
  }
  const flags = command.flags.safeParse(rawFlags);
  if (!flags.success) {
    const issue = flags.error.issues[0]!;
    const flag = issue.path.length > 0 ? `--${issue.path.join('.')}` : 'options';
    throw usage(issue.code === 'unrecognized_keys' ? `unknown option(s) ${issue.keys.map((k) => `--${k}`).join(', ')} for "${command.name}"` : `${flag}: ${issue.message}`);
  }
  return command.run({
    io,
    positionals: parsed.positionals,
    flags: flags.data,
    rest: parsed.rest,
    json,
    print: (line) => io.stdout.write(line + '\n'),
    printJson: (doc) => io.stdout.write(JSON.stringify(doc, null, 2) + '\n'),
  });
}

function reportError(err: unknown, io: CliIO, json: boolean, command: AnyCommand | undefined): number {
  const code = exitCodeFor(err);
  const known = toLedgerlockError(err); // an errno gets its stable code (E_NO_SPACE, E_PERMISSION, …)
  const error = known !== undefined
    ? known.toJSON()
    : { code: 'E_INTERNAL', message: err instanceof Error ? err.message : String(err), details: {} };
  if (json) io.stdout.write(JSON.stringify({ ok: false, command: command?.name ?? null, error }, null, 2) + '\n');
  io.stderr.write(`ledgerlock: ${error.code}: ${oneLine(error.message)}\n`);
  if (!(err instanceof LedgerlockError) && process.env.LEDGERLOCK_DEBUG) io.stderr.write(`${(err as Error)?.stack}\n`);
  return code;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ');
}

if (require.main === module) {
  const io: CliIO = { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, cwd: process.cwd() };
  runCli(process.argv.slice(2), io).then(
    (code) => { process.exitCode = code; },
    (err) => { process.stderr.write(`ledgerlock: internal error: ${(err as Error)?.stack ?? err}\n`); process.exitCode = Exit.Problem; },
  );
}
