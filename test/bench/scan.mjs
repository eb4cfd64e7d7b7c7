// What the language server costs on a big workspace: generates one (100k lock files, or a
// million files), starts dist/server.js over stdio on it, and prints the time to the first
// pushed state, the time until the scan is done, the server's peak RSS (VmHWM) and its CPU
// use while idle afterwards. Never part of `npm test`.
//
//   node test/bench/scan.mjs --locks 100000
//   node test/bench/scan.mjs --files 1000000
//   node test/bench/scan.mjs --locks 100000 --keep   (leave the generated workspace in place)
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LspClient } from '../fixtures/lsp-client.mjs';

const arg = (name, fallback) => {
  const at = process.argv.indexOf(`--${name}`);
  return at < 0 ? fallback : Number(process.argv[at + 1]);
};
const locks = arg('locks', 0);
const files = arg('files', 0);
const keep = process.argv.includes('--keep');
const idleSeconds = arg('idle', 10);

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'll-scan-'));
const started = Date.now();
const perDir = 1000;
// Locks: half held by this (live) process, half zero-byte; all in folders of 1,000.
for (let i = 0; i < locks; i++) {
  const dir = path.join(root, 'locks', `d${Math.floor(i / perDir)}`);
  if (i % perDir === 0) fs.mkdirSync(dir, { recursive: true });
  const content = i % 2 === 0 ? JSON.stringify({ format: 'ledgerlock-lock', pid: process.pid, host: os.hostname(), owner: `o${i}`, tool: 'bench', acquiredAt: new Date().toISOString() }) : '';
  fs.writeFileSync(path.join(dir, `l${i}.lock`), content);
}
// Plain files: nothing to find, everything to walk.
for (let i = 0; i < files; i++) {
  const dir = path.join(root, 'src', `d${Math.floor(i / perDir / perDir)}`, `e${Math.floor(i / perDir) % perDir}`);
  if (i % perDir === 0) fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, `f${i}.txt`), '');
}
const generatedMs = Date.now() - started;

const client = new LspClient({ folders: [root], trusted: false });
const t0 = Date.now();
await client.start();
const first = await client.waitForState((s) => s.folders.length > 0, 600_000);
const firstMs = Date.now() - t0;
const done = await client.waitForState((s) => s.folders.length > 0 && s.folders.every((f) => !f.scanning), 1_800_000);
const doneMs = Date.now() - t0;

const pid = client.child.pid;
const ticks = () => {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime, in clock ticks
};
const before = ticks();
await new Promise((r) => setTimeout(r, idleSeconds * 1000));
const idleCpu = (ticks() - before) / 100 / idleSeconds; // assumes 100 ticks/s (Linux default)
const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
const kb = (key) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
await client.stop();
if (!keep) fs.rmSync(root, { recursive: true, force: true });

const folder = done.folders[0];
console.log(JSON.stringify({
  workspace: { locks, files, generatedMs, root: keep ? root : undefined },
  firstState: { ms: firstMs, locks: first.folders[0].locks.length, scanning: first.folders[0].scanning === true },
  scanDone: { ms: doneMs, locks: folder.locks.length, ledgers: folder.ledgers.length, truncated: folder.truncated, limit: folder.limit ?? null },
  serverPeakRssMB: Math.round(kb('VmHWM') / 1024),
  serverRssMB: Math.round(kb('VmRSS') / 1024),
  idleCpuShare: Number(idleCpu.toFixed(3)),
}, null, 2));
