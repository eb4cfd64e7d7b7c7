import * as path from 'node:path';
import { z } from 'zod';
import { findAgentSessions, type AgentSession } from '../../engine';
import { defineCommand, Exit } from '../command';
import { humanBytes, oneLine, paintState, type Paint } from '../format';
import { toolRootFlag, toolRoots } from './tool-root';
import { usage } from '../args';

export const sessionsCommand = defineCommand({
  name: 'sessions',
  usage: 'sessions [DIR] --tool-root TOOL=PATH [--tool-root TOOL=PATH ...]',
  summary: "DIR's own agent sessions kept outside it (Claude Code, Codex) and authmux's lock, under the tool roots named; exit 1 if one is damaged.",
  valueFlags: ['tool-root'],
  repeatFlags: ['tool-root'],
  flags: z.object({ 'tool-root': toolRootFlag }).strict(),
  positionals: [0, 1],
  async run(ctx) {
    const dir = path.resolve(ctx.io.cwd, ctx.positionals[0] ?? '.');
    const roots = toolRoots(ctx.flags['tool-root']);
    if (roots.length === 0) throw usage('name at least one tool root: --tool-root claude-code=~/.claude (codex=~/.codex, authmux=~/.codex/accounts)');
    const report = await findAgentSessions(dir, roots);
    const damaged =
      report.sessions.filter((s) => s.health === 'torn' || s.health === 'corrupt' || s.error !== undefined).length +
      report.locks.filter((l) => l.reapable).length;
    if (ctx.json) {
      ctx.printJson({ ok: damaged === 0, ...report });
      return damaged === 0 ? Exit.Ok : Exit.Problem;
    }
    for (const r of report.roots) {
      const where = r.exists ? r.searched.map((s) => ctx.rel(s)).join(', ') : 'not found';
      ctx.print(ctx.paint('bold', `${r.tool} (${ctx.rel(r.root)}): ${where}${r.error ? ` — ${r.error.code}: ${r.error.message}` : ''}`));
      for (const s of report.sessions.filter((x) => x.root === r.root)) ctx.print(`  ${line(s, ctx)}`);
      for (const l of report.locks.filter((x) => x.path.startsWith(r.root + path.sep)))
        ctx.print(`  ${paintState(ctx.paint, l.state, 8)} ${ctx.rel(l.path)}  — ${oneLine(l.reason)}`);
    }
    if (report.truncated) ctx.print(ctx.paint('dim', 'stopped at the file budget: more sessions may exist'));
    if (report.sessions.length === 0 && report.locks.length === 0) ctx.print(`no agent sessions of ${ctx.rel(dir) || '.'} under the tool roots named`);
    return damaged === 0 ? Exit.Ok : Exit.Problem;
  },
});

function line(s: AgentSession, ctx: { paint: Paint; rel(p: string): string }): string {
  const health = s.error ? ctx.paint('red', s.error.code) : paintState(ctx.paint, s.health, 7);
  const records = s.records !== null ? `${s.records} records` : s.checked === 'tail' ? 'end checked' : '';
  const writing = s.writing.length > 0 ? `, being written (${s.writing.map((w) => w.detail).join('; ')})` : '';
  const problem = s.error?.message ?? s.problems[0]?.message;
  return `${health} ${humanBytes(s.bytes).padStart(9)}  ${s.modifiedAt}  ${records}${writing}  ${ctx.rel(s.path)}${problem ? ctx.paint('dim', `  — ${oneLine(problem)}`) : ''}`;
}
