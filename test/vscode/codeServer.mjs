// Starts code-server (VS Code's server build, installed by scripts/setup-vscode-runtime.sh)
// on loopback, and builds workbench URLs that load the extension under development and,
// optionally, an extension-host test suite (the `payload` query parameter).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const codeServerBin = path.join(root, '.cache/code-server/node_modules/code-server/out/node/entry.js');

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'];

const USER_SETTINGS = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'security.workspace.trust.startupPrompt': 'never',
  'security.workspace.trust.banner': 'always',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'window.restoreWindows': 'none',
  'files.hotExit': 'off',
  'workbench.colorTheme': 'Default Dark Modern',
  'chat.commandCenter.enabled': false,
};

export async function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/**
 * Starts code-server; `trusted: false` leaves workspace trust on, so folders open in
 * restricted mode (each fresh browser profile has trusted nothing yet). `prefix` is a command
 * that runs code-server (and so its extension hosts and language servers), e.g. `unshare …`
 * to start it inside a pid namespace of its own.
 */
export async function startCodeServer({ trusted = true, env = {}, log = () => {}, settings = {}, port: wantedPort, vsix, prefix = [] } = {}) {
  if (!existsSync(codeServerBin)) throw new Error(`code-server is not installed: run scripts/setup-vscode-runtime.sh (${codeServerBin} missing)`);
  const port = wantedPort ?? (await freePort());
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'ledgerlock-code-server-'));
  const userDataDir = path.join(dataDir, 'user-data');
  const extensionsDir = path.join(dataDir, 'extensions');
  mkdirSync(path.join(userDataDir, 'User'), { recursive: true });
  mkdirSync(extensionsDir, { recursive: true });
  writeFileSync(path.join(userDataDir, 'User', 'settings.json'), JSON.stringify({ ...USER_SETTINGS, ...settings }, null, 2));
  if (vsix) {
    // Installed the way a user installs it, before the server starts (no development path).
    execFileSync(process.execPath, [codeServerBin, '--extensions-dir', extensionsDir, '--user-data-dir', userDataDir, '--install-extension', vsix], { stdio: 'pipe' });
  }
  const args = [
    codeServerBin,
    '--bind-addr', `127.0.0.1:${port}`,
    '--auth', 'none',
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-getting-started-override',
    '--user-data-dir', userDataDir,
    '--extensions-dir', extensionsDir,
  ];
  if (trusted) args.push('--disable-workspace-trust');
  const [command, ...argv] = [...prefix, process.execPath, ...args];
  const child = spawn(command, argv, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: process.platform !== 'win32',
  });
  let output = '';
  const collect = (chunk) => {
    output += chunk;
    for (const line of String(chunk).split('\n')) if (line.trim()) log(line);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`code-server exited with ${child.exitCode}:\n${output}`);
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      stopProcessTree(child);
      throw new Error(`code-server did not become ready within 60 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    port,
    url,
    dataDir,
    child,
    output: () => output,
    /** Workbench URL with only the installed extensions (a .vsix given to startCodeServer). */
    installedUrl(folder) {
      return `${url}/?folder=${encodeURIComponent(folder)}`;
    },
    /** Workbench URL with the extension under development loaded (and a test suite, if given). */
    workbenchUrl(folder, { extensionDevelopmentPath = root, extensionTestsPath } = {}) {
      const remote = (p) => `vscode-remote://127.0.0.1:${port}${p}`;
      const payload = [['extensionDevelopmentPath', remote(extensionDevelopmentPath)]];
      if (extensionTestsPath) payload.push(['extensionTestsPath', remote(extensionTestsPath)]);
      // A `.code-workspace` file opens as a (multi-root) workspace, anything else as a folder.
      const open = folder.endsWith('.code-workspace') ? 'workspace' : 'folder';
      return `${url}/?${open}=${encodeURIComponent(folder)}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
    },
    /**
     * Stops code-server and removes its user data (settings, logs, the extension's Output
     * channel), unless `keepData`: a run with failures keeps them to read, and says where.
     */
    async stop({ keepData = false } = {}) {
      stopProcessTree(child);
      await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
      if (keepData) console.log(`  code-server's user data and logs kept at ${dataDir}`);
      else rmSync(dataDir, { recursive: true, force: true, maxRetries: 3 });
    },
  };
}

/** code-server forks extension hosts and file watchers: stop its whole process group. */
export function stopProcessTree(child) {
  if (child.exitCode !== null || child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    child.kill('SIGTERM');
  }
  const timer = setTimeout(() => {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }, 3000);
  timer.unref();
}
