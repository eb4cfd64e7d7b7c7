/**
 * Agent sessions of the open folders, kept outside them in per-user tool roots (README.md,
 * "Agent sessions"). The roots come only from the user- and machine-level value of
 * `ledgerlock.toolRoots`, which the extension sends (ToolRootsNotification); nothing read from a
 * workspace can add one. Each folder's sessions are found with the engine's `findAgentSessions`
 * (confined to each root, within its budgets), looked at again by a modest poll, and repaired
 * only on an explicit request, under the root they were found in.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import {
  findAgentSessions,
  openLedger,
  parseToolRoot,
  withinRoot,
  type AgentSession,
  type AgentSessionsReport,
  type RepairResult,
  type ToolRoot,
} from '../engine';
import type { ActionResult } from '../protocol';
import type { SessionItem, SessionsState } from '../sessions-protocol';
import { failure } from './actions';

/** A person turns on a handful of roots; more is not a setting, it is input to refuse. */
const MAX_ROOTS = 16;
const MAX_ROOT_CHARS = 1024;
/** How often the files found are looked at again (stat only; a search runs when one changed). */
const POLL_MS = 4_000;
/** While a tool writes a session, search again at least this often, so "writing" clears when it stops. */
const WRITING_RESCAN_MS = 30_000;

export interface SessionFolder {
  uri: string;
  name: string;
  dir: string;
}

interface Found {
  folder: SessionFolder;
  report: AgentSessionsReport;
}

