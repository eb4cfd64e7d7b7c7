/**
 * Asking the kernel about a lock file directly, from any pid namespace: a non-blocking flock
 * attempt (released at once) and a POSIX/OFD lock query that takes nothing. /proc/locks hides
 * locks held by processes outside the reader's pid namespace (a Dev Container does not see the
 * host's holders), but a lock on the file itself is seen from anywhere on the same kernel.
 *
 * Node has no flock(2) or fcntl(2) locking, so one helper process per call does the asking:
 * python3 when installed, else flock(1) (flock only), else every answer is 'unavailable'. The
 * helper never opens a path: this process opens each file through the engine's file-system
 * layer (read-only, O_NOFOLLOW, O_NONBLOCK, files and directories only, confined to its root)
 * and hands the descriptors over in spawn's stdio array.
 *
 * What a probe costs a holder (README.md, "How a lock is judged"): the flock attempt holds an
 * exclusive flock for the instant between LOCK_EX|LOCK_NB and LOCK_UN, so a holder's own
 * LOCK_NB attempt made in that instant fails as if the lock were taken (a blocking one just
 * waits that instant). Nothing is ever created, truncated or written, and the POSIX query takes
 * nothing. Closing our descriptors would drop POSIX locks that *this* process holds on the same
 * file (fcntl's per-process rule); Ledgerlock takes none, and reading a lock file has the same
 * effect anyway.
 */
import { spawn } from 'node:child_process';
import * as nodeFs from 'node:fs';
import * as path from 'node:path';
import { ErrorCode, LedgerlockError, errnoCode } from '../errors';
import { fsl, type OpenFile } from '../fs';
import { checkDuration } from '../options';
import { PROBE_MARKER, noteProbeSession, probeSessionEnded } from './os-evidence';

export type KernelProbeAnswer = 'held' | 'free' | 'unavailable';

export interface KernelProbe {
  /** An exclusive, non-blocking flock(2) on the file failed because someone holds a flock on it. */
  flock: KernelProbeAnswer;
  /** Someone holds a POSIX (fcntl/lockf) or OFD lock on some byte of it (F_OFD_GETLK, else F_GETLK). */
  posix: KernelProbeAnswer;
  /** The POSIX holder's pid as seen from this pid namespace (absent for OFD locks and holders this namespace cannot see). */
  posixPid?: number;
  /** Why an answer is 'unavailable'. */
  detail?: string;
}

export interface ProbeOptions {
  /** The helper is killed after this long; unanswered files are 'unavailable'. Default 2 s. */
  timeoutMs?: number;
}

export interface KernelLockHelper {
  kind: 'python3' | 'flock';
  path: string;
}

const DEFAULT_TIMEOUT_MS = 2_000;
/** Descriptors handed to one helper; more paths take another spawn (the open-files limit is shared with everything else). */
const MAX_FILES_PER_SPAWN = 512;
/** A helper's answer is one short line per file; anything beyond this is not an answer. */
const LINE_BUDGET = 64;
const STDERR_BUDGET = 2_048;

/**
 * Where the helpers are looked for: the system's own directories first (an interpreter there
 * starts in ~10 ms; a version-manager shim on PATH costs several times that and picks its
 * version by the current directory), then PATH.
 */
const SYSTEM_DIRS = ['/usr/bin', '/bin', '/usr/local/bin'];

let helper: KernelLockHelper | null | undefined;

/** The program that probes (and that `ledgerlock lock` takes its hand-off flock with), or undefined when none is installed. */
export function kernelLockHelper(): KernelLockHelper | undefined {
  if (helper === undefined) {
    const python = findProgram('python3');
    const flock = python === undefined ? findProgram('flock') : undefined;
    helper = python !== undefined ? { kind: 'python3', path: python } : flock !== undefined ? { kind: 'flock', path: flock } : null;
  }
  return helper ?? undefined;
}

/** The path of the program that does the probing (python3 or flock(1)); undefined off Linux or when neither is installed. */
export function probeProgram(): string | undefined {
  return process.platform === 'linux' ? kernelLockHelper()?.path : undefined;
}

