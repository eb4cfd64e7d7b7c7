// The extension is UI only (docs/ARCHITECTURE.md, "Layer rules"): no engine code and no file I/O in the extension host.
// Checked on the sources and on the built bundle, so a stray import cannot slip in.
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { root } from './codeServer.mjs';

function sources(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));
}

export function checkBoundary() {
  const results = { passed: [], failed: [], metrics: [] };
  const check = (title, fn) => {
    try {
      fn();
      results.passed.push({ title });
    } catch (err) {
      results.failed.push({ title, error: err.message });
    }
  };
  check('the extension sources import neither the engine nor the file system', () => {
    const offenders = [];
    for (const file of sources(path.join(root, 'src/extension'))) {
      for (const m of readFileSync(file, 'utf8').matchAll(/from '([^']+)'/g)) {
        if (/(^|\/)engine(\/|$)/.test(m[1]) || /^(node:)?fs(\/promises)?$/.test(m[1])) offenders.push(`${path.relative(root, file)}: ${m[1]}`);
      }
    }
    if (offenders.length > 0) throw new Error(`forbidden imports:\n${offenders.join('\n')}`);
  });
  check('the extension bundle holds no engine code', () => {
    const bundle = readFileSync(path.join(root, 'dist/extension.js'), 'utf8');
    const server = readFileSync(path.join(root, 'dist/server.js'), 'utf8');
    // Strings only the engine holds: the server bundle must have them, the extension must not.
    for (const marker of ['ledgerlock-lock', 'E_LEDGER_TORN']) {
      if (!server.includes(marker)) throw new Error(`marker ${marker} is not in dist/server.js; pick another engine marker`);
      if (bundle.includes(marker)) throw new Error(`dist/extension.js contains engine marker ${marker}`);
    }
  });
  return results;
}
