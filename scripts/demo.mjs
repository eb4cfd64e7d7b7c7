// `npm start`: builds Ledgerlock, makes a demo workspace with the situations the extension
// is for, and opens it in a real VS Code (code-server on 127.0.0.1). Ctrl-C stops everything.
//   - build.lock: left behind by a process killed with SIGKILL (stale, reapable)
//   - events.jsonl: a ledger whose last record was torn mid-write (repairable)
//   - activity.jsonl: a live writer appends an event every second
//   - deploy.lock: held by a live process, past the contention threshold after 10 s
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { root, startCodeServer } from '../test/vscode/codeServer.mjs';

const children = [];
let server;
let stopping = false;

async function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  console.log('\nledgerlock demo: stopping');
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  await server?.stop();
  process.exit(code);
}
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));

console.log('ledgerlock demo: building');
execFileSync(process.execPath, ['esbuild.mjs', '--only=engine,cli,server,extension,webview'], { cwd: root, stdio: 'inherit' });
execFileSync('bash', [path.join(root, 'scripts/setup-vscode-runtime.sh')], { cwd: root, stdio: 'inherit' });

// Imported after the build: the fixture helpers load dist/engine.js.
const { appendEvents, deadHoldersLock, enginePath, holdLock, tearTail } = await import('../test/vscode/fixture.mjs');
const { ensureStore } = (await import('node:module')).createRequire(import.meta.url)(enginePath);

const workspace = path.join(root, 'demo', 'workspace');
rmSync(workspace, { recursive: true, force: true });
mkdirSync(workspace, { recursive: true });
const store = await ensureStore(workspace);
await appendEvents(path.join(store.ledgers, 'events.jsonl'), 12, 'order.placed');
tearTail(path.join(store.ledgers, 'events.jsonl'));
await appendEvents(path.join(store.ledgers, 'audit.jsonl'), 240, 'audit.entry');
const deadPid = await deadHoldersLock(path.join(store.locks, 'build.lock'), 'demo-build');
mkdirSync(path.join(workspace, 'logs'), { recursive: true });
writeFileSync(path.join(workspace, 'logs', 'app.ndjson'), [1, 2, 3].map((i) => JSON.stringify({ ts: new Date().toISOString(), level: 'info', msg: `request ${i}` })).join('\n') + '\n');
writeFileSync(path.join(workspace, 'package-lock.json'), '{"lockfileVersion":3}\n');
writeFileSync(path.join(workspace, 'README.md'), '# Ledgerlock demo\n\nOpen the Ledgerlock view in the activity bar. build.lock was left by a killed process, events.jsonl has a torn tail, activity.jsonl grows every second, and deploy.lock is held by a live process.\n');

const holder = await holdLock(path.join(store.locks, 'deploy.lock'), 'demo-deployer');
children.push(holder);
const writerScript = `
  const e = require(${JSON.stringify(enginePath)});
  (async () => {
    const ledger = await e.openLedger(${JSON.stringify(path.join(store.ledgers, 'activity.jsonl'))}, { tool: 'demo-writer' });
    let n = 0;
    setInterval(() => { n++; ledger.append('heartbeat', { n, at: new Date().toISOString() }).catch((err) => console.error(err.message)); }, 1000);
  })();`;
const writer = spawn(process.execPath, ['-e', writerScript], { stdio: ['ignore', 'inherit', 'inherit'] });
children.push(writer);

// PORT picks the port (default: a free one); code-server listens on 127.0.0.1 only.
server = await startCodeServer({ trusted: true, ...(process.env.PORT ? { port: Number(process.env.PORT) } : {}) });
const url = server.workbenchUrl(workspace);
console.log(`
ledgerlock demo is running
  workspace:  ${workspace}
  build.lock: left by pid ${deadPid} (killed)      deploy.lock: held by pid ${holder.pid}
  writer:     pid ${writer.pid} appends to activity.jsonl every second

  Open this URL in a browser on this machine (code-server on 127.0.0.1, no password):

  ${url}

  The same workspace from a terminal (\`npm link\` puts \`ledgerlock\` on your PATH):

    cd ${path.relative(process.cwd(), workspace) || '.'}
    node ${path.relative(workspace, path.join(root, 'dist/cli.js'))} status
    node ${path.relative(workspace, path.join(root, 'dist/cli.js'))} reap build

Press Ctrl-C to stop.`);
server.child.once('exit', (code) => {
  if (!stopping) {
    console.error(`code-server exited (${code})`);
    void stop(1);
  }
});
