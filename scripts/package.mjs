// `npm run package`: a .vsix with only what runs (minified bundles, media, README, LICENSE,
// CHANGELOG, package.json). Everything is bundled, so node_modules is left out
// (--no-dependencies). `--check-install` also installs it into a scratch code-server.
// package.json's "files" list is the npm package's; vsce refuses it beside .vscodeignore, so
// the .vsix is made from a staging folder holding what .vscodeignore lets through and the
// manifest without "files".
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { name, version } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const out = path.join(root, `${name}-${version}.vsix`);
const run = (cmd, args) => execFileSync(cmd, args, { cwd: root, stdio: 'inherit' });

run(process.execPath, ['esbuild.mjs', '--production', '--only=server,extension,webview']);
const stage = mkdtempSync(path.join(os.tmpdir(), 'ledgerlock-vsix-'));
try {
  const { files: _npmFiles, ...manifest } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
  writeFileSync(path.join(stage, 'package.json'), JSON.stringify(manifest, null, 2) + '\n');
  for (const f of ['.vscodeignore', 'README.md', 'LICENSE', 'CHANGELOG.md', 'dist/extension.js', 'dist/server.js', 'dist/webview', 'media']) {
    if (!existsSync(path.join(root, f))) continue;
    mkdirSync(path.dirname(path.join(stage, f)), { recursive: true });
    cpSync(path.join(root, f), path.join(stage, f), { recursive: true });
  }
  execFileSync(process.execPath, [path.join(root, 'node_modules/@vscode/vsce/vsce'), 'package', '--no-dependencies', '--allow-missing-repository', '--no-rewrite-relative-links', '--out', out], { cwd: stage, stdio: 'inherit' });
} finally {
  rmSync(stage, { recursive: true, force: true });
}

const listing = execFileSync('unzip', ['-Z1', out], { encoding: 'utf8' }).trim().split('\n');
const stray = listing.filter((f) => /node_modules\/|\.map$|\/src\/|\.ts$/.test(f));
console.log(`package: ${path.relative(root, out)} holds ${listing.length} files:\n  ${listing.join('\n  ')}`);
if (stray.length > 0) {
  console.error(`package: files that do not run were packed: ${stray.join(', ')}`);
  process.exit(1);
}

if (process.argv.includes('--check-install')) {
  run('bash', [path.join(root, 'scripts/setup-vscode-runtime.sh')]);
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'ledgerlock-install-'));
  try {
    const codeServer = path.join(root, '.cache/code-server/node_modules/code-server/out/node/entry.js');
    const args = [codeServer, '--extensions-dir', path.join(scratch, 'ext'), '--user-data-dir', path.join(scratch, 'data')];
    execFileSync(process.execPath, [...args, '--install-extension', out], { stdio: 'inherit' });
    const installed = execFileSync(process.execPath, [...args, '--list-extensions', '--show-versions'], { encoding: 'utf8' });
    if (!installed.includes(`ledgerlock.${name}@${version}`)) throw new Error(`not installed; code-server lists:\n${installed}`);
    console.log(`package: installs with code-server --install-extension (${installed.trim()})`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
