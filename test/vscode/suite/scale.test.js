// Issue 3's scale numbers, measured in a real VS Code: the first page of a 1,000,000-event
// ledger, and a workspace with 1,000 lock files. Numbers are reported, not asserted (machines
// are noisy); what is asserted is that the work completes and shows the right data.
const assert = require('node:assert/strict');
const path = require('node:path');
const vscode = require('vscode');
const { api, until, metric, ledgerNodes } = require('./helpers');

describe('Ledgerlock at scale', () => {
  let ll;
  const dir = vscode.workspace.workspaceFolders[0].uri.fsPath;
  const big = path.join(dir, '.ledgerlock', 'ledgers', 'metrics.jsonl');

  before(async () => {
    ll = await api();
    metric('activation (activate() body)', Math.round(ll.activationMs * 10) / 10, 'ms');
  });

  it('discovers all 1,000 lock files', async () => {
    await ll.state.waitFor((s) => s.folders[0].locks.length >= 1000, 180_000);
    metric('activation to 1,000 locks listed', Date.now() - ll.activatedAt, 'ms');
    const items = ll.state.locks();
    assert.equal(items.length, 1000);
    assert.ok(items.every((l) => l.reapable), 'every holder is gone');
  });

  it('shows the first page of a 1,000,000-event ledger', async () => {
    await ll.state.waitFor((s) => s.folders[0].ledgers.some((l) => l.path === big), 180_000);
    const node = (await ledgerNodes(ll)).find((n) => n.ledger.path === big);
    metric(`big ledger: ${node.ledger.lastId} events, size`, Math.round(node.ledger.bytes / 1024 / 1024), 'MB');
    const started = performance.now();
    const first = await ll.ledgers.getChildren(node);
    metric('big ledger: expand to first page (50 events)', Math.round(performance.now() - started), 'ms');
    assert.equal(first[0].event.id, node.ledger.lastId);
    assert.equal(first.filter((n) => n.event).length, 50);
    for (let i = 1; i <= 3; i++) {
      const t = performance.now();
      await ll.ledgers.loadMore(big);
      metric(`big ledger: Load more #${i}`, Math.round(performance.now() - t), 'ms');
    }
    const shown = (await ll.ledgers.getChildren(node)).filter((n) => n.event);
    assert.equal(shown.length, 200);
    assert.equal(shown[199].event.id, node.ledger.lastId - 199);
  });

  it('stays responsive while 1,000 locks are re-inspected on the timer', async () => {
    const started = performance.now();
    await vscode.commands.executeCommand('ledgerlock.refresh');
    metric('full rescan (Refresh) with 1,000 locks and the big ledger', Math.round(performance.now() - started), 'ms');
    const item = ll.state.findLedger(big);
    assert.equal(item.tailOnly, true, 'the big ledger is not verified whole to draw the view');
    const node = (await ledgerNodes(ll)).find((n) => n.ledger.path === big);
    const latencies = [];
    // Each round trip reads a fresh first page of the 1M-event ledger while the lock timer runs.
    for (let i = 0; i < 30; i++) {
      ll.ledgers.forget(big);
      const t = performance.now();
      await ll.ledgers.getChildren(node);
      latencies.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 100));
    }
    latencies.sort((a, b) => a - b);
    metric('big ledger first page, repeated, with 1,000 locks (p50)', Math.round(latencies[15]), 'ms');
    metric('big ledger first page, repeated, with 1,000 locks (max of 30)', Math.round(latencies[29]), 'ms');
    const lock = ll.state.locks()[0].path;
    const t = performance.now();
    const result = await vscode.commands.executeCommand('ledgerlock.reapLock', lock, { confirmed: true });
    assert.equal(result.ok, true, result.message);
    await until('the reaped lock leaves the view', () => !ll.state.findLock(lock));
    metric('reap one of 1,000 locks until the view updates', Math.round(performance.now() - t), 'ms');
  });
});
