// Bundles the engine library, the drop-in adapters, the CLI, the language server and the
// extension client. `node esbuild.mjs` builds once; `--watch` rebuilds on change;
// `--production` minifies the extension bundles for packaging; `--package` (npm's prepack)
// builds what the npm package holds, without source maps. Type declarations come from tsc.
import * as esbuild from 'esbuild';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');
const forPackage = process.argv.includes('--package');
// `--only=engine,cli` builds a subset (and skips declarations), for a quick inner loop.
const onlyArg = process.argv.find((a) => a.startsWith('--only='));
const only = onlyArg
  ? onlyArg.slice('--only='.length).split(',')
  : forPackage
    ? ['engine', 'compat-proper-lockfile', 'compat-write-file-atomic', 'cli']
    : undefined;

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: !production && !forPackage,
  minify: production,
  logLevel: 'warning',
};

// The library entry points keep zod, the one dependency, outside the bundle (one copy, shared
// with the caller's schemas). The CLI carries its own: loading zod's many module files costs
// more start-up than the bundled, tree-shaken part. The editor bundles carry everything, since a
// .vsix has no node_modules.
const npmFacing = { external: ['zod'] };

// The drop-in adapters name built-ins bare (`fs`, not `node:fs`): jest before 28 resolves no
// `node:` prefix, and a tool switching from proper-lockfile or write-file-atomic may still run it.
const bareBuiltins = {
  name: 'bare-builtins',
  setup(build) {
    build.onResolve({ filter: /^node:/ }, (args) => ({ path: args.path.slice('node:'.length), external: true }));
  },
};
const compat = { ...npmFacing, plugins: [bareBuiltins] };

/**
 * A plugin serving the built-ins `filter` matches as generated ES modules: `module(name, real)`
 * writes the module for built-in `name` (the real module, loaded here, to list its exports).
 * The generated module's own `require` of the built-in reaches the real one.
 */
