// What a person at a terminal meets: progress only on a terminal, colour that honours NO_COLOR
// and --no-color, "did you mean", refused repeated flags, help with examples, completion, a
// reader that leaves early.
// A pseudo-terminal comes from util-linux's script(1).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CLI, cli, tempDir } from './helpers.mjs';

const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;
const ESC = '\x1b[';

/** Runs a shell command line with a pseudo-terminal as its terminal; returns what the terminal showed. */
function inTerminal(commandLine, { cwd, env = {} }) {
  // A person's terminal: Node decides colour support from TERM and CI (a CI variable without a
  // known CI name means "no colour"), so those are set as a terminal session would have them.
  const { NO_COLOR: _n, FORCE_COLOR: _f, CI: _ci, ...inherited } = process.env;
  const r = spawnSync('script', ['-qec', commandLine, '/dev/null'], { cwd, encoding: 'utf8', env: { ...inherited, TERM: 'xterm-256color', ...env, CLI }, timeout: 60_000 });
  return { code: r.status, screen: r.stdout };
}

function ledgerWithEvents(t, n = 2000) {
  const dir = tempDir(t);
  const input = Array.from({ length: n }, (_, i) => JSON.stringify({ i, pad: 'x'.repeat(100) })).join('\n') + '\n';
  assert.equal(cli(['append', 'events', '--durability', 'none'], { cwd: dir, input }).code, 0);
  return dir;
}

test('verify, status and snapshot draw progress on stderr when it is a terminal, and leave stdout clean', { skip: !hasScript && 'script(1) is not installed' }, (t) => {
  const dir = ledgerWithEvents(t);
  const verify = inTerminal('node "$CLI" verify events > verify.out', { cwd: dir });
  assert.equal(verify.code, 0, verify.screen);
  assert.match(verify.screen, /verifying +\d+%/);
  assert.ok(verify.screen.includes(`\r${ESC}2K`), 'the progress line is erased when the work ends');
  assert.ok(!readFileSync(join(dir, 'verify.out'), 'utf8').includes(ESC), 'stdout (a file here) gets no progress and no colour');
  assert.match(readFileSync(join(dir, 'verify.out'), 'utf8'), /ok \(ledgerlock\), 2,000 events/);

  const status = inTerminal('node "$CLI" status > status.out', { cwd: dir });
  assert.match(status.screen, /status: verifying ledgers +\d+%/);
  for (let i = 0; i < 3; i++) writeFileSync(join(dir, '.ledgerlock', 'state', `doc${i}.json`), `{"i":${i}}`);
  const snapshot = inTerminal('node "$CLI" snapshot create > snap.out', { cwd: dir });
  assert.equal(snapshot.code, 0, snapshot.screen);
  assert.match(snapshot.screen, /snapshot create +\d+%/);
  assert.match(readFileSync(join(dir, 'snap.out'), 'utf8'), /^created snapshot .*: 3 files/);
});

test('progress never appears when stderr is not a terminal', (t) => {
  const dir = ledgerWithEvents(t, 50);
  for (const args of [['verify', 'events'], ['status'], ['compact', 'events', '--keep', '10'], ['snapshot', 'create'], ['migrate']]) {
    const r = cli(args, { cwd: dir });
    assert.equal(r.stderr, '', `${args.join(' ')}: ${r.stderr}`);
  }
});

test('colour on a terminal; none with NO_COLOR, --no-color, or when piped; FORCE_COLOR forces it', { skip: !hasScript && 'script(1) is not installed' }, (t) => {
  const dir = ledgerWithEvents(t, 5);
  assert.ok(inTerminal('node "$CLI" status 2>/dev/null', { cwd: dir }).screen.includes(ESC), 'coloured on a terminal');
  assert.ok(!inTerminal('node "$CLI" status 2>/dev/null', { cwd: dir, env: { NO_COLOR: '1' } }).screen.includes(ESC), 'NO_COLOR');
  assert.ok(!inTerminal('node "$CLI" status --no-color 2>/dev/null', { cwd: dir }).screen.includes(ESC), '--no-color');
  assert.ok(!inTerminal('node "$CLI" status --json 2>/dev/null', { cwd: dir }).screen.includes(ESC), '--json is never coloured');
  assert.ok(!cli(['status'], { cwd: dir }).stdout.includes(ESC), 'piped');
  assert.ok(cli(['status'], { cwd: dir, env: { FORCE_COLOR: '1' } }).stdout.includes(ESC), 'FORCE_COLOR');
});

test('text output uses human sizes, counts and paths relative to the current directory', (t) => {
  const dir = ledgerWithEvents(t, 1500);
  const out = cli(['status'], { cwd: dir }).stdout;
  assert.match(out, / 1,500 events +\d+\.\d KiB +last id 1500 +\.ledgerlock\/ledgers\/events\.jsonl/);
  assert.ok(!out.includes(dir), 'no absolute paths under the cwd');
});

test("status tells another tool's log in records and lines, never an id it does not have", (t) => {
  const dir = ledgerWithEvents(t, 3);
  mkdirSync(join(dir, 'logs'));
  writeFileSync(join(dir, 'logs', 'app.jsonl'), '{"a":1}\n{"a":2}\n');
  const out = cli(['status'], { cwd: dir }).stdout;
  assert.match(out, / 2 records +\d+ B +last line 2 +logs\/app\.jsonl/);
  assert.match(out, / 3 events +\d+ B +last id 3 +\.ledgerlock\/ledgers\/events\.jsonl/);
});

