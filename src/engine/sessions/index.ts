/**
 * Agent sessions of a workspace that live outside it (README.md, "Agent sessions";
 * docs/ARCHITECTURE.md, "Agent sessions"): given a folder and the per-user tool roots a person
 * turned on, find that folder's own session files — Claude Code by encoding the folder forward
 * into `projects/<key>/`, Codex by its dated `sessions/` tree — and confirm each by the `cwd` its
 * first records name (never by decoding a folder name). Each comes back with its health, size,
 * last change and who writes it now. Everything is read with the tool root as the confinement
 * root (nothing is read through a link out of it, a FIFO never blocks) and within budgets;
 * nothing is written.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { withinRoot } from '../confine-paths';
import { ErrorCode, LedgerlockError, toLedgerlockError } from '../errors';
import { fsl } from '../fs';
import { openLedger } from '../ledger';
import { genericProfile, recogniseProfile, type JsonlProfile, type JsonlProfileId } from '../ledger/profiles';
import { claudeCodeProfile, claudeProjectKey } from '../ledger/profiles/claude-code';
import { codexProfile } from '../ledger/profiles/codex';
import { interpretForeign } from '../ledger/foreign';
import { claudeSessionMarkers, liveWritersOf, type LiveWriter, type WriterEvidence } from '../ledger/live-writer';
import type { LedgerHealth, LedgerProblem } from '../ledger/types';
import { collectOsEvidence, inspectLock, type LockInfo } from '../lock';

export type ToolId = 'claude-code' | 'codex' | 'authmux';

export const TOOL_IDS: readonly ToolId[] = ['claude-code', 'codex', 'authmux'];

/** A per-user folder a tool keeps its state in, turned on by the person (never by a workspace). */
export interface ToolRoot {
  tool: ToolId;
  root: string;
}

/** Where each tool keeps its state by default (`~` is the user's home). */
export const DEFAULT_TOOL_ROOTS: readonly ToolRoot[] = [
  { tool: 'claude-code', root: '~/.claude' },
  { tool: 'codex', root: '~/.codex' },
  { tool: 'authmux', root: '~/.codex/accounts' },
];

export interface AgentSession {
  tool: ToolId;
  /** The tool root it was found under. */
  root: string;
  path: string;
  profile: JsonlProfileId;
  /** The tool's own id for the session (file name for Claude Code, `session_meta` id for Codex). */
  sessionId: string | null;
  /** The working directory its records name; null when the first records name none. */
  cwd: string | null;
  bytes: number;
  /** Last change of the file (ISO): the session's last activity. */
  modifiedAt: string;
  health: LedgerHealth | 'unknown';
  /** `whole`: every line checked; `tail`: a big file, its last part only; `none`: not readable. */
  checked: 'whole' | 'tail' | 'none';
  /** Complete records (whole checks only). */
  records: number | null;
  /** The first few problems, in the file's order. */
  problems: LedgerProblem[];
  /** Processes writing it now (an open handle, a live session marker); repair refuses while any is. */
  writing: LiveWriter[];
  error?: { code: string; message: string };
}

export interface AgentSessionsReport {
  workspace: string;
  sessions: AgentSession[];
  /** Locks kept in tool roots for this user (authmux's `registry.json.lock`), judged as any lock. */
  locks: LockInfo[];
  roots: { tool: ToolId; root: string; exists: boolean; searched: string[]; error?: { code: string; message: string } }[];
  /** A budget stopped the search; `sessions` lists what was found within it. */
  truncated: boolean;
}

export interface FindSessionsOptions {
  /** Session files looked at per root (default 2,000). */
  maxFiles?: number;
  /** Files up to this size are verified whole; bigger ones by their last part (default 8 MiB). */
  wholeCheckBytes?: number;
  /** Bytes read from the start of a file to find the `cwd` its records name (default 256 KiB). */
  headBytes?: number;
  /** Home folder for `~` (default `os.homedir()`). */
  home?: string;
  signal?: AbortSignal;
}

const PROBLEMS_KEPT = 5;
const TAIL_BYTES = 1024 * 1024;

/** `~/x` → `<home>/x`; any other path resolved as it is. */
export function expandToolRoot(root: string, home = os.homedir()): string {
  if (root === '~') return home;
  if (root.startsWith('~/') || root.startsWith(`~${path.sep}`)) return path.join(home, root.slice(2));
  return path.resolve(root);
}

