/**
 * Whether a tool is writing one of its JSONL files now, so a repair never races its next append
 * (README.md, "Agent sessions"): a process that has the file open (Codex's writer keeps its
 * rollout open; `/proc`, through the lock evidence), or, for Claude Code, which opens and closes
 * its transcript per entry, a live session marker `<config>/sessions/<pid>.json` naming this
 * session, or naming this folder and started before the file last changed (the marker keeps
 * the first session id of a process that later moved on with `/clear` or `--continue`).
 */
import * as path from 'node:path';
import { ErrorCode, LedgerlockError } from '../errors';
import { fsl } from '../fs';
import { collectOsEvidence, processCommand, type OsEvidence } from '../lock/os-evidence';
import { isProcessAlive } from '../lock/process';
import { claudeProjectKey } from './profiles/claude-code';
import type { JsonlProfile } from './profiles';

export interface LiveWriter {
  pid: number;
  /** `open`: the process has the file open; `session-marker`: the tool's own marker names it as live. */
  how: 'open' | 'session-marker';
  command?: string;
  detail: string;
}

/** Markers read per look: a person runs a handful of sessions, a hostile folder gets no more. */
const MAX_MARKERS = 256;
const MAX_MARKER_BYTES = 64 * 1024;

/** Claude Code's live-session markers under `configDir/sessions/`: `{ pid, sessionId, cwd, startedAt }`. */
export async function claudeSessionMarkers(
  configDir: string,
): Promise<{ pid: number; sessionId?: string; cwd?: string; startedAtMs?: number; file: string }[]> {
  const dir = path.join(configDir, 'sessions');
  let names: string[];
  try {
    names = (await fsl().readdir(dir))
      .filter((d) => d.isFile() && d.name.endsWith('.json'))
      .map((d) => d.name)
      .slice(0, MAX_MARKERS);
  } catch {
    return [];
  }
  const out = [];
  for (const name of names) {
    const file = path.join(dir, name);
    try {
      const f = await fsl().open(file, 'r');
      let text: string;
      try {
        const buf = Buffer.alloc(MAX_MARKER_BYTES);
        text = buf.subarray(0, await f.read(buf, 0, buf.length, 0)).toString('utf8');
      } finally {
        await f.close();
      }
      const v = JSON.parse(text) as Record<string, unknown>;
      const pid = typeof v.pid === 'number' ? v.pid : Number(name.replace(/\.json$/, ''));
      if (!Number.isSafeInteger(pid) || pid <= 0) continue;
      const started = typeof v.startedAt === 'number' ? v.startedAt : typeof v.startedAt === 'string' ? Date.parse(v.startedAt) : NaN;
      out.push({
        pid,
        file,
        ...(typeof v.sessionId === 'string' ? { sessionId: v.sessionId } : {}),
        ...(typeof v.cwd === 'string' ? { cwd: v.cwd } : {}),
        ...(Number.isFinite(started) ? { startedAtMs: started } : {}),
      });
    } catch {
      // a marker being rewritten, or not one: it names nobody
    }
  }
  return out;
}

/** The Claude Code config folder a transcript lives in (`<config>/projects/<key>/<id>.jsonl`), if it lives in one. */
function claudeConfigDirOf(file: string): string | undefined {
  const projects = path.dirname(path.dirname(file));
  return path.basename(projects) === 'projects' ? path.dirname(projects) : undefined;
}

/** One look shared by many files (a session listing): the system's open files and the markers, read once. */
export interface WriterEvidence {
  os?: OsEvidence;
  markers?: Awaited<ReturnType<typeof claudeSessionMarkers>>;
}

/** Who is writing `file` now, by the tool's own signs; generic JSONL has none (its writer's lock guards it). */
export async function liveWritersOf(file: string, profile: JsonlProfile, shared: WriterEvidence = {}): Promise<LiveWriter[]> {
  if (profile.id === 'generic') return [];
  const writers: LiveWriter[] = [];
  let st;
  try {
    st = await fsl().stat(file);
  } catch {
    return [];
  }
  const os = shared.os ?? collectOsEvidence([file]);
  for (const opener of os.openers({ dev: st.dev, ino: st.ino })) {
    const command = processCommand(opener.pid);
    writers.push({ pid: opener.pid, how: 'open', ...(command ? { command } : {}), detail: `pid ${opener.pid}${command ? ` (${command})` : ''} has it open` });
  }
  if (profile.id === 'claude-code') {
    const config = claudeConfigDirOf(file);
    if (config !== undefined) {
      const sessionId = path.basename(file, '.jsonl');
      const key = path.basename(path.dirname(file));
      for (const m of shared.markers ?? (await claudeSessionMarkers(config))) {
        if (isProcessAlive(m.pid) !== true || writers.some((w) => w.pid === m.pid)) continue;
        const names = m.sessionId === sessionId;
        const sameFolder = m.cwd !== undefined && claudeProjectKey(m.cwd) === key && (m.startedAtMs === undefined || st.mtimeMs >= m.startedAtMs);
        if (!names && !sameFolder) continue;
        writers.push({
          pid: m.pid,
          how: 'session-marker',
          detail: names
            ? `Claude Code pid ${m.pid} is running this session (${path.basename(m.file)})`
            : `Claude Code pid ${m.pid} runs in this folder (${m.cwd}) and the file changed since it started (${path.basename(m.file)})`,
        });
      }
    }
  }
  return writers;
}

/** Refuses to change `file` while its tool writes it: a repair would race the next append. */
export async function refuseWhileWritten(file: string, profile: JsonlProfile, action: string): Promise<void> {
  const writers = await liveWritersOf(file, profile);
  if (writers.length === 0) return;
  throw new LedgerlockError(
    ErrorCode.LockHeldByLiveProcess,
    `${profile.tool} is writing ${file} now (${writers.map((w) => w.detail).join('; ')}); Ledgerlock does not ${action} it while it does, so nothing was changed. Try again once that session has ended.`,
    { path: file, tool: profile.tool, writers },
  );
}
