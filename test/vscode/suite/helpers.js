// Shared by the extension-host tests: the activated extension's API, waiting, and the
// fixture's paths (the runner made the workspace with test/vscode/fixture.mjs).
const assert = require('node:assert/strict');
const path = require('node:path');
const vscode = require('vscode');

const EXTENSION_ID = 'ledgerlock.ledgerlock';

async function api() {
  const ext = vscode.extensions.getExtension(EXTENSION_ID);
  assert.ok(ext, `${EXTENSION_ID} is loaded`);
  const exports = await ext.activate();
  await exports.ready;
  return exports;
}

function workspacePaths() {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'a workspace folder is open');
  const dir = folder.uri.fsPath;
  const store = path.join(dir, '.ledgerlock');
  return {
    dir,
    store,
    telemetry: path.join(store, 'telemetry.jsonl'),
    tornLedger: path.join(store, 'ledgers', 'events.jsonl'),
    pagedLedger: path.join(store, 'ledgers', 'audit.jsonl'),
    deadLock: path.join(store, 'locks', 'build.lock'),
    quarantine: path.join(store, 'quarantine'),
  };
}

/** Polls `condition` every 100 ms until it returns something truthy (returned), or throws after `timeoutMs`. */
async function waitFor(condition, timeoutMs = 20_000, what = 'the condition') {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const last = await condition();
    if (last) return last;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const until = (what, probe, timeoutMs) => waitFor(probe, timeoutMs, what);

/** Waits until `probe`'s value has not changed for `quietMs` (something that was going on stopped), at most `timeoutMs`. */
async function quiet(probe, quietMs, timeoutMs = 20_000, what = 'quiet') {
  let value = await probe();
  let since = Date.now();
  await waitFor(async () => {
    const now = await probe();
    if (now !== value) [value, since] = [now, Date.now()];
    return Date.now() - since >= quietMs;
  }, timeoutMs, what);
  return value;
}

function metric(name, value, unit) {
  (globalThis.__ledgerlockMetrics ??= []).push({ name, value, unit });
}

/** The ledger nodes of the Ledgers view, whichever folder they are grouped under. */
async function ledgerNodes(ll) {
  const nodes = [];
  for (const folder of await ll.ledgers.getChildren()) nodes.push(...(await ll.ledgers.getChildren(folder)));
  return nodes;
}

/** The recovery nodes of the Recovery Log view, across its folder groups, newest first per folder. */
async function recoveryNodes(ll) {
  const nodes = [];
  for (const folder of await ll.recoveryLog.getChildren()) nodes.push(...(await ll.recoveryLog.getChildren(folder)));
  return nodes;
}

module.exports = { api, ledgerNodes, recoveryNodes, workspacePaths, waitFor, until, quiet, metric, engine: () => require(path.resolve(__dirname, '../../../dist/engine.js')) };