/** `claude-code=PATH` → a tool root; refuses an unknown tool or an empty path. */
export function parseToolRoot(spec: string, home?: string): ToolRoot {
  const eq = spec.indexOf('=');
  const tool = (eq < 0 ? spec : spec.slice(0, eq)) as ToolId;
  if (!TOOL_IDS.includes(tool)) {
    throw new LedgerlockError(ErrorCode.BadOption, `tool root must be TOOL=PATH with TOOL one of ${TOOL_IDS.join(', ')}, got ${JSON.stringify(spec)}`, {
      option: 'tool-root',
    });
  }
  const given = eq < 0 ? DEFAULT_TOOL_ROOTS.find((r) => r.tool === tool)!.root : spec.slice(eq + 1);
  if (given.length === 0) throw new LedgerlockError(ErrorCode.BadOption, `tool root ${tool}= names no folder`, { option: 'tool-root' });
  return { tool, root: expandToolRoot(given, home) };
}

/**
 * The tool root that holds `file`, among `roots`; refuses a path outside every one of them
 * (E_PATH_OUTSIDE_ROOT): a session file is repaired only under a root the person named.
 */
export function toolRootOf(file: string, roots: readonly ToolRoot[]): ToolRoot {
  const abs = path.resolve(file);
  for (const r of roots) {
    const rel = path.relative(path.resolve(r.root), abs);
    if (rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel)) return r;
  }
  throw new LedgerlockError(
    ErrorCode.PathOutsideRoot,
    `${abs} is not under any tool root named (${roots.map((r) => `${r.tool}=${r.root}`).join(', ') || 'none'}); Ledgerlock changes a tool's files only under a root you name`,
    { path: abs, roots },
  );
}

/** The profile a file under a tool root is read with. */
export function profileForToolRoot(root: ToolRoot): JsonlProfile {
  return root.tool === 'claude-code' ? claudeCodeProfile : root.tool === 'codex' ? codexProfile : genericProfile;
}

/** This folder's sessions in each enabled tool root. */
export async function findAgentSessions(workspace: string, roots: readonly ToolRoot[], opts: FindSessionsOptions = {}): Promise<AgentSessionsReport> {
  const folder = path.resolve(workspace);
  const cwds = new Set([folder]);
  try {
    cwds.add(await fsl().realpath(folder));
  } catch {
    // a folder that is gone is still the name its sessions recorded
  }
  const report: AgentSessionsReport = { workspace: folder, sessions: [], locks: [], roots: [], truncated: false };
  for (const given of roots) {
    const root = { tool: given.tool, root: expandToolRoot(given.root, opts.home) };
    const entry: AgentSessionsReport['roots'][number] = { tool: root.tool, root: root.root, exists: false, searched: [] };
    report.roots.push(entry);
    try {
      await withinRoot(root.root, async () => {
        const st = await fsl()
          .stat(root.root)
          .catch(() => undefined);
        if (st === undefined || !st.isDirectory()) return;
        entry.exists = true;
        if (root.tool === 'authmux') {
          const lock = path.join(root.root, 'registry.json.lock');
          entry.searched.push(lock);
          const info = await inspectLock(lock).catch(() => undefined);
          if (info !== undefined) report.locks.push(info);
          return;
        }
        const found =
          root.tool === 'claude-code' ? await claudeCandidates(root.root, cwds, entry.searched, opts) : await codexCandidates(root.root, entry.searched, opts);
        if (found.truncated) report.truncated = true;
        // One look at the system and at the tool's markers serves every file of the root.
        const shared: WriterEvidence = {
          os: collectOsEvidence(found.files),
          ...(root.tool === 'claude-code' ? { markers: await claudeSessionMarkers(root.root) } : {}),
        };
        const sessions = await mapLimit(found.files, 4, (file) => describeSession(root, file, cwds, opts, shared));
        for (const s of sessions) if (s !== undefined) report.sessions.push(s);
      });
    } catch (err) {
      const known = toLedgerlockError(err);
      if (known === undefined) throw err;
      entry.error = { code: known.code, message: known.message };
    }
  }
  report.sessions.sort((a, b) => (a.modifiedAt < b.modifiedAt ? 1 : a.modifiedAt > b.modifiedAt ? -1 : 0));
  return report;
}

