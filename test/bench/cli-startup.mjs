// CLI start-up beside bare `node -e 0`, in interleaved runs; prints medians and ratios of wall
// time and of CPU time (user + system, from /usr/bin/time), which a busy machine disturbs less.
//   node test/bench/cli-startup.mjs [runs] [other/cli.js to compare]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

const runs = Number(process.argv[2] ?? 21);
const other = process.argv[3];
const cli = new URL('../../dist/cli.js', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'll-startup-'));
spawnSync(process.execPath, [cli, 'append', 'events', '--data', '1'], { cwd: dir });

const cases = [
  ['node -e 0', ['-e', '0']],
  ['ledgerlock --version', [cli, '--version']],
  ['ledgerlock --help', [cli, '--help']],
  ['ledgerlock tail events', [cli, 'tail', 'events']],
  ['ledgerlock append events --data 1', [cli, 'append', 'events', '--data', '1']],
  ...(other
    ? [
        [`${other} --version`, [other, '--version']],
        [`${other} tail events`, [other, 'tail', 'events']],
        [`${other} append events --data 1`, [other, 'append', 'events', '--data', '1']],
      ]
    : []),
];
const TIME = '/usr/bin/time';
const haveTime = spawnSync(TIME, ['-f', '%U', 'true'], { encoding: 'utf8' }).status === 0;
const times = new Map(cases.map(([name]) => [name, []]));
const cpu = new Map(cases.map(([name]) => [name, []]));
for (let i = 0; i < runs; i++) {
  for (const [name, args] of i % 2 === 0 ? cases : [...cases].reverse()) {
    const start = performance.now();
    const r = haveTime
      ? spawnSync(TIME, ['-f', '%U %S', process.execPath, ...args], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] })
      : spawnSync(process.execPath, args, { cwd: dir, stdio: 'ignore' });
    times.get(name).push(performance.now() - start);
    if (haveTime) {
      const [user, sys] = r.stderr.trim().split('\n').at(-1).split(' ').map(Number);
      cpu.get(name).push((user + sys) * 1000);
    }
  }
}
rmSync(dir, { recursive: true, force: true });
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const base = median(times.get('node -e 0'));
const cpuBase = haveTime ? median(cpu.get('node -e 0')) : NaN;
console.log(`${'median of ' + runs + ' runs'.padEnd(38)} ${'wall'.padStart(10)} ${''.padStart(6)} ${haveTime ? 'cpu (user+sys)'.padStart(18) : ''}`);
for (const [name] of cases) {
  const m = median(times.get(name));
  const c = haveTime ? median(cpu.get(name)) : NaN;
  console.log(
    `${name.padEnd(48)} ${m.toFixed(1).padStart(7)} ms ${(m / base).toFixed(2).padStart(5)}x ${haveTime ? `${c.toFixed(0).padStart(7)} ms ${(c / cpuBase).toFixed(2).padStart(5)}x` : ''}`,
  );
}
