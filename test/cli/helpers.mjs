// Running the real CLI bundle (`dist/cli.js`) as a child process, the way users and CI do.
import { spawn, spawnSync } from 'node:child_process';

export const CLI = new URL('../../dist/cli.js', import.meta.url).pathname;

/** Runs `ledgerlock ...args` to completion. */
export function cli(args, { cwd, input, env } = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, input, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, json: () => JSON.parse(r.stdout) };
}

/** Starts `ledgerlock ...args` and leaves it running. */
export function cliSpawn(args, { cwd } = {}) {
  return spawn(process.execPath, [CLI, ...args], { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
}

/** tempDir(t, prefix): test/fixtures/workspace.mjs, re-exported for the CLI tests. */
export { tempDir } from '../fixtures/workspace.mjs';
