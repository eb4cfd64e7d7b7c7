/** `ledgerlock --help`, `ledgerlock help CMD` and `CMD --help`: usage, what it does, flags, and examples to copy. */
import { flagsOf, type AnyCommand } from './command';

const EXAMPLES: Record<string, string[]> = {
  status: ['ledgerlock status', 'ledgerlock status ~/project --json | jq \'.locks[] | select(.state == "stale")\''],
  locks: ['ledgerlock locks', 'ledgerlock locks . --stale-ms 60000'],
  reap: ['ledgerlock reap build', 'ledgerlock reap ./tmp/cache.lock --json'],
  lock: ['ledgerlock lock deploy -- ./deploy.sh', 'ledgerlock lock deploy --timeout 30000 -- make release'],
  append: ['ledgerlock append events --type job.started --data \'{"job":42}\'', "jq -c '.[]' batch.json | ledgerlock append events --type import"],
  tail: ['ledgerlock tail events', 'ledgerlock tail events -n 50 --json'],
  read: ['ledgerlock read events --from 100 --to 200', 'ledgerlock read events --from 1 --limit 10 --json'],
  verify: ['ledgerlock verify events', 'ledgerlock verify logs/app.ndjson --json'],
  repair: ['ledgerlock repair events', 'ledgerlock repair events --remove-corrupt'],
  compact: ['ledgerlock compact events --keep 10000', 'ledgerlock compact events --after 5000'],
  snapshot: [
    'ledgerlock snapshot create --label "before upgrade"',
    'ledgerlock snapshot list',
    'ledgerlock snapshot diff',
    'ledgerlock snapshot restore 2026-01-01T00-00-00Z-1a2b',
  ],
  migrate: ['ledgerlock migrate --dry-run', 'ledgerlock migrate'],
  relocate: ['ledgerlock relocate /mnt/big/ledgerlock-blobs', 'ledgerlock relocate'],
  completion: [
    'ledgerlock completion bash > ~/.local/share/bash-completion/completions/ledgerlock',
    'ledgerlock completion zsh > "${fpath[1]}/_ledgerlock"',
    'ledgerlock completion fish > ~/.config/fish/completions/ledgerlock.fish',
  ],
};

const EXIT_CODES = 'Exit codes: 0 ok, 1 problem found or refused, 2 usage or bad input, 3 timed out waiting for a lock.';

export function overviewHelp(commands: readonly AnyCommand[]): string {
  return [
    'Usage: ledgerlock <command> [options] [--json] [--no-color]',
    '',
    ...commands.flatMap((c) => [`  ${c.usage}`, `      ${c.summary}`]),
    '  completion bash|zsh|fish',
    '      Print a shell completion script.',
    '  help COMMAND',
    '      Usage, options and examples of one command.',
    '',
    EXIT_CODES,
  ].join('\n');
}

export function commandHelp(command: AnyCommand): string {
  const { valueFlags, boolFlags, aliases } = flagsOf(command);
  const flagList = [...valueFlags.map((f) => `${dashes(f)}${f} VALUE`), ...boolFlags.map((f) => `${dashes(f)}${f}`)];
  for (const [alias, name] of Object.entries(aliases)) flagList.push(`--${alias} (same as ${dashes(name)}${name})`);
  return [
    `Usage: ledgerlock ${command.usage}`,
    '',
    command.summary,
    '',
    `Options: ${[...flagList, '--json', '--no-color', '--help'].join('  ')}`,
    ...examplesOf(command.name),
    '',
    EXIT_CODES,
  ].join('\n');
}

export function examplesOf(name: string): string[] {
  const examples = EXAMPLES[name];
  return examples === undefined ? [] : ['', 'Examples:', ...examples.map((e) => `  $ ${e}`)];
}

export function dashes(flag: string): string {
  return flag.length === 1 ? '-' : '--';
}