test('a mistyped command or flag gets "did you mean"; exit 2', (t) => {
  const dir = tempDir(t);
  const cases = [
    [['stauts'], /unknown command "stauts"; did you mean "status"\?/],
    [['snapshto', 'list'], /did you mean "snapshot"\?/],
    [['tail', 'events', '--lnes', '3'], /unknown option --lnes; did you mean --lines\?/],
    [['status', '--stale-sm', '5'], /did you mean --stale-ms\?/],
    [['help', 'verfy'], /did you mean "verify"\?/],
    [['completion', 'bsh'], /did you mean "bash"\?/],
  ];
  for (const [args, message] of cases) {
    const r = cli(args, { cwd: dir });
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.stderr, message);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  }
  assert.doesNotMatch(cli(['frobnicate'], { cwd: dir }).stderr, /did you mean/, 'no wild guesses');
});

test('a flag given twice is refused, also through its alias', (t) => {
  const dir = tempDir(t);
  for (const args of [['tail', 'events', '-n', '1', '-n', '2'], ['tail', 'events', '--lines', '1', '-n', '2'], ['append', 'events', '--type', 'a', '--type', 'b', '--data', '1']]) {
    const r = cli(args, { cwd: dir });
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.stderr, /was given more than once/);
  }
});

test('help CMD and CMD --help show usage, options and examples', () => {
  for (const args of [['help', 'tail'], ['tail', '--help'], ['tail', '-h']]) {
    const r = cli(args);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^Usage: ledgerlock tail LEDGER/);
    assert.match(r.stdout, /-n VALUE/);
    assert.match(r.stdout, /Examples:\n {2}\$ ledgerlock tail events/);
  }
  assert.match(cli(['help']).stdout, /completion bash\|zsh\|fish/);
});

function bashComplete(words) {
  const script = `source <("${process.execPath}" "${CLI}" completion bash); COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _ledgerlock; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const r = spawnSync('bash', ['-c', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim().split('\n').filter(Boolean);
}

test('bash completion completes commands, each command\'s flags, and snapshot\'s actions', () => {
  assert.deepEqual(bashComplete(['ledgerlock', 'sta']), ['status']);
  assert.deepEqual(bashComplete(['ledgerlock', 're']).sort(), ['read', 'reap', 'relocate', 'repair']);
  assert.deepEqual(bashComplete(['ledgerlock', 'tail', 'events', '--l']), ['--lines']);
  assert.ok(bashComplete(['ledgerlock', 'compact', 'events', '--']).includes('--keep'));
  assert.deepEqual(bashComplete(['ledgerlock', 'snapshot', 'res']), ['restore']);
  assert.deepEqual(bashComplete(['ledgerlock', 'completion', 'z']), ['zsh']);
});

test('zsh and fish completion scripts name every command with its summary and flags', () => {
  const zsh = cli(['completion', 'zsh']);
  assert.equal(zsh.code, 0);
  assert.match(zsh.stdout, /^#compdef ledgerlock/);
  assert.match(zsh.stdout, /'status:Locks and ledgers under DIR/);
  assert.match(zsh.stdout, /tail\) _arguments '-n' '--json' '--help' '--no-color' '--lines'|tail\) _arguments [^\n]*'--lines'/);
  const fish = cli(['completion', 'fish']);
  assert.equal(fish.code, 0);
  assert.match(fish.stdout, /complete -c ledgerlock -n 'not __fish_seen_subcommand_from [^']*' -a verify -d /);
  assert.match(fish.stdout, /complete -c ledgerlock -n '__fish_seen_subcommand_from compact' -l keep/);
  assert.match(fish.stdout, /complete -c ledgerlock -n '__fish_seen_subcommand_from snapshot' -a 'create list diff restore verify gc delete'/);
  const bash = cli(['completion', 'bash']);
  assert.equal(spawnSync('bash', ['-n'], { input: bash.stdout }).status, 0, 'the bash script parses');
});

test('after `--` everything belongs to the command lock runs, --json included', (t) => {
  const dir = tempDir(t);
  const r = cli(['lock', 'x', '--', 'sh', '-c', 'echo "args: $*"', 'sh', '--json', '-n', '1', '-n', '2'], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'args: --json -n 1 -n 2\n');
});

test('a reader that leaves early (`status | head -1`) gets no stack trace: the command finishes with its own exit code', async (t) => {
  const ws = tempDir(t, 'll-cli-epipe-');
  const dead = spawnSync(process.execPath, ['-e', '0']).pid;
  mkdirSync(join(ws, 'locks'));
  for (let i = 0; i < 50; i++) writeFileSync(join(ws, 'locks', `job-${i}.lock`), JSON.stringify({ pid: dead, host: hostname() }));
  const whole = cli(['status'], { cwd: ws });
  assert.equal(whole.code, 1, whole.stderr);
  for (const args of [['status'], ['status', '--json']]) {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: ws, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy(); // the reader is gone before the first write
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const code = await new Promise((resolve) => child.on('close', resolve));
    assert.equal(stderr, '', `${args.join(' ')}: stderr ${stderr}`);
    assert.equal(code, whole.code, args.join(' '));
  }
});
