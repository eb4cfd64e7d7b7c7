// `npm run test:quick`: the engine and CLI tests that need no VS Code and together finish in
// well under a minute on two cores, the loop for a change to the engine or the CLI. What it
// leaves out runs in `npm test` (and `npm run test:engine`); each is named here with why.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
/** Seconds alone on the 2-core development machine, and what makes each slow. */
const SLOW = {
  'engine/lock-vantage.test.mjs': '32 s: judges from inside pid namespaces, appenders slowed by strace',
  'cli/cli.test.mjs': '36 s: every command end to end',
  'engine/snapshot-crash.test.mjs': '15 s: children killed at every step of snapshot writes',
  'engine/ledger-concurrency.test.mjs': '9 s: many appending processes',
  'engine/relocate.test.mjs': '9 s: relocations killed midway',
  'engine/ledger-compromised.test.mjs': '6 s: writes slowed by strace',
  'cli/ux.test.mjs': '6 s: a pseudo-terminal per case',
};

const files = ['engine', 'cli'].flatMap((dir) => readdirSync(`${root}test/${dir}`).filter((f) => f.endsWith('.test.mjs')).map((f) => `${dir}/${f}`)).filter((f) => !(f in SLOW));
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=2', `--test-reporter=${process.env.LEDGERLOCK_TEST_REPORTER ?? 'dot'}`, ...files.map((f) => `test/${f}`)], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
