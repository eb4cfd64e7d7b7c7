// Entry point of the extension-host suite: VS Code loads this module (extensionTestsPath)
// and awaits `run()`. Results go to the file named by LEDGERLOCK_TEST_RESULTS, which the
// runner waits for, since in code-server nobody reads the extension host's exit code.
const fs = require('node:fs');
const path = require('node:path');
const Mocha = require('mocha');

async function run() {
  const resultsFile = process.env.LEDGERLOCK_TEST_RESULTS;
  const grep = process.env.LEDGERLOCK_TEST_GREP;
  const mocha = new Mocha({ ui: 'bdd', timeout: 60_000, color: false, reporter: 'spec', ...(grep ? { grep } : {}) });
  const files = (process.env.LEDGERLOCK_TEST_FILES ?? fs.readdirSync(__dirname).filter((f) => f.endsWith('.test.js')).join(','))
    .split(',')
    .filter(Boolean);
  for (const f of files) mocha.addFile(path.join(__dirname, f));
  const results = { passed: [], failed: [], metrics: [], done: false };
  const write = () => {
    if (!resultsFile) return;
    fs.writeFileSync(resultsFile + '.tmp', JSON.stringify(results, null, 2));
    fs.renameSync(resultsFile + '.tmp', resultsFile);
  };
  try {
    await new Promise((resolve) => {
      const runner = mocha.run(() => resolve());
      runner.on('pass', (t) => results.passed.push({ title: t.fullTitle(), ms: t.duration }));
      runner.on('fail', (t, err) => results.failed.push({ title: t.fullTitle(), error: String((err && err.stack) || err) }));
    });
  } catch (err) {
    results.failed.push({ title: 'suite could not run', error: String((err && err.stack) || err) });
  }
  results.metrics = globalThis.__ledgerlockMetrics ?? [];
  results.done = true;
  write();
  if (results.failed.length > 0) throw new Error(`${results.failed.length} extension-host test(s) failed`);
}

module.exports = { run };
