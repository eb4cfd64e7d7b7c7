/**
 * `ledgerlock completion bash|zsh|fish`: a completion script for the shell, generated from the
 * command table so it never falls behind: commands, each command's flags, snapshot's actions,
 * and file names for LEDGER, LOCK and DIR arguments.
 */
import { flagsOf, type AnyCommand } from './command';
import { GLOBAL_FLAGS } from './args';
import { dashes } from './help';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

interface Spec {
  name: string;
  summary: string;
  flags: string[];
  /** First-positional choices (snapshot's actions). */
  actions: string[];
}

const EXTRA: Spec[] = [
  { name: 'completion', summary: 'Print a shell completion script.', flags: [], actions: [...SHELLS] },
  { name: 'help', summary: 'Usage, options and examples of one command.', flags: [], actions: [] },
];

function specs(commands: readonly AnyCommand[]): Spec[] {
  const fromTable = commands.map((c) => {
    const { valueFlags, boolFlags, aliases } = flagsOf(c);
    const flags = [...valueFlags, ...boolFlags, ...Object.keys(aliases), ...GLOBAL_FLAGS].map((f) => `${dashes(f)}${f}`);
    const second = c.usage.split(' ')[1] ?? '';
    const actions = /^[a-z]+(\|[a-z]+)+$/.test(second) ? second.split('|') : [];
    return { name: c.name, summary: c.summary, flags, actions };
  });
  return [...fromTable, ...EXTRA.map((e) => (e.name === 'help' ? { ...e, actions: fromTable.map((c) => c.name) } : e))];
}

export function completionScript(shell: Shell, commands: readonly AnyCommand[]): string {
  const all = specs(commands);
  switch (shell) {
    case 'bash':
      return bash(all);
    case 'zsh':
      return zsh(all);
    case 'fish':
      return fish(all);
  }
}

function bash(all: Spec[]): string {
  const cases = all.map((s) => `    ${s.name}) flags='${s.flags.join(' ')}'; actions='${s.actions.join(' ')}' ;;`).join('\n');
  return `# bash completion for ledgerlock: source it, or save it as
# ~/.local/share/bash-completion/completions/ledgerlock
_ledgerlock() {
  local cur=\${COMP_WORDS[COMP_CWORD]} cmd=\${COMP_WORDS[1]} flags='' actions=''
  if [[ $COMP_CWORD -eq 1 ]]; then
    COMPREPLY=( $(compgen -W '${all.map((s) => s.name).join(' ')} --help --version' -- "$cur") )
    return
  fi
  case $cmd in
${cases}
  esac
  if [[ $cur == -* ]]; then
    COMPREPLY=( $(compgen -W "$flags" -- "$cur") )
  elif [[ $COMP_CWORD -eq 2 && -n $actions ]]; then
    COMPREPLY=( $(compgen -W "$actions" -- "$cur") )
  else
    COMPREPLY=( $(compgen -f -- "$cur") )
  fi
}
complete -o filenames -F _ledgerlock ledgerlock
`;
}

function zshQuote(text: string): string {
  return text.replace(/'/g, `'\\''`).replace(/:/g, '\\:');
}

function zsh(all: Spec[]): string {
  const commands = all.map((s) => `    '${s.name}:${zshQuote(s.summary)}'`).join('\n');
  const cases = all
    .map((s) => {
      const positional = s.actions.length > 0 ? `'1:action:(${s.actions.join(' ')})' '*:file:_files'` : `'*:file:_files'`;
      return `    ${s.name}) _arguments ${s.flags.map((f) => `'${f}'`).join(' ')} ${positional} ;;`;
    })
    .join('\n');
  return `#compdef ledgerlock
# zsh completion for ledgerlock: save it as _ledgerlock in a directory on $fpath
_ledgerlock() {
  local -a commands
  commands=(
${commands}
  )
  if (( CURRENT == 2 )); then
    _describe 'command' commands
    return
  fi
  local cmd=$words[2]
  shift words; (( CURRENT-- ))
  case $cmd in
${cases}
  esac
}
_ledgerlock "$@"
`;
}

function fishQuote(text: string): string {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function fish(all: Spec[]): string {
  const names = all.map((s) => s.name).join(' ');
  const lines = [
    '# fish completion for ledgerlock: save it as ~/.config/fish/completions/ledgerlock.fish',
    'complete -c ledgerlock -f',
    ...all.map((s) => `complete -c ledgerlock -n 'not __fish_seen_subcommand_from ${names}' -a ${s.name} -d ${fishQuote(s.summary)}`),
  ];
  for (const s of all) {
    const when = `'__fish_seen_subcommand_from ${s.name}'`;
    for (const f of s.flags) lines.push(`complete -c ledgerlock -n ${when} ${f.startsWith('--') ? `-l ${f.slice(2)}` : `-s ${f.slice(1)}`}`);
    if (s.actions.length > 0) lines.push(`complete -c ledgerlock -n ${when} -a ${fishQuote(s.actions.join(' '))}`);
    else if (s.name !== 'help') lines.push(`complete -c ledgerlock -n ${when} -F`);
  }
  return lines.join('\n') + '\n';
}
