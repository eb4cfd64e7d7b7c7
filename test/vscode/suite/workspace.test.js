// The extension in a real VS Code against a fixture with a dead holder's lock, a torn
// ledger and a healthy 120-event ledger. Tests run in order: repairs happen late.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const { spawn } = require('node:child_process');
const path = require('node:path');
const vscode = require('vscode');
const { api, workspacePaths, until, metric, engine } = require('./helpers');

describe('Ledgerlock in a trusted workspace', () => {
  let ll;
  const paths = workspacePaths();

  before(async () => {
    ll = await api();
    metric('activation (activate() body)', Math.round(ll.activationMs * 10) / 10, 'ms');
    await ll.state.waitFor((s) => s.folders[0]?.ledgers.length >= 2 && s.folders[0].locks.length >= 1, 30_000);
    metric('activation to first full workspace state (server start + scan)', Date.now() - ll.activatedAt, 'ms');
  });

  it('lists the dead holder\'s lock as stale and reapable, grouped by folder', async () => {
    const state = await ll.state.waitFor((s) => s.folders.some((f) => f.locks.some((l) => l.path === paths.deadLock && l.reapable)), 20_000);
    const lock = state.folders[0].locks.find((l) => l.path === paths.deadLock);
    assert.equal(lock.state, 'stale');
    const [folderNode] = ll.locks.getChildren();
    assert.equal(ll.locks.getTreeItem(folderNode).label, vscode.workspace.workspaceFolders[0].name);
    const items = ll.locks.getChildren(folderNode).map((n) => ll.locks.getTreeItem(n));
    const build = items.find((i) => i.label === 'build.lock');
    assert.ok(build, 'build.lock is shown');
    assert.match(build.contextValue, /\breapable\b/);
    assert.match(build.description, /^stale · pid \d+ · /);
  });

  it('shows git\'s crashed index.lock but never dependency lockfiles, node_modules or VCS internals', async () => {
    const indexLock = path.join(paths.dir, '.git', 'index.lock');
    await ll.state.waitFor((s) => s.folders[0].locks.some((l) => l.path === indexLock));
    const locks = ll.state.locks().map((l) => path.basename(l.path));
    assert.ok(!locks.includes('package-lock.json'));
    assert.ok(!locks.includes('install.lock'));
    assert.ok(!locks.includes('pack.lock'));
    const git = ll.state.findLock(indexLock);
    assert.equal(git.kind, 'empty');
    assert.equal(git.reapable, true, git.reason);
    const result = await vscode.commands.executeCommand('ledgerlock.reapLock', indexLock, { confirmed: true });
    assert.equal(result.ok, true, result.message);
    assert.ok(!fs.existsSync(indexLock));
  });

  it('lists the ledgers with their health and event counts', async () => {
    const state = await ll.state.waitFor((s) => s.folders.some((f) => f.ledgers.length >= 2));
    const ledgers = state.folders[0].ledgers;
    const torn = ledgers.find((l) => l.path === paths.tornLedger);
    const paged = ledgers.find((l) => l.path === paths.pagedLedger);
    assert.equal(torn.health, 'torn');
    assert.equal(paged.health, 'ok');
    assert.equal(paged.events, 120);
    assert.ok(!ledgers.some((l) => l.path === paths.telemetry), 'the recovery log is not listed as a ledger');
    const roots = await ll.ledgers.getChildren();
    const tornItem = ll.ledgers.getTreeItem(roots.find((n) => n.ledger.path === paths.tornLedger));
    assert.match(tornItem.contextValue, /\btorn\b/);
    assert.equal(ll.ledgers.view.badge?.value, 1);
  });

  it('shows the torn ledger in the status bar with an error background', async () => {
    await until('status bar error', () => /events\.jsonl torn/.test(ll.status.text));
    assert.equal(ll.status.backgroundColor?.id, 'statusBarItem.errorBackground');
    assert.equal(ll.status.command, 'ledgerlock.showFixes');
  });

  it('pages events newest first with a "Load more" node', async () => {
    const roots = await ll.ledgers.getChildren();
    const audit = roots.find((n) => n.ledger.path === paths.pagedLedger);
    const started = Date.now();
    const first = await ll.ledgers.getChildren(audit);
    metric('first page of a 120-event ledger (extension → server → engine)', Date.now() - started, 'ms');
    const events = first.filter((n) => n.event);
    assert.equal(events.length, 50);
    assert.equal(events[0].event.id, 120, 'newest first');
    assert.equal(events[49].event.id, 71);
    const more = first[first.length - 1];
    const moreItem = ll.ledgers.getTreeItem(more);
    assert.equal(moreItem.label, 'Load more…');
    await vscode.commands.executeCommand(moreItem.command.command, ...moreItem.command.arguments);
    const second = (await ll.ledgers.getChildren(audit)).filter((n) => n.event);
    assert.equal(second.length, 100);
    assert.equal(second[99].event.id, 21);
    const item = ll.ledgers.getTreeItem(events[0]);
    assert.equal(item.label, 'audit.entry  #120');
    assert.ok(item.description, 'the time is the description');
  });

  it('opens an event as a read-only JSON document', async () => {
    const roots = await ll.ledgers.getChildren();
    const audit = roots.find((n) => n.ledger.path === paths.pagedLedger);
    const [newest] = await ll.ledgers.getChildren(audit);
    const doc = await vscode.commands.executeCommand('ledgerlock.openEvent', newest);
    assert.equal(doc.uri.scheme, 'ledgerlock-event');
    assert.equal(doc.languageId, 'json');
    const json = JSON.parse(doc.getText());
    assert.equal(json.id, 120);
    assert.equal(json.type, 'audit.entry');
    assert.equal(json.data.step, 120);
    // Edits stay in memory: the document cannot be saved, and the ledger is untouched.
    const ledgerBefore = fs.readFileSync(paths.pagedLedger);
    const edit = new vscode.WorkspaceEdit();
    edit.insert(doc.uri, new vscode.Position(0, 0), 'x');
    await vscode.workspace.applyEdit(edit);
    const saved = await doc.save().then((ok) => ok, () => false);
    assert.equal(saved, false, 'an event document cannot be saved');
    assert.deepEqual(fs.readFileSync(paths.pagedLedger), ledgerBefore);
    await vscode.commands.executeCommand('workbench.action.files.revert');
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('puts a torn-tail diagnostic on the torn ledger', async () => {
    const uri = vscode.Uri.file(paths.tornLedger);
    const diagnostics = await until('diagnostics', () => {
      const d = vscode.languages.getDiagnostics(uri).filter((x) => x.source === 'ledgerlock');
      return d.length > 0 ? d : undefined;
    });
    assert.match(diagnostics[0].message, /Torn tail/);
    assert.equal(diagnostics[0].range.start.line, 5, 'on the sixth line, the partial record');
  });

  it('repairs the torn tail through the diagnostic\'s quick fix, keeping the cut bytes', async () => {
    const uri = vscode.Uri.file(paths.tornLedger);
    const before = fs.readFileSync(paths.tornLedger, 'utf8');
    assert.ok(!before.endsWith('\n'));
    await vscode.window.showTextDocument(uri);
    const [diagnostic] = vscode.languages.getDiagnostics(uri).filter((x) => x.source === 'ledgerlock');
    const actions = await vscode.commands.executeCommand('vscode.executeCodeActionProvider', uri, diagnostic.range, vscode.CodeActionKind.QuickFix.value);
    const repair = actions.find((a) => /Repair torn tail/.test(a.title));
    assert.ok(repair, `a repair quick fix is offered (got ${actions.map((a) => a.title).join(', ')})`);
    assert.equal(repair.command.command, 'ledgerlock.repairTail');
    // The person confirms the modal; here the test confirms programmatically.
    const result = await vscode.commands.executeCommand(repair.command.command, ...repair.command.arguments, { confirmed: true });
    assert.equal(result.ok, true, result.message);
    const after = fs.readFileSync(paths.tornLedger, 'utf8');
    assert.ok(after.endsWith('\n'));
    assert.equal(after.trim().split('\n').length, 5);
    assert.ok(before.startsWith(after));
    const kept = fs.readdirSync(paths.quarantine).map((f) => fs.readFileSync(path.join(paths.quarantine, f), 'utf8'));
    assert.ok(kept.some((k) => k.includes('{"id":999999')), 'the cut bytes are in quarantine');
    await until('diagnostics cleared', () => vscode.languages.getDiagnostics(uri).filter((x) => x.source === 'ledgerlock').length === 0);
    await ll.state.waitFor((s) => s.folders[0].ledgers.find((l) => l.path === paths.tornLedger)?.health === 'ok');
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('reaps the dead holder\'s lock: the file is gone', async () => {
    assert.ok(fs.existsSync(paths.deadLock));
    const result = await vscode.commands.executeCommand('ledgerlock.reapLock', paths.deadLock, { confirmed: true });
    assert.equal(result.ok, true, result.message);
    assert.ok(!fs.existsSync(paths.deadLock));
    await ll.state.waitFor((s) => !s.folders[0].locks.some((l) => l.path === paths.deadLock));
  });

  it('never reaps a live holder\'s lock; a long hold is quiet, a waiter makes it contended', async () => {
    const lockPath = path.join(paths.store, 'locks', 'live.lock');
    let waiter;
    const holder = spawn(process.execPath, ['-e', `require(${JSON.stringify(path.resolve(__dirname, '../../../dist/engine.js'))}).acquireLock(${JSON.stringify(lockPath)}, { tool: 'test-holder' }).then(() => { console.log('held'); setInterval(() => {}, 1000); })`], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise((resolve, reject) => {
        holder.stdout.on('data', (d) => String(d).includes('held') && resolve());
        holder.once('exit', (c) => reject(new Error(`holder exited ${c}`)));
      });
      await ll.state.waitFor((s) => s.folders[0].locks.some((l) => l.path === lockPath && (l.state === 'held' || l.state === 'contended')));
      const result = await vscode.commands.executeCommand('ledgerlock.reapLock', lockPath, { confirmed: true });
      assert.equal(result.ok, false);
      assert.match(result.code ?? '', /E_LOCK_(LIVE_HOLDER|NOT_STALE)/);
      assert.ok(fs.existsSync(lockPath), 'the live lock is still there');
      // Held past the contention threshold (3 s in the fixture's settings) with nobody waiting:
      // long-held, shown, not alarmed.
      await ll.state.waitFor((s) => s.folders[0].locks.some((l) => l.path === lockPath && l.longHeld && l.state === 'held' && !l.overThreshold), 15_000);
      assert.notEqual(ll.status.backgroundColor?.id, 'statusBarItem.warningBackground');
      // A Ledgerlock waiter that records LOCK_CONTENDED makes it contended: now a warning.
      waiter = spawn(process.execPath, ['-e', `require(${JSON.stringify(path.resolve(__dirname, '../../../dist/engine.js'))}).acquireLock(${JSON.stringify(lockPath)}, { tool: 'test-waiter', timeoutMs: 120000, contentionMs: 300 }).catch(() => {})`], { stdio: 'ignore' });
      await ll.state.waitFor((s) => s.folders[0].locks.some((l) => l.path === lockPath && l.state === 'contended' && l.overThreshold && l.waiters === 1), 20_000);
      await until(`contention in the status bar (last: ${ll.status.text})`, () => /^\$\(lock\) live\.lock held \d+s by pid \d+; 1 waiting$/.test(ll.status.text));
      assert.equal(ll.status.backgroundColor?.id, 'statusBarItem.warningBackground');
    } finally {
      holder.kill('SIGKILL');
      waiter?.kill('SIGKILL');
    }
    // Once its holder is gone, the same lock turns stale (the timer notices) and can be reaped.
    await ll.state.waitFor((s) => s.folders[0].locks.some((l) => l.path === lockPath && l.reapable), 15_000);
    const reaped = await vscode.commands.executeCommand('ledgerlock.reapLock', lockPath, { confirmed: true });
    assert.equal(reaped.ok, true, reaped.message);
  });

  it('quarantines a damaged record in the middle through its quick fix', async () => {
    const ledgerPath = path.join(paths.store, 'ledgers', 'orders.jsonl');
    const ledger = await engine().openLedger(ledgerPath, { create: true, telemetry: false });
    for (let i = 1; i <= 5; i++) await ledger.append('order.placed', { order: i, total: 10 * i });
    await ledger.close();
    // Same length, different bytes: only the checksum can tell.
    const text = fs.readFileSync(ledgerPath, 'utf8');
    fs.writeFileSync(ledgerPath, text.replace('"total":30', '"total":90'));
    const uri = vscode.Uri.file(ledgerPath);
    const diagnostics = await until('a diagnostic on the damaged record', () => {
      const d = vscode.languages.getDiagnostics(uri).filter((x) => x.source === 'ledgerlock');
      return d.length > 0 ? d : undefined;
    });
    assert.equal(diagnostics[0].range.start.line, 2, 'on the third record');
    await ll.state.waitFor((s) => s.folders[0].ledgers.find((l) => l.path === ledgerPath)?.health === 'corrupt');
    await vscode.window.showTextDocument(uri);
    const actions = await vscode.commands.executeCommand('vscode.executeCodeActionProvider', uri, diagnostics[0].range, vscode.CodeActionKind.QuickFix.value);
    const quarantine = actions.find((a) => /Quarantine this record/.test(a.title));
    assert.ok(quarantine, `a quarantine quick fix is offered (got ${actions.map((a) => a.title).join(', ')})`);
    assert.ok(!actions.some((a) => /Repair torn tail/.test(a.title)), 'corruption is never offered a truncation');
    const result = await vscode.commands.executeCommand(quarantine.command.command, ...quarantine.command.arguments, { confirmed: true });
    assert.equal(result.ok, true, result.message);
    const lines = fs.readFileSync(ledgerPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(lines.map((l) => l.id), [1, 2, 4, 5]);
    await ll.state.waitFor((s) => s.folders[0].ledgers.find((l) => l.path === ledgerPath)?.health === 'ok');
    await until('diagnostics cleared', () => vscode.languages.getDiagnostics(uri).filter((x) => x.source === 'ledgerlock').length === 0);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('lists the repair and the reap in Recoveries, newest first', async () => {
    const nodes = await until('two recoveries', async () => {
      const n = await ll.recoveries.getChildren();
      return n.length >= 2 ? n : undefined;
    });
    const types = nodes.map((n) => n.recovery.type);
    assert.ok(types.includes('CORRUPT_TAIL_RECOVERY'), types.join());
    assert.ok(types.includes('STALE_LOCK_RECOVERY'), types.join());
    assert.ok(types.includes('CORRUPT_RECORD_QUARANTINED'), types.join());
    assert.ok(types.indexOf('STALE_LOCK_RECOVERY') < types.indexOf('CORRUPT_TAIL_RECOVERY'), 'the reaps came after the repair, so they are listed first');
    assert.equal(types[0], 'CORRUPT_RECORD_QUARANTINED', 'the newest recovery comes first');
    const labels = nodes.map((n) => ll.recoveries.getTreeItem(n).label);
    assert.ok(labels.includes('Lock reaped: build.lock'), labels.join());
    assert.ok(labels.includes('Tail repaired: events.jsonl'), labels.join());
  });

  it('picks up a newly torn tail from the file watcher and alerts in the status bar', async () => {
    fs.appendFileSync(paths.pagedLedger, '{"id":121,"ts":"20');
    await ll.state.waitFor((s) => s.folders[0].ledgers.find((l) => l.path === paths.pagedLedger)?.health === 'torn', 15_000);
    await until('status bar error', () => /audit\.jsonl torn/.test(ll.status.text));
    const result = await vscode.commands.executeCommand('ledgerlock.repairTail', paths.pagedLedger, { confirmed: true });
    assert.equal(result.ok, true, result.message);
  });

  it('compacts a ledger to its newest events, keeping ids', async () => {
    const result = await vscode.commands.executeCommand('ledgerlock.compactLedger', paths.pagedLedger, 20, { confirmed: true });
    assert.equal(result.ok, true, result.message);
    const ledger = await engine().openLedger(paths.pagedLedger, { create: false, telemetry: false });
    try {
      const report = await ledger.verify();
      assert.equal(report.events, 20);
      assert.equal(report.firstId, 101);
      assert.equal(report.lastId, 120);
    } finally {
      await ledger.close();
    }
    await ll.state.waitFor((s) => s.folders[0].ledgers.find((l) => l.path === paths.pagedLedger)?.events === 20);
  });

  it('goes quiet in the status bar once everything is healthy', async () => {
    await until(`quiet status bar (last: ${ll.status.text})`, () => ll.status.text === '$(lock) Ledgerlock' && ll.status.backgroundColor === undefined);
  });
});
