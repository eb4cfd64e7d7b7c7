// Measures listing a workspace's agent sessions and the first page of a big transcript
// (README.md, "Agent sessions"): 1,000 Claude Code session files of 2 MB each (sparse, ≈ 2 GB),
// and one 200 MB transcript of real entries. Run after `node esbuild.mjs --only=engine`.
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const engine = createRequire(import.meta.url)('../../dist/engine.js');
const dir = fs.mkdtempSync(path.join(process.env.LEDGERLOCK_BENCH_DIR ?? os.tmpdir(), 'll-sessions-bench-'));
const workspace = path.join(dir, 'work');
fs.mkdirSync(workspace);
const root = path.join(dir, '.claude');
const project = path.join(root, 'projects', engine.claudeProjectKey(workspace));
fs.mkdirSync(project, { recursive: true });
const entry = (sessionId, i, parent) =>
  JSON.stringify({
    parentUuid: parent,
    isSidechain: false,
    userType: 'external',
    cwd: workspace,
    sessionId,
    version: '2.1.0',
    type: i % 2 ? 'user' : 'assistant',
    message: { role: 'user', content: `message ${i} ${'x'.repeat(400)}` },
    uuid: `${sessionId.slice(0, 24)}${String(i).padStart(12, '0')}`,
    timestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
  }) + '\n';
const files = Number(process.env.SESSIONS ?? 1000);
for (let f = 0; f < files; f++) {
  const id = `00000000-0000-4000-8000-${String(f).padStart(12, '0')}`;
  const file = path.join(project, `${id}.jsonl`);
  fs.writeFileSync(file, entry(id, 1, null) + entry(id, 2, `${id.slice(0, 24)}${'1'.padStart(12, '0')}`));
  fs.truncateSync(file, 2 * 1024 * 1024); // a crash's zero fill: the size reached the disk, the data did not
}
let peak = 0;
const sample = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
let t = performance.now();
const report = await engine.findAgentSessions(workspace, [{ tool: 'claude-code', root }]);
const listMs = performance.now() - t;
console.log(
  `list: ${report.sessions.length} sessions (${files} files, ${((files * 2) / 1024).toFixed(1)} GB) in ${listMs.toFixed(0)} ms, peak RSS ${(peak / 2 ** 20).toFixed(0)} MB`,
);

const bigId = '99999999-0000-4000-8000-000000000000';
const big = path.join(project, `${bigId}.jsonl`);
const fd = fs.openSync(big, 'w');
let parent = null;
const chunk = [];
for (let i = 1, bytes = 0; bytes < 200 * 1024 * 1024; i++) {
  const line = entry(bigId, i, parent);
  parent = `${bigId.slice(0, 24)}${String(i).padStart(12, '0')}`;
  chunk.push(line);
  bytes += line.length;
  if (chunk.length === 10_000) fs.writeSync(fd, chunk.splice(0).join(''));
}
fs.writeSync(fd, chunk.join(''));
fs.closeSync(fd);
peak = 0;
t = performance.now();
const ledger = await engine.openLedger(big, { telemetry: false });
const page = await ledger.page({ limit: 50 });
const pageMs = performance.now() - t;
await ledger.close();
clearInterval(sample);
console.log(
  `first page: ${page.events.length} entries of a ${(fs.statSync(big).size / 2 ** 20).toFixed(0)} MB transcript in ${pageMs.toFixed(0)} ms, peak RSS ${(peak / 2 ** 20).toFixed(0)} MB`,
);
fs.rmSync(dir, { recursive: true, force: true });
