/**
 * What `ledgerlock` starts: `--version` answers without loading anything; every other command
 * loads the CLI bundle (dist/cli-main.js) through V8's code cache, written beside it at build
 * time (esbuild.mjs), so the bundle is not compiled again on every run. Node 20 has no
 * `module.enableCompileCache`; a cache V8 rejects (another Node version) only costs the compile.
 */
// Program files, not workspace data: the bundle and its cache are read here directly
// (docs/ARCHITECTURE.md, "The file-system layer and node:fs").
// eslint-disable-next-line no-restricted-imports
import { readFileSync } from 'node:fs';
import { createRequire, wrap } from 'node:module';
import * as path from 'node:path';
import { Script } from 'node:vm';
import { VERSION } from './version';

interface CliMain {
  main(): void;
}

/** Loads the bundle as Node's CommonJS loader would, with the build's code cache when V8 accepts it. */
function loadMain(): CliMain {
  const file = path.join(__dirname, 'cli-main.js');
  let cachedData: Buffer | undefined;
  try {
    cachedData = readFileSync(`${file}.cache`);
  } catch {
    cachedData = undefined;
  }
  const script = new Script(wrap(readFileSync(file, 'utf8')), { filename: file, cachedData });
  const mod = { exports: {} as CliMain };
  const run = script.runInThisContext() as (e: object, r: NodeJS.Require, m: object, f: string, d: string) => void;
  run.call(mod.exports, mod.exports, createRequire(file), mod, file, __dirname);
  return mod.exports;
}

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  process.stdout.write(`${VERSION}\n`);
} else {
  loadMain().main();
}
