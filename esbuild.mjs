// Bundles the engine library, the CLI, the language server and the extension client.
// `node esbuild.mjs` builds once; `--watch` rebuilds on change; `--production` minifies the
// extension bundles for packaging. Type declarations for the library come from tsc.
import * as esbuild from 'esbuild';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');
// `--only=engine,cli` builds a subset (and skips declarations), for a quick inner loop.
const onlyArg = process.argv.find((a) => a.startsWith('--only='));
const only = onlyArg ? onlyArg.slice('--only='.length).split(',') : undefined;

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: !production,
  minify: production,
  logLevel: 'warning',
};

const targets = [
  { name: 'engine', entryPoints: ['src/engine/index.ts'], outfile: 'dist/engine.js' },
  { name: 'cli', entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js', banner: { js: '#!/usr/bin/env node' } },
  { name: 'server', entryPoints: ['src/server/server.ts'], outfile: 'dist/server.js' },
  { name: 'extension', entryPoints: ['src/extension/extension.ts'], outfile: 'dist/extension.js', external: ['vscode'] },
  // The Timeline page, with uPlot and its stylesheet bundled in (a webview loads nothing from the network).
  { name: 'webview', entryPoints: ['src/webview/timeline.ts'], outfile: 'dist/webview/timeline.js', platform: 'browser', format: 'iife', target: 'es2022', sourcemap: false, minify: true },
]
  .filter((t) => existsSync(t.entryPoints[0]))
  .filter((t) => only === undefined || only.includes(t.name))
  .map(({ name, ...options }) => options);

function emitDeclarations() {
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json', '--emitDeclarationOnly'], { stdio: 'inherit' });
  mkdirSync('dist', { recursive: true });
  writeFileSync('dist/engine.d.ts', "export * from './types/engine/index';\n");
}

if (watch) {
  const contexts = await Promise.all(targets.map((t) => esbuild.context({ ...common, ...t })));
  await Promise.all(contexts.map((c) => c.watch()));
  console.log(`watching ${targets.length} bundles`);
} else {
  await Promise.all(targets.map((t) => esbuild.build({ ...common, ...t })));
  if (only === undefined && !process.argv.includes('--no-types')) emitDeclarations();
}
