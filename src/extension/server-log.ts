/**
 * The language client writes the server's log messages as "[Debug - 10:42:01] text" lines into
 * its output channel, all at one level. This channel puts each at its own level in the
 * Ledgerlock log, so the server's debug lines stay out of sight at the default level.
 */
import type * as vscode from 'vscode';

const LINE = /^\[(Trace|Debug|Info|Warn|Error)\s*- [^\]]*\] ([\s\S]*)$/;

export function levelledChannel(log: vscode.LogOutputChannel): vscode.OutputChannel {
  let last: 'trace' | 'debug' | 'info' | 'warn' | 'error' = 'info';
  const write = (text: string) => {
    const m = LINE.exec(text);
    // A line without a level (a stack after an error) goes at the level of the line before it.
    if (m) last = m[1]!.toLowerCase() as typeof last;
    log[last](m ? m[2]! : text);
  };
  return {
    name: log.name,
    append: write,
    appendLine: write,
    replace: write,
    clear: () => log.clear(),
    show: (a?: unknown, b?: boolean) => (typeof a === 'boolean' ? log.show(a) : log.show(b)),
    hide: () => log.hide(),
    dispose: () => undefined,
  };
}