async function listJsonl(dir: string, budget: number): Promise<{ files: string[]; truncated: boolean }> {
  let entries;
  try {
    entries = await fsl().readdir(dir);
  } catch (err) {
    const known = toLedgerlockError(err);
    if (known?.code === ErrorCode.PathOutsideRoot) throw known;
    return { files: [], truncated: false };
  }
  // Links and FIFOs are listed too: reading them is refused (confinement), and the refusal is shown.
  const names = entries.filter((d) => !d.isDirectory() && d.name.endsWith('.jsonl')).map((d) => d.name);
  names.sort();
  return { files: names.slice(0, budget).map((n) => path.join(dir, n)), truncated: names.length > budget };
}

/** Claude Code: `projects/<key of the folder>/*.jsonl`, for the folder as named and as resolved. */
async function claudeCandidates(
  root: string,
  cwds: Set<string>,
  searched: string[],
  opts: FindSessionsOptions,
): Promise<{ files: string[]; truncated: boolean }> {
  const files: string[] = [];
  let truncated = false;
  for (const key of new Set([...cwds].map(claudeProjectKey))) {
    const dir = path.join(root, 'projects', key);
    searched.push(dir);
    const found = await listJsonl(dir, (opts.maxFiles ?? 2000) - files.length);
    files.push(...found.files);
    truncated ||= found.truncated;
  }
  return { files, truncated };
}

/** Codex: `sessions/YYYY/MM/DD/rollout-*.jsonl`, newest days first, within the file budget. */
async function codexCandidates(root: string, searched: string[], opts: FindSessionsOptions): Promise<{ files: string[]; truncated: boolean }> {
  const base = path.join(root, 'sessions');
  searched.push(base);
  const budget = opts.maxFiles ?? 2000;
  const files: string[] = [];
  const dirsOf = async (dir: string): Promise<string[]> => {
    try {
      return (await fsl().readdir(dir))
        .filter((d) => d.isDirectory() && /^\d+$/.test(d.name))
        .map((d) => d.name)
        .sort()
        .reverse()
        .map((n) => path.join(dir, n));
    } catch {
      return [];
    }
  };
  for (const year of await dirsOf(base)) {
    for (const month of await dirsOf(year)) {
      for (const day of await dirsOf(month)) {
        const found = await listJsonl(day, budget - files.length);
        files.push(...found.files.filter((f) => path.basename(f).startsWith('rollout-')));
        if (found.truncated || files.length >= budget) return { files, truncated: true };
      }
    }
  }
  return { files, truncated: false };
}

/** One candidate: confirmed by the cwd in its first records, then judged. undefined: another folder's session. */
async function describeSession(
  root: ToolRoot,
  file: string,
  cwds: Set<string>,
  opts: FindSessionsOptions,
  shared: WriterEvidence,
): Promise<AgentSession | undefined> {
  const fallback = profileForToolRoot(root);
  const base = {
    tool: root.tool,
    root: root.root,
    path: file,
    profile: fallback.id,
    sessionId: null,
    cwd: null,
    bytes: 0,
    modifiedAt: new Date(0).toISOString(),
  };
  let head: { cwd: string | null; sessionId: string | null; profile: JsonlProfile; bytes: number; mtimeMs: number };
  try {
    head = await readHead(file, fallback, opts.headBytes ?? 256 * 1024);
  } catch (err) {
    const known = toLedgerlockError(err);
    if (known === undefined) throw err;
    return { ...base, health: 'unknown', checked: 'none', records: null, problems: [], writing: [], error: { code: known.code, message: known.message } };
  }
  if (head.cwd !== null && !cwds.has(head.cwd)) return undefined;
  if (root.tool === 'codex' && head.cwd === null) return undefined; // a rollout names its cwd in its first line
  const session: AgentSession = {
    ...base,
    profile: head.profile.id,
    sessionId: head.sessionId ?? (root.tool === 'claude-code' ? path.basename(file, '.jsonl') : null),
    cwd: head.cwd,
    bytes: head.bytes,
    modifiedAt: new Date(head.mtimeMs).toISOString(),
    health: 'unknown',
    checked: 'none',
    records: null,
    problems: [],
    writing: [],
  };
  try {
    session.writing = await liveWritersOf(file, head.profile, shared);
    const ledger = await openLedger(file, { create: false, telemetry: false, profile: head.profile.id });
    try {
      if (head.bytes <= (opts.wholeCheckBytes ?? 8 * 1024 * 1024)) {
        const report = await ledger.verify(opts.signal ? { signal: opts.signal } : {});
        session.health = report.health;
        session.checked = 'whole';
        session.records = report.events;
        session.problems = report.problems.slice(0, PROBLEMS_KEPT);
      } else {
        const tail = await tailHealth(file, head.bytes, head.profile);
        session.health = tail.health;
        session.checked = 'tail';
        session.problems = tail.problems;
      }
    } finally {
      await ledger.close();
    }
  } catch (err) {
    const known = toLedgerlockError(err);
    if (known === undefined) throw err;
    session.error = { code: known.code, message: known.message };
  }
  return session;
}

