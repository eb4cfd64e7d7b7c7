// The npm package as a user gets it: `npm pack` (which builds through prepack), installed from
// the tarball into a fresh project with no network, and used from there by require, import,
// TypeScript against the shipped declarations, and `npx ledgerlock`.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';

function run(cmd, args, cwd, extraEnv = {}) {
  return execFileSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false', ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000 });
}

test('the packed tarball installs offline and works through require, import, tsc and npx', async (t) => {
  const scratch = mkdtempSync(join(tmpdir(), 'll-pack-'));
  t.after(() => rmSync(scratch, { recursive: true, force: true }));

  // Packed from a copy of the sources, so prepack's build never touches this checkout's dist/
  // while other tests run from it.
  const source = join(scratch, 'source');
  for (const f of ['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md', 'esbuild.mjs', 'tsconfig.json', 'src', 'compat']) cpSync(join(repo, f), join(source, f), { recursive: true });
  symlinkSync(join(repo, 'node_modules'), join(source, 'node_modules'));
  const [packed] = JSON.parse(run(npm, ['pack', '--json', '--pack-destination', scratch], source));
  const files = packed.files.map((f) => f.path);
  t.diagnostic(`tarball ${packed.filename}: ${packed.size} bytes packed, ${packed.unpackedSize} unpacked, ${packed.entryCount} files`);
  for (const needed of ['dist/engine.js', 'dist/engine.mjs', 'dist/engine.d.ts', 'dist/types/engine/index.d.ts', 'dist/compat/proper-lockfile.js', 'dist/compat/write-file-atomic.mjs', 'dist/types/compat/proper-lockfile.d.ts', 'compat/proper-lockfile.js', 'compat/proper-lockfile.d.ts', 'compat/write-file-atomic.js', 'compat/write-file-atomic.d.ts', 'dist/cli.js', 'package.json', 'README.md', 'LICENSE']) {
    assert.ok(files.includes(needed), `${needed} is in the tarball`);
  }
  const stray = files.filter((f) => /\.map$|^test\/|^src\/|^scripts\/|dist\/(server|extension)\.js|dist\/types\/(cli|server|extension)\//.test(f));
  assert.deepEqual(stray, [], 'no tests, sources, source maps or editor bundles');

  const project = join(scratch, 'consumer');
  run('mkdir', ['-p', project], scratch);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
  // --offline: nothing is fetched. zod, the one dependency, is packed from the copy this
  // checkout installed (the same version package-lock.json pins), as a registry would serve it.
  const [zod] = JSON.parse(run(npm, ['pack', '--json', '--ignore-scripts', '--pack-destination', scratch, join(repo, 'node_modules/zod')], repo));
  run(npm, ['install', '--offline', '--no-save', join(scratch, zod.filename), join(scratch, packed.filename)], project);

  const cjs = run(process.execPath, ['-e', `
    const ll = require('ledgerlock');
    const lockfile = require('ledgerlock/compat/proper-lockfile');
    const writeFileAtomic = require('ledgerlock/compat/write-file-atomic');
    (async () => {
      const file = require('path').join(process.cwd(), 'doc.json');
      await writeFileAtomic(file, '{"n":1}');
      const release = await lockfile.lock(file);
      await release();
      const ledger = await ll.openLedger(require('path').join(process.cwd(), 'events.jsonl'));
      const event = await ledger.append('t', { ok: true });
      await ledger.close();
      console.log(JSON.stringify({ id: event.id, lockfile: typeof lockfile, sync: typeof writeFileAtomic.sync, error: new ll.LedgerlockError('E_IO', 'x').code }));
    })();`], project);
  assert.deepEqual(JSON.parse(cjs), { id: 1, lockfile: 'function', sync: 'function', error: 'E_IO' });

  const esm = run(process.execPath, ['--input-type=module', '-e', `
    import { openLedger, LedgerlockError } from 'ledgerlock';
    import lockfile, { lockSync } from 'ledgerlock/compat/proper-lockfile';
    import writeFileAtomic from 'ledgerlock/compat/write-file-atomic';
    import { createRequire } from 'node:module';
    const require = createRequire(process.cwd() + '/');
    console.log(JSON.stringify({
      openLedger: typeof openLedger, lockSync: typeof lockSync, lock: typeof lockfile.lock, writeFileAtomic: typeof writeFileAtomic,
      oneInstance: LedgerlockError === require('ledgerlock').LedgerlockError && LedgerlockError === require('ledgerlock/dist/engine.js').LedgerlockError,
    }));`], project);
  assert.deepEqual(JSON.parse(esm), { openLedger: 'function', lockSync: 'function', lock: 'function', writeFileAtomic: 'function', oneInstance: true });

  writeFileSync(join(project, 'use.mts'), `
    import { openLedger, withLock, atomicWriteFile, type LedgerEvent, type LockInfo } from 'ledgerlock';
    import lockfile from 'ledgerlock/compat/proper-lockfile';
    import writeFileAtomic from 'ledgerlock/compat/write-file-atomic';
    const ledger = await openLedger('events.jsonl');
    const event: LedgerEvent = await ledger.append('t', { n: 1 });
    await withLock('x.lock', async (lock) => lock.held);
    const written: { durable: boolean } = await atomicWriteFile('a.json', '{}');
    const release: () => Promise<void> = await lockfile.lock('a.json', { stale: 5000, retries: { retries: 3 }, onCompromised: (err: Error) => void err });
    const locked: boolean = lockfile.checkSync('a.json');
    await writeFileAtomic('a.json', 'x', { mode: 0o600, fsync: true, tmpfileCreated: (tmp: string) => void tmp });
    writeFileAtomic.sync('a.json', 'y', 'utf8');
    export const used: unknown[] = [event.id, written, release, locked, null as LockInfo | null];
  `);
  writeFileSync(join(project, 'use.cts'), `
    import ll = require('ledgerlock');
    import lockfile = require('ledgerlock/compat/proper-lockfile');
    const release: () => void = lockfile.lockSync('a.json');
    release();
    export const open: typeof ll.openLedger = ll.openLedger;
  `);
  writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', strict: true, noEmit: true,
      types: ['node'], typeRoots: [join(repo, 'node_modules/@types')],
    },
    files: ['use.mts', 'use.cts'],
  }));
  run(process.execPath, [join(repo, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], project);

  // Old test runners (jest < 28) and TypeScript's node10 resolution ignore `exports`: the
  // adapters are real files at ledgerlock/compat/*, and their bundles name built-ins bare.
  const installed = join(project, 'node_modules/ledgerlock');
  for (const name of ['proper-lockfile', 'write-file-atomic']) {
    assert.doesNotMatch(readFileSync(join(installed, `dist/compat/${name}.js`), 'utf8'), /require\("node:/, `${name}: no node: built-ins`);
  }
  const legacy = JSON.parse(run(process.execPath, ['-e', `
    const path = require('path');
    const viaFile = require(path.join(process.cwd(), 'node_modules/ledgerlock/compat/proper-lockfile.js'));
    const wfa = require(path.join(process.cwd(), 'node_modules/ledgerlock/compat/write-file-atomic.js'));
    console.log(JSON.stringify({ same: viaFile === require('ledgerlock/compat/proper-lockfile'), lock: viaFile === viaFile.lock, wfa: wfa === require('ledgerlock/compat/write-file-atomic') }));`], project));
  assert.deepEqual(legacy, { same: true, lock: true, wfa: true });
  const node10 = join(project, 'node10');
  mkdirSync(node10);
  writeFileSync(join(node10, 'use.ts'), `
    import lockfile = require('ledgerlock/compat/proper-lockfile');
    import writeFileAtomic = require('ledgerlock/compat/write-file-atomic');
    const release: Promise<() => Promise<void>> = lockfile('a.json', { fs: require('fs') });
    writeFileAtomic.sync('a.json', 'x', { mode: '0644' });
    export const used: unknown = release;
  `);
  writeFileSync(join(node10, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { module: 'commonjs', moduleResolution: 'node10', target: 'es2022', strict: true, noEmit: true, types: ['node'], typeRoots: [join(repo, 'node_modules/@types')] },
    files: ['use.ts'],
  }));
  run(process.execPath, [join(repo, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], node10);

  const help = run(npx, ['--offline', 'ledgerlock', '--help'], project);
  assert.match(help, /^Usage: ledgerlock <command>/);
  const tail = JSON.parse(run(npx, ['--offline', 'ledgerlock', 'tail', './events.jsonl', '--json'], project));
  assert.deepEqual(tail.events.map((e) => e.data), [{ ok: true }]);
});