export class SessionsModel {
  private roots: ToolRoot[] = [];
  private rejected: string[] = [];
  private found: Found[] = [];
  private scanning = false;
  private again = false;
  private running: Promise<void> = Promise.resolve();
  private signature = '';
  private lastScan = 0;
  private lastSent = '';
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly folders: () => SessionFolder[],
    private readonly changed: (state: SessionsState) => void,
    private readonly log: (line: string, level?: 'info' | 'warn') => void,
  ) {}

  /**
   * The value of `ledgerlock.toolRoots` the extension read from user settings:
   * `TOOL=PATH` strings (the CLI's `--tool-root`). Anything else is refused and said so.
   */
  setRoots(raw: unknown): void {
    const roots: ToolRoot[] = [];
    const rejected: string[] = [];
    const given = Array.isArray(raw) ? raw : raw === undefined || raw === null ? [] : [raw];
    for (const spec of given.slice(0, MAX_ROOTS)) {
      if (typeof spec !== 'string' || spec.length === 0 || spec.length > MAX_ROOT_CHARS) {
        rejected.push(`ledgerlock.toolRoots: ${JSON.stringify(spec)?.slice(0, 80)} is not TOOL=PATH; ignored`);
        continue;
      }
      try {
        const root = parseToolRoot(spec);
        if (!roots.some((r) => r.tool === root.tool && r.root === root.root)) roots.push(root);
      } catch (err) {
        rejected.push(`ledgerlock.toolRoots: ${(err as Error).message}; ignored`);
      }
    }
    if (given.length > MAX_ROOTS) rejected.push(`ledgerlock.toolRoots: only the first ${MAX_ROOTS} roots are used`);
    for (const line of rejected) this.log(line, 'warn');
    this.roots = roots;
    this.rejected = rejected;
    this.log(`agent sessions: tool roots ${roots.map((r) => `${r.tool}=${r.root}`).join(', ') || '(none turned on)'}`);
    void this.scan();
    this.schedulePoll();
  }

  /** Searches every folder's sessions again (one search at a time; a request meanwhile runs one more after it). */
  scan(): Promise<void> {
    if (this.scanning) {
      this.again = true;
      return this.running;
    }
    this.scanning = true;
    this.push();
    this.running = (async () => {
      do {
        this.again = false;
        const started = Date.now();
        const roots = this.roots;
        const found: Found[] = [];
        if (roots.length > 0) {
          for (const folder of this.folders()) {
            try {
              found.push({ folder, report: await findAgentSessions(folder.dir, roots) });
            } catch (err) {
              this.log(`agent sessions of ${folder.name}: ${(err as Error).message}`, 'warn');
            }
          }
        }
        this.found = found;
        this.lastScan = Date.now();
        this.signature = await this.look();
        const n = found.reduce((sum, f) => sum + f.report.sessions.length, 0);
        if (roots.length > 0) this.log(`agent sessions: ${n} found in ${Date.now() - started} ms`);
      } while (this.again);
      this.scanning = false;
      this.push();
    })();
    return this.running;
  }

  /** The session the server listed at `p`, if any: only those are read in the editor, and repaired. */
  sessionAt(p: string): AgentSession | undefined {
    const abs = path.resolve(p);
    for (const f of this.found) for (const s of f.report.sessions) if (s.path === abs) return s;
    return undefined;
  }

  snapshot(): SessionsState {
    const roots = new Map<string, SessionsState['roots'][number]>();
    for (const r of this.roots) roots.set(`${r.tool}=${r.root}`, { tool: r.tool, root: r.root, exists: false });
    for (const f of this.found)
      for (const r of f.report.roots) {
        const key = `${r.tool}=${r.root}`;
        const entry = roots.get(key) ?? { tool: r.tool, root: r.root, exists: false };
        entry.exists ||= r.exists;
        if (r.error) entry.error = `${r.error.code}: ${r.error.message}`;
        roots.set(key, entry);
      }
    const locks = new Map<string, SessionsState['locks'][number]>();
    for (const f of this.found) for (const l of f.report.locks) locks.set(l.path, { tool: 'authmux', path: l.path, state: l.state, reason: l.reason });
    return {
      roots: [...roots.values()],
      rejected: this.rejected,
      folders: this.found.map((f) => ({
        uri: f.folder.uri,
        name: f.folder.name,
        sessions: f.report.sessions.map((s) => toItem(f.folder.uri, s)),
        truncated: f.report.truncated,
      })),
      locks: [...locks.values()],
      scanning: this.scanning,
    };
  }

  /** Repairs a listed session under its tool root; the engine refuses while its tool writes it (E_LOCK_LIVE_HOLDER). */
  async repair(p: string, trusted: boolean): Promise<ActionResult & { kept?: string[] }> {
    if (!trusted)
      return {
        ok: false,
        code: 'E_UNTRUSTED',
        message: 'Ledgerlock does not change files in an untrusted workspace. Trust the workspace to repair a session.',
      };
    const session = this.sessionAt(p);
    if (!session)
      return { ok: false, code: 'E_NOT_FOUND', message: `${p} is not an agent session Ledgerlock found for this workspace; only those are repaired` };
    let result: RepairResult;
    try {
      result = await withinRoot(session.root, async () => {
        const ledger = await openLedger(session.path, { create: false, profile: session.profile });
        try {
          return await ledger.repair();
        } finally {
          await ledger.close();
        }
      });
    } catch (err) {
      await this.scan();
      return failure(err);
    }
    await this.scan();
    const name = path.basename(session.path);
    const after = this.sessionAt(session.path);
    const left =
      after && after.health !== 'ok'
        ? ` ${after.problems.length} damaged line(s) are left that hold no record to give back: "ledgerlock repair --remove-corrupt" moves them to quarantine.`
        : '';
    if (!result.repaired) return { ok: true, cleared: true, message: `${name} has no damage the repair can give back.${left}` };
    const kept: string[] = [];
    const lines: string[] = [];
    for (const s of result.salvaged ?? []) {
      for (const c of s.cut) lines.push(`line ${s.line}: moved ${c.length} bytes at byte ${c.offset} (${s.kind}) to ${c.quarantine}`);
      if (s.kept.length > 0) lines.push(`line ${s.line}: kept ${s.kept.map((k) => k.summary).join('; ')}`);
      kept.push(...s.kept.map((k) => k.summary));
    }
    if (result.tail.health === 'torn' && result.quarantine) lines.push(`cut the torn end at byte ${result.truncatedAt} to ${result.quarantine}`);
    const records = result.records !== undefined ? `${result.records} complete records` : 'its records';
    return { ok: true, kept, message: `Repaired ${name}: it keeps ${records}. ${lines.join('. ')}.${left}` };
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private push(): void {
    const state = this.snapshot();
    const text = JSON.stringify(state);
    if (text === this.lastSent) return;
    this.lastSent = text;
    this.changed(state);
  }

  private schedulePoll(): void {
    if (this.timer || this.roots.length === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.poll().finally(() => this.schedulePoll());
    }, POLL_MS);
    this.timer.unref();
  }

  /** Stats only: the folders searched, the markers folder and each session file; a search runs when one changed. */
  private async poll(): Promise<void> {
    if (this.scanning || this.roots.length === 0) return;
    const writing = this.found.some((f) => f.report.sessions.some((s) => s.writing.length > 0));
    if ((await this.look()) !== this.signature || (writing && Date.now() - this.lastScan > WRITING_RESCAN_MS)) await this.scan();
  }

  private async look(): Promise<string> {
    const paths = new Set<string>();
    const now = new Date();
    const day = [now.getFullYear(), now.getMonth() + 1, now.getDate()].map((n) => String(n).padStart(2, '0'));
    for (const r of this.roots) {
      if (r.tool === 'claude-code') paths.add(path.join(r.root, 'sessions'));
      // Codex files a new rollout under today's folder: its folder changes, not `sessions/`.
      if (r.tool === 'codex') paths.add(path.join(r.root, 'sessions', ...day));
    }
    for (const f of this.found) {
      for (const r of f.report.roots) for (const s of r.searched) paths.add(s);
      for (const s of f.report.sessions) paths.add(path.dirname(s.path)).add(s.path);
    }
    const parts: string[] = [];
    for (const p of paths) {
      // lstat: a link is looked at, never followed out of its root.
      const st = await fs.lstat(p).catch(() => undefined);
      parts.push(st ? `${p}:${st.size}:${st.mtimeMs}` : `${p}:-`);
    }
    return parts.join('\n');
  }
}

function toItem(folder: string, s: AgentSession): SessionItem {
  return {
    folder,
    tool: s.tool,
    root: s.root,
    path: s.path,
    sessionId: s.sessionId,
    bytes: s.bytes,
    modifiedAt: s.modifiedAt,
    health: s.health,
    checked: s.checked,
    records: s.records,
    problems: s.problems.map((p) => ({ kind: p.kind, line: p.line, offset: p.offset, message: p.message })),
    writing: s.writing.map((w) => w.detail),
    ...(s.error ? { error: s.error } : {}),
  };
}