/**
 * A big transcript by its end, within TAIL_BYTES: healthy when it ends with a complete record;
 * torn when damage follows the last record found; unknown when none is found that close to the
 * end (a 2 GB run of zeros is judged by its last megabyte, never read whole).
 */
async function tailHealth(file: string, bytes: number, profile: JsonlProfile): Promise<{ health: LedgerHealth | 'unknown'; problems: LedgerProblem[] }> {
  const f = await fsl().open(file, 'r');
  let buf: Buffer;
  const start = Math.max(0, bytes - TAIL_BYTES);
  try {
    buf = Buffer.alloc(bytes - start);
    buf = buf.subarray(0, await f.read(buf, 0, buf.length, start));
  } finally {
    await f.close();
  }
  let lineEnd = buf.length;
  let terminated = buf.length > 0 && buf[buf.length - 1] === 0x0a;
  if (terminated) lineEnd--;
  for (let end = lineEnd; end > 0;) {
    const nl = buf.lastIndexOf(0x0a, end - 1);
    if (nl < 0 && start > 0) break; // the line may begin before the window: not judged
    const from = nl + 1;
    const raw = { offset: start + from, length: end - from + (terminated ? 1 : 0), bytes: buf.subarray(from, end), line: 0, terminated };
    const seen = interpretForeign(raw, profile);
    if (seen.event) {
      const after = raw.offset + raw.length;
      if (after >= bytes) return { health: 'ok', problems: [] };
      const problem: LedgerProblem = {
        kind: 'torn-tail',
        code: ErrorCode.LedgerTorn,
        offset: after,
        length: bytes - after,
        line: 0,
        message: `the file ends with ${bytes - after} bytes after its last complete record (offset ${after}); "ledgerlock verify" checks every line`,
      };
      return { health: 'torn', problems: [problem] };
    }
    terminated = true;
    end = nl;
  }
  return { health: 'unknown', problems: [] };
}

/** The first complete lines (bounded): the file's profile, the cwd and session id they record. */
async function readHead(
  file: string,
  fallback: JsonlProfile,
  headBytes: number,
): Promise<{ cwd: string | null; sessionId: string | null; profile: JsonlProfile; bytes: number; mtimeMs: number }> {
  const f = await fsl().open(file, 'r');
  try {
    const st = await f.stat();
    const buf = Buffer.alloc(Math.min(headBytes, Math.max(0, st.size)));
    const got = buf.length > 0 ? await f.read(buf, 0, buf.length, 0) : 0;
    let profile: JsonlProfile | undefined;
    let cwd: string | null = null;
    let sessionId: string | null = null;
    let start = 0;
    for (let end = buf.indexOf(0x0a, 0); end >= 0 && end < got; end = buf.indexOf(0x0a, start)) {
      const line = buf.subarray(start, end);
      start = end + 1;
      let value: unknown;
      try {
        value = JSON.parse(line.toString('utf8'));
      } catch {
        continue;
      }
      profile ??= fallback.id === 'generic' ? recogniseProfile(value, file) : fallback;
      if (profile.notARecord(value) !== undefined) continue;
      cwd = profile.cwd(value) ?? null;
      const o = value as Record<string, unknown>;
      const id = profile.id === 'codex' ? (o.payload as Record<string, unknown> | undefined)?.id : o.sessionId;
      if (typeof id === 'string') sessionId = id;
      if (cwd !== null) break;
    }
    return { cwd, sessionId, profile: profile ?? fallback, bytes: st.size, mtimeMs: st.mtimeMs };
  } finally {
    await f.close();
  }
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}
