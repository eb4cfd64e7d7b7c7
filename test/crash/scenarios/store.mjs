// ensureStore: a store whose creation was acknowledged is whole after a crash (manifest and
// every directory), and a half-created one opens and completes on the next ensureStore.
import * as fs from 'node:fs';
import * as path from 'node:path';

const LAYOUT = ['locks', 'ledgers', 'state', 'quarantine', 'tmp'];

export default [
  {
    name: 'store/create',
    protocol: 'store',
    requires: ['ensureStore', 'readStoreManifest'],
    async run(root, { ensureStore }, rec) {
      await ensureStore(root);
      rec.ack('created', true);
    },
    async check(root, { engine, acks }) {
      const out = [];
      const paths = engine.storePaths(root);
      if (acks.length) {
        const manifest = await engine.readStoreManifest(paths);
        if (!manifest) out.push('store.json is missing after ensureStore was acknowledged');
        for (const d of LAYOUT) if (!fs.existsSync(path.join(paths.dir, d))) out.push(`.ledgerlock/${d}/ is missing after ensureStore was acknowledged`);
      }
      await engine.ensureStore(root); // the next start must open whatever the crash left
      if (!(await engine.readStoreManifest(paths))) out.push('store.json is still missing after a second ensureStore');
      return out;
    },
  },
];