function findProgram(name: string): string | undefined {
  const dirs = [...SYSTEM_DIRS, ...(process.env.PATH ?? '').split(path.delimiter).filter((d) => path.isAbsolute(d))];
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    try {
      nodeFs.accessSync(candidate, nodeFs.constants.X_OK);
      if (nodeFs.statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * F_OFD_GETLK (36) with F_WRLCK over the whole file reports any conflicting POSIX or OFD lock
 * without taking one; kernels before 3.15 refuse it (EINVAL) and F_GETLK answers instead.
 * `struct flock` on x86_64 and aarch64 (both LP64, the generic layout): short l_type, short
 * l_whence, 4 bytes of padding, off_t l_start, off_t l_len, pid_t l_pid, 4 bytes of padding.
 * Elsewhere the layout is not assumed and POSIX answers 'unavailable'.
 */
const PYTHON_PROBE = `
import errno, fcntl, os, struct, sys
n = int(sys.argv[1])
layout = '=hh4xqqi4x' if os.uname().machine in ('x86_64', 'aarch64') else None
getlk = 36
def code(e):
    return errno.errorcode.get(e.errno, str(e.errno))
out = []
for i in range(n):
    fd = 3 + i
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:
        fl = 'held' if e.errno in (errno.EAGAIN, errno.EWOULDBLOCK) else 'E' + code(e)
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        fl = 'free'
    px, pid = 'Elayout', 0
    if layout is not None:
        while True:
            try:
                res = fcntl.fcntl(fd, getlk, struct.pack(layout, fcntl.F_WRLCK, 0, 0, 0, 0))
            except OSError as e:
                if getlk == 36 and e.errno == errno.EINVAL:
                    getlk = fcntl.F_GETLK
                    continue
                px = 'E' + code(e)
                break
            t, _w, _s, _l, pid = struct.unpack(layout, res)
            px = 'free' if t == fcntl.F_UNLCK else 'held'
            break
    out.append('%d %s %s %d' % (i, fl, px, pid))
sys.stdout.write('\\n'.join(out) + '\\n')
`;

/** flock(1) over the passed descriptors: -E 75 tells a conflict from a failure; a lock taken is given back at once. */
const FLOCK_PROBE = `
i=0
for fd in "$@"; do
  "$FLOCK" -n -E 75 "$fd"
  r=$?
  if [ "$r" -eq 0 ]; then "$FLOCK" -u "$fd"; echo "$i free"
  elif [ "$r" -eq 75 ]; then echo "$i held"
  else echo "$i Eexit$r"
  fi
  i=$((i+1))
done
`;

/**
 * Probes the kernel locks on each path with one helper process per call (per 512 paths). A
 * path that cannot be opened safely (missing, a symlink leaving its root, a FIFO, a socket, a
 * device) is 'unavailable' with the reason, and so is everything off Linux or without a helper.
 */
export async function probeKernelLocks(paths: readonly string[], opts: ProbeOptions = {}): Promise<Map<string, KernelProbe>> {
  if (!Array.isArray(paths) || paths.some((p) => typeof p !== 'string' || p.length === 0)) {
    throw new LedgerlockError(ErrorCode.BadInput, 'probeKernelLocks expects an array of non-empty paths', {
      paths: Array.isArray(paths) ? paths.length : typeof paths,
    });
  }
  const timeoutMs = checkDuration('timeoutMs', opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  const result = new Map<string, KernelProbe>();
  const unique = [...new Set(paths)];
  const unavailable = (detail: string) => {
    for (const p of unique) result.set(p, { flock: 'unavailable', posix: 'unavailable', detail });
  };
  if (process.platform !== 'linux') {
    unavailable('kernel lock probes are made on Linux only');
    return result;
  }
  const program = kernelLockHelper();
  if (program === undefined) {
    unavailable('neither python3 nor flock(1) is installed to probe kernel locks');
    return result;
  }
  const answers = new Map<string, KernelProbe>();
  for (let at = 0; at < unique.length; at += MAX_FILES_PER_SPAWN) {
    await probeBatch(unique.slice(at, at + MAX_FILES_PER_SPAWN), program, timeoutMs, answers);
  }
  for (const p of unique) result.set(p, answers.get(p)!);
  return result;
}

async function probeBatch(batch: string[], program: KernelLockHelper, timeoutMs: number, result: Map<string, KernelProbe>): Promise<void> {
  const opened: { path: string; file: OpenFile; fd: number }[] = [];
  await Promise.all(
    batch.map(async (p) => {
      try {
        const file = await fsl().open(p, 'r');
        if (file.fd === undefined) {
          await file.close().catch(() => undefined);
          result.set(p, { flock: 'unavailable', posix: 'unavailable', detail: 'the file system in use gives no descriptor to probe' });
          return;
        }
        opened.push({ path: p, file, fd: file.fd });
      } catch (err) {
        result.set(p, { flock: 'unavailable', posix: 'unavailable', detail: openFailure(err) });
      }
    }),
  );
  if (opened.length === 0) return;
  let closed = false;
  // A flock the helper took lives on the open file description until its last descriptor
  // closes: ours go the moment the helper exits, whatever state it died in.
  const closeAll = () => {
    if (closed) return;
    closed = true;
    for (const o of opened) {
      try {
        o.file.closeSync();
      } catch {
        // already closed
      }
    }
  };
  let outcome: HelperOutcome;
  try {
    outcome = await runHelper(
      program,
      opened.map((o) => o.fd),
      timeoutMs,
      closeAll,
    );
  } finally {
    closeAll();
  }
  const answers = parseAnswers(outcome.stdout, opened.length, program.kind);
  opened.forEach((o, i) => {
    const answer = answers[i];
    result.set(o.path, answer ?? { flock: 'unavailable', posix: 'unavailable', detail: outcome.failure ?? 'the probe gave no answer for this file' });
  });
}

interface HelperOutcome {
  stdout: string;
  /** Why the helper's answers may be missing (killed, spawn failure, non-zero exit). */
  failure?: string | undefined;
}

function runHelper(program: KernelLockHelper, fds: number[], timeoutMs: number, onExit: () => void): Promise<HelperOutcome> {
  const fdArgs = fds.map((_, i) => String(3 + i));
  const [file, args] =
    program.kind === 'python3'
      ? [program.path, ['-I', '-S', '-c', PYTHON_PROBE, String(fds.length), PROBE_MARKER]]
      : ['/bin/sh', ['-c', FLOCK_PROBE, PROBE_MARKER, ...fdArgs]];
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C', ...(program.kind === 'flock' ? { FLOCK: program.path } : {}) };
  const budget = fds.length * LINE_BUDGET + 1_024;
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let failure: string | undefined;
    let settled = false;
    // Its own process group, so a stop takes flock(1)'s children (and their copies of the descriptors) too.
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe', ...fds], cwd: '/', env, detached: true });
    // Its descriptors are ours: a judge looking at open files meanwhile must not take them for a holder's.
    if (child.pid !== undefined) noteProbeSession(child.pid);
    const finish = (extra?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ stdout, ...((failure ?? extra) ? { failure: failure ?? extra } : {}) });
    };
    const kill = (why: string) => {
      failure ??= why;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    };
    const timer = setTimeout(() => kill(`the probe did not finish within ${timeoutMs} ms and was stopped`), timeoutMs);
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      stdout += chunk;
      if (stdout.length > budget) kill('the probe wrote more than its answers and was stopped');
    });
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      if (stderr.length < STDERR_BUDGET) stderr += chunk.slice(0, STDERR_BUDGET - stderr.length);
    });
    child.once('error', (err) => {
      onExit();
      finish(`${program.path} could not be started: ${err.message}`);
    });
    child.once('exit', (code, signal) => {
      if (child.pid !== undefined) probeSessionEnded(child.pid);
      onExit();
      if (code !== 0 && failure === undefined) {
        const said = stderr.trim().split('\n').pop()?.slice(0, 200);
        failure = `${path.basename(program.path)} ${signal !== null ? `was killed by ${signal}` : `exited with ${code}`}${said ? `: ${said}` : ''}`;
      }
      // Output still owed by a straggler holding the pipe is not waited for long.
      setTimeout(() => finish(), 100);
    });
    child.once('close', () => finish());
  });
}

