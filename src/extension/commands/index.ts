/**
 * Every Ledgerlock command, one table: find a command by its id here, its handler in the
 * group's file. The manifest (package.json `contributes.commands` and `menus`) says where each
 * is offered and when; this table says what it does, and refuses the ones that change files in
 * restricted mode whoever runs them (the manifest only hides them).
 */
import * as vscode from 'vscode';
import { refuseIfUntrusted } from '../trust';
import { type Command, type CommandContext, UNTRUSTED } from './command';
import { EVENT_COMMANDS } from './event-commands';
import { LEDGER_COMMANDS } from './ledger-commands';
import { LOCK_COMMANDS } from './lock-commands';
import { SESSION_COMMANDS } from './session-commands';
import { SNAPSHOT_COMMANDS } from './snapshot-commands';
import { WORKSPACE_COMMANDS } from './workspace-commands';

export type { CommandContext } from './command';

const COMMANDS: readonly Command[] = [
  ...LEDGER_COMMANDS,
  ...LOCK_COMMANDS,
  ...EVENT_COMMANDS,
  ...SNAPSHOT_COMMANDS,
  ...WORKSPACE_COMMANDS,
  ...SESSION_COMMANDS,
];

export function registerCommands(ctx: CommandContext): vscode.Disposable[] {
  return COMMANDS.map(({ id, changesFiles, run }) =>
    vscode.commands.registerCommand(id, (...args: unknown[]) => {
      if (changesFiles !== undefined && refuseIfUntrusted(changesFiles)) return UNTRUSTED;
      return (run as (ctx: CommandContext, ...args: unknown[]) => unknown)(ctx, ...args);
    }),
  );
}