function builtinModules(pluginName, filter, module) {
  const namespace = pluginName;
  return {
    name: pluginName,
    setup(build) {
      build.onResolve({ filter }, (args) =>
        args.namespace === namespace ? { path: args.path, external: true } : { path: args.path.replace(/^node:/, ''), namespace },
      );
      build.onLoad({ filter: /.*/, namespace }, (args) => ({
        contents: module(args.path, createRequire(import.meta.url)(`node:${args.path}`)).join('\n'),
        loader: 'js',
      }));
    },
  };
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

// The CLI loads child_process, worker_threads and readline only when a command calls into them
// (the kernel-lock probe, a contended sync wait, stdin lines): each export is a stub that
// requires the module on first use. A value export (not a function) is not stubbed, so the
// build fails if the CLI ever imports one.
const lazyBuiltins = builtinModules('lazy-builtin', /^(node:)?(child_process|worker_threads|readline)$/, (name, real) => {
  const lines = [`let m; const load = () => (m ??= require('node:${name}'));`];
  for (const [key, value] of Object.entries(real)) {
    if (typeof value !== 'function' || !IDENTIFIER.test(key)) continue;
    lines.push(`export function ${key}(...a) { return new.target ? new (load().${key})(...a) : load().${key}(...a); }`);
  }
  return lines;
});

// Every module of the CLI that imports `* as path from 'node:path'` (53 of them) would get its
// own copy of the module's properties (esbuild's CommonJS interop), about 3 ms of each start.
// The CLI imports these built-ins through one ES module per built-in instead, which names the
// real module's own data properties once, at build time.
const sharedBuiltins = builtinModules('shared-builtin', /^(node:)?(path|fs|os|util|zlib|crypto|buffer|async_hooks|fs\/promises)$/, (name, real) => {
  const values = [];
  const lines = [`const m = require('node:${name}');`, 'export default m;'];
  for (const [key, d] of Object.entries(Object.getOwnPropertyDescriptors(real))) {
    if (!IDENTIFIER.test(key) || key === 'default') continue;
    if ('value' in d) values.push(key);
    // A getter (fs.promises, util.parseArgs) loads its module when read: a function behind one
    // is read at its first call; any other value behind one is not exported (fs.promises
    // excepted), and the CLI's build fails on an import of one (import-is-undefined).
    else if (typeof real[key] === 'function') lines.push(`export function ${key}(...a) { return new.target ? new m.${key}(...a) : m.${key}(...a); }`);
  }
  if (name === 'fs') lines.push(`export * as promises from 'node:fs/promises';`);
  lines.push(`export const { ${values.join(', ')} } = m;`);
  return lines;
});

const targets = [
  { name: 'engine', entryPoints: ['src/engine/index.ts'], outfile: 'dist/engine.js', ...npmFacing },
  // The worker behind the sync forms' lock waits, loaded from beside the engine and CLI bundles.
  { name: 'lock-wait-worker', entryPoints: ['src/engine/lock/wait-worker.ts'], outfile: 'dist/lock-wait-worker.js' },
  { name: 'compat-proper-lockfile', entryPoints: ['src/compat/proper-lockfile.ts'], outfile: 'dist/compat/proper-lockfile.js', ...compat },
  { name: 'compat-write-file-atomic', entryPoints: ['src/compat/write-file-atomic.ts'], outfile: 'dist/compat/write-file-atomic.js', ...compat },
  // The CLI is one CommonJS file: each command's modules are evaluated only when it runs (esbuild
  // wraps what `import()` reaches in lazy initialisers), and Node's CommonJS loader starts it
  // 15-20 ms sooner than ES modules split per command did (no async loader, no chunk graph).
  // `ledgerlock` itself is a tiny entry that answers --version alone and loads the bundle,
  // with the V8 code cache written below, for every other command.
  {
    name: 'cli',
    entryPoints: ['src/cli/main.ts'],
    outfile: 'dist/cli-main.js',
    plugins: [lazyBuiltins, sharedBuiltins],
    logOverride: { 'import-is-undefined': 'error' },
  },
  {
    name: 'cli',
    entryPoints: ['src/cli/entry.ts'],
    outfile: 'dist/cli.js',
    banner: { js: '#!/usr/bin/env node' },
  },
  { name: 'server', entryPoints: ['src/server/server.ts'], outfile: 'dist/server.js' },
  { name: 'extension', entryPoints: ['src/extension/extension.ts'], outfile: 'dist/extension.js', external: ['vscode'] },
  // The Timeline page, with uPlot and its stylesheet bundled in (a webview loads nothing from the network).
  {
    name: 'webview',
    entryPoints: ['src/webview/timeline.ts'],
    outfile: 'dist/webview/timeline.js',
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    sourcemap: false,
    minify: true,
  },
]
  .filter((t) => existsSync(t.entryPoints[0]))
  .filter((t) => only === undefined || only.includes(t.name) || (t.name === 'lock-wait-worker' && (only.includes('engine') || only.includes('cli'))));

/** An ES module beside each CommonJS entry, naming its exports, so `import` and `require` share one instance. */
function writeEsmWrapper(cjsFile) {
  const require = createRequire(path.resolve(cjsFile));
  const mod = require(path.resolve(cjsFile));
  const names = Object.keys(mod).filter((n) => /^[A-Za-z_$][\w$]*$/.test(n) && n !== 'default');
  const base = `./${path.basename(cjsFile)}`;
  const lines = [`import mod from '${base}';`, 'export default mod;'];
  if (names.length > 0) lines.push(`export const { ${names.join(', ')} } = mod;`);
  writeFileSync(cjsFile.replace(/\.js$/, '.mjs'), lines.join('\n') + '\n');
}

/**
 * dist/cli-main.js.cache: V8's code cache of the CLI bundle, taken after a warm-up run of the
 * commands a hook or script runs most (append, tail), so those functions are cached compiled
 * too. The entry (src/cli/entry.ts) hands it to V8, which ignores it if it does not match.
 */
function writeCliCodeCache() {
  const warmUp = `
    const fs = require('node:fs'), os = require('node:os'), path = require('node:path'), vm = require('node:vm'), { createRequire, wrap } = require('node:module');
    const file = path.resolve('dist/cli-main.js');
    const script = new vm.Script(wrap(fs.readFileSync(file, 'utf8')), { filename: file });
    const mod = { exports: {} };
    script.runInThisContext().call(mod.exports, mod.exports, createRequire(file), mod, file, path.dirname(file));
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'll-cache-'));
    const quiet = { write: () => true, isTTY: false };
    const io = { stdout: quiet, stderr: quiet, stdin: process.stdin, cwd };
    (async () => {
      await mod.exports.runCli(['append', 'events', '--data', '{"warm":1}'], io);
      await mod.exports.runCli(['tail', 'events'], io);
      fs.writeFileSync(file + '.cache', script.createCachedData());
      fs.rmSync(cwd, { recursive: true, force: true });
    })();`;
  execFileSync(process.execPath, ['-e', warmUp], { stdio: 'inherit', env: { ...process.env, LEDGERLOCK_TELEMETRY: '0' } });
}

function afterBuild(names) {
  if (names.includes('cli')) {
    chmodSync('dist/cli.js', 0o755);
    if (!watch) writeCliCodeCache();
  }
  if (watch) return;
  for (const t of targets) if (t.outfile !== undefined && t.external === npmFacing.external) writeEsmWrapper(t.outfile);
}

function emitDeclarations() {
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json', '--emitDeclarationOnly'], { stdio: 'inherit' });
  mkdirSync('dist', { recursive: true });
  writeFileSync('dist/engine.d.ts', "export * from './types/engine/index';\n");
}

// `name` is ours (--only, afterBuild), not an esbuild option.
const options = targets.map((target) => {
  const o = { ...common, ...target };
  delete o.name;
  return o;
});
// Earlier builds split the CLI into ES-module chunks under dist/cli/: never ship those.
if (only === undefined || only.includes('cli')) rmSync('dist/cli', { recursive: true, force: true });
if (forPackage) rmSync('dist/compat', { recursive: true, force: true });

if (watch) {
  const contexts = await Promise.all(options.map((o) => esbuild.context(o)));
  await Promise.all(contexts.map((c) => c.watch()));
  afterBuild(targets.map((t) => t.name));
  console.log(`watching ${targets.length} bundles`);
} else {
  await Promise.all(options.map((o) => esbuild.build(o)));
  afterBuild(targets.map((t) => t.name));
  if ((only === undefined || forPackage) && !process.argv.includes('--no-types')) emitDeclarations();
}
