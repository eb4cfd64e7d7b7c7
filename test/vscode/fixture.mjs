// Workspaces for the extension tests and the demo, made with the engine itself so the
// files are exactly what Ledgerlock writes: a lock left by a killed process, a ledger with a
// torn tail, a healthy ledger long enough to page, and things that must never show up.
import { spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { root } from './codeServer.mjs';

const require = createRequire(import.meta.url);
export const enginePath = path.join(root, 'dist/engine.js');

export function engine() {
  return require(enginePath);
}

/** Takes `lockPath` in a child process and kills it with SIGKILL: a crashed holder's lock. */
export async function deadHoldersLock(lockPath, tool = 'fixture-writer') {
  const child = await holdLock(lockPath, tool);
  child.kill('SIGKILL');
  await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r() : child.once('exit', r)));
  return child.pid;
}

/** A child process holding `lockPath` until killed; resolves once the lock is held. */
export function holdLock(lockPath, tool = 'fixture-holder') {
  const script = `
    const e = require(${JSON.stringify(enginePath)});
    e.acquireLock(${JSON.stringify(lockPath)}, { tool: ${JSON.stringify(tool)} }).then(
      () => { process.stdout.write('held\\n'); setInterval(() => {}, 1000); },
      (err) => { console.error(err); process.exit(1); });`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      if (String(d).includes('held')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`lock holder exited with ${code} before holding ${lockPath}`)));
  });
}

export async function appendEvents(ledgerPath, count, type = 'task.updated') {
  const ledger = await engine().openLedger(ledgerPath, { create: true, telemetry: false });
  try {
    const batch = [];
    for (let i = 1; i <= count; i++) batch.push({ type, data: { task: `task-${i}`, step: i, note: `event ${i} of ${count}` } });
    for (let i = 0; i < batch.length; i += 500) await ledger.appendMany(batch.slice(i, i + 500));
  } finally {
    await ledger.close();
  }
}

/** Glues half a record onto the end, as a writer killed mid-append leaves it. */
export function tearTail(ledgerPath) {
  appendFileSync(ledgerPath, '{"id":999999,"ts":"2026-01-0');
}

export async function makeWorkspace(dir, { torn = true, dead = true, git = false, pagedEvents = 120 } = {}) {
  mkdirSync(dir, { recursive: true });
  const e = engine();
  const store = await e.ensureStore(dir);
  const paths = {
    dir,
    store: store.dir,
    telemetry: store.telemetry,
    tornLedger: path.join(store.ledgers, 'events.jsonl'),
    pagedLedger: path.join(store.ledgers, 'audit.jsonl'),
    deadLock: path.join(store.locks, 'build.lock'),
    quarantine: store.quarantine,
  };
  await appendEvents(paths.tornLedger, 5, 'job.started');
  if (torn) tearTail(paths.tornLedger);
  await appendEvents(paths.pagedLedger, pagedEvents, 'audit.entry');
  if (dead) paths.deadPid = await deadHoldersLock(paths.deadLock);
  // Never shown: a dependency lockfile and a lock inside node_modules.
  writeFileSync(path.join(dir, 'package-lock.json'), '{"lockfileVersion":3}\n');
  mkdirSync(path.join(dir, 'node_modules', 'dep'), { recursive: true });
  writeFileSync(path.join(dir, 'node_modules', 'dep', 'install.lock'), '');
  if (git) {
    // git's own lock, left by a crashed git a minute ago, is shown; locks deeper in VCS internals are not.
    mkdirSync(path.join(dir, '.git', 'objects', 'pack'), { recursive: true });
    writeFileSync(path.join(dir, '.git', 'index.lock'), '');
    const old = new Date(Date.now() - 60_000);
    utimesSync(path.join(dir, '.git', 'index.lock'), old, old);
    writeFileSync(path.join(dir, '.git', 'objects', 'pack', 'pack.lock'), '');
  }
  mkdirSync(path.join(dir, '.vscode'), { recursive: true });
  writeFileSync(path.join(dir, '.vscode', 'settings.json'), JSON.stringify({ 'ledgerlock.pageSize': 50, 'ledgerlock.contentionThresholdSeconds': 3 }, null, 2));
  return paths;
}

/**
 * The scale workspace of issue 3: a 1,000,000-event ledger and 1,000 lock files spread over
 * ten service folders (most left by a killed holder, the rest zero-byte crash leftovers).
 */
export async function makeScaleWorkspace(dir, { events = 1_000_000, locks = 1000 } = {}) {
  const { mkdirSync: mkdir, readFileSync, utimesSync } = await import('node:fs');
  mkdir(dir, { recursive: true });
  const e = engine();
  const store = await e.ensureStore(dir);
  const big = path.join(store.ledgers, 'metrics.jsonl');
  const ledger = await e.openLedger(big, { durability: 'none', telemetry: false });
  try {
    const batch = [];
    for (let i = 0; i < 5000; i++) batch.push({ type: 'metric.sample', data: { series: `s${i % 17}`, value: i } });
    for (let written = 0; written < events; written += batch.length) await ledger.appendMany(batch.slice(0, Math.min(batch.length, events - written)));
  } finally {
    await ledger.close();
  }
  await appendEvents(path.join(store.ledgers, 'small.jsonl'), 60, 'small.event');
  const template = path.join(store.locks, 'template.lock');
  await deadHoldersLock(template, 'scale-writer');
  const content = readFileSync(template);
  const old = new Date(Date.now() - 60_000);
  for (let i = 0; i < locks - 1; i++) {
    const folder = path.join(dir, 'services', `svc-${i % 10}`, '.locks');
    mkdir(folder, { recursive: true });
    const file = path.join(folder, `job-${String(i).padStart(4, '0')}.lock`);
    writeFileSync(file, i % 4 === 3 ? '' : content);
    utimesSync(file, old, old);
  }
  return { dir, big, small: path.join(store.ledgers, 'small.jsonl'), locks };
}
