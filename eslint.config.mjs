// Lint: typescript-eslint's recommended rules, and the layer rules of docs/ARCHITECTURE.md
// ("Parts and who may import whom") enforced as you type rather than by memory.
import tseslint from 'typescript-eslint';

const VSCODE = [
  'vscode',
  'vscode-languageclient',
  'vscode-languageclient/node',
  'vscode-languageserver',
  'vscode-languageserver/node',
  'vscode-languageserver-textdocument',
];
const NODE_FS = ['fs', 'fs/promises', 'node:fs', 'node:fs/promises'];

/**
 * Files that may touch node:fs with values (type imports are free everywhere). The engine's
 * file-system layer, the /proc readers (the kernel's view of processes, not workspace files),
 * the lock-release watcher (fs.watch) and the helper lookup of the kernel-lock probe; the rest
 * are the known gaps listed in docs/ARCHITECTURE.md, each to move behind the layer.
 */
const FS_LAYER = [
  'src/engine/fs.ts',
  'src/engine/confine.ts',
  'src/engine/confine-paths.ts',
  'src/engine/bounded-read.ts',
  'src/engine/lock/os-evidence.ts',
  'src/engine/lock/pid-namespaces.ts',
  'src/engine/lock/vantage.ts',
  'src/engine/lock/process.ts',
  'src/engine/lock/probe.ts',
  'src/engine/lock/release-watch.ts',
  'src/engine/lock/sync-wait.ts',
  // the proper-lockfile adapter honours the caller's `fs` option, as the original does
  'src/compat/mkdir-lock.ts',
  // known gaps (docs/ARCHITECTURE.md, "Known gaps")
  'src/engine/atomic.ts',
  'src/engine/reap-guard.ts',
  'src/engine/snapshot/layout.ts',
  'src/engine/snapshot/relocate.ts',
  'src/server/**',
];

/** Module names are matched exactly (`paths`: 'fs' must not catch '../fs'); the rest as gitignore-style patterns. */
const restrict = (...groups) => {
  const paths = [];
  const patterns = [];
  for (const [group, message, allowTypeImports] of groups) {
    const extra = allowTypeImports ? { allowTypeImports: true } : {};
    if (group === NODE_FS || group === VSCODE) for (const name of group) paths.push({ name, message, ...extra });
    else patterns.push({ group, message, ...extra });
  }
  return ['error', { paths, patterns }];
};

export default tseslint.config(
  { ignores: ['dist/**', 'out/**', 'node_modules/**', '.cache/**', 'test-results/**', 'compat/**', 'demo/**', 'media/**'] },
  ...tseslint.configs.recommended,
  {
    files: ['src/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports', disallowTypeAnnotations: false }],
      'no-restricted-imports': restrict([
        NODE_FS,
        "Touch the disk through the engine's file-system layer (src/engine/fs.ts: fsl()), which confines and bounds every access.",
        true,
      ]),
    },
  },
  {
    // The protocol module declares each request as a namespace (the vscode-eslint pattern); the
    // drop-ins merge a function and a namespace so `module.exports` is the original's shape.
    files: ['src/protocol.ts', 'src/compat/proper-lockfile.ts', 'src/compat/write-file-atomic.ts'],
    rules: { '@typescript-eslint/no-namespace': 'off' },
  },
  {
    files: ['src/engine/**/*.ts', 'src/compat/**/*.ts', 'src/shared/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict(
        [NODE_FS, "Touch the disk through the engine's file-system layer (src/engine/fs.ts: fsl()), which confines and bounds every access.", true],
        [VSCODE, 'The engine knows nothing of VS Code or the language server protocol.'],
        [
          ['**/server', '**/server/**', '**/extension', '**/extension/**', '**/webview/**', '**/cli/**'],
          'The engine is a library: it imports no surface built on it.',
        ],
      ),
    },
  },
  {
    files: ['src/extension/**/*.ts', 'src/webview/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict(
        [NODE_FS, 'The extension host does no file I/O of its own: ask the server.', true],
        [
          ['**/engine', '**/engine/**', '**/compat/**', '**/cli/**', '**/server/**'],
          'The extension knows nothing of file formats: it talks to the server through src/protocol.ts.',
        ],
      ),
    },
  },
  {
    files: ['src/cli/**/*.ts', 'src/server/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict(
        [NODE_FS, "Touch the disk through the engine's file-system layer (src/engine/fs.ts: fsl()), which confines and bounds every access.", true],
        [['**/extension', '**/extension/**', '**/webview/**'], 'The extension is UI only; nothing imports it.'],
      ),
    },
  },
  {
    files: ['src/cli/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict(
        [NODE_FS, "Touch the disk through the engine's file-system layer (src/engine/fs.ts: fsl()).", true],
        [VSCODE, 'The CLI runs without VS Code.'],
        [['**/server', '**/server/**', '**/extension/**', '**/webview/**'], "The CLI uses the engine, not the editor's parts."],
      ),
    },
  },
  // The file-system layer and its named exceptions keep every other layer rule.
  {
    files: FS_LAYER.filter((f) => f.startsWith('src/engine/') || f.startsWith('src/compat/')),
    rules: {
      'no-restricted-imports': restrict(
        [VSCODE, 'The engine knows nothing of VS Code or the language server protocol.'],
        [
          ['**/server', '**/server/**', '**/extension', '**/extension/**', '**/webview/**', '**/cli/**'],
          'The engine is a library: it imports no surface built on it.',
        ],
      ),
    },
  },
  {
    files: FS_LAYER.filter((f) => f.startsWith('src/server/')),
    rules: { 'no-restricted-imports': restrict([['**/extension', '**/extension/**', '**/webview/**'], 'The extension is UI only; nothing imports it.']) },
  },
);