function parseAnswers(stdout: string, count: number, kind: KernelLockHelper['kind']): (KernelProbe | undefined)[] {
  const answers: (KernelProbe | undefined)[] = new Array(count);
  for (const line of stdout.split('\n')) {
    const m = /^(\d+) (held|free|E\w+)(?: (held|free|E\w+) (-?\d+))?$/.exec(line.trim());
    if (!m) continue;
    const i = Number(m[1]);
    if (i >= count || answers[i] !== undefined) continue;
    const details: string[] = [];
    const flock = answerOf(m[2]!, 'flock', details);
    let posix: KernelProbeAnswer;
    if (m[3] !== undefined) {
      posix = answerOf(m[3], 'POSIX', details);
    } else {
      posix = 'unavailable';
      if (kind === 'flock') details.push('flock(1) cannot ask about POSIX locks (python3 is not installed)');
    }
    const pid = Number(m[4] ?? 0);
    answers[i] = {
      flock,
      posix,
      ...(posix === 'held' && pid > 0 ? { posixPid: pid } : {}),
      ...(details.length > 0 ? { detail: details.join('; ') } : {}),
    };
  }
  return answers;
}

function answerOf(word: string, what: string, details: string[]): KernelProbeAnswer {
  if (word === 'held' || word === 'free') return word;
  const code = word.slice(1);
  details.push(
    code === 'layout'
      ? `the ${what} lock query is not made on this architecture (its struct flock layout is not known here)`
      : `the ${what} probe failed (${code})`,
  );
  return 'unavailable';
}

function openFailure(err: unknown): string {
  if (err instanceof LedgerlockError) return `${err.code}: ${err.message}`;
  const code = errnoCode(err);
  if (code === 'ENOENT') return 'no such file';
  return `cannot open it: ${(err as Error)?.message ?? String(err)}`;
}
