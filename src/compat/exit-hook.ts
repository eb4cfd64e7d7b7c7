/**
 * The drop-in adapters' exit hook, as the originals get from signal-exit: cleanups registered
 * here (a lock to release, a temp file to remove) run when the process exits, and when a signal
 * that would end it arrives. A signal is acted on only where nobody else listens for it (the
 * program's own handler decides otherwise, and its process.exit() still runs the cleanups);
 * then our listeners are removed and the signal raised again, so the process ends as it would
 * have. Both adapter bundles share one registry on globalThis, and signal-exit's listeners
 * count as ours, so neither mistakes the other for the program's handler.
 */

interface Registry {
  cleanups: Set<() => void>;
  /** How many registered cleanups also want a fatal signal to run them. */
  withSignals: number;
  listeners: Map<NodeJS.Signals, () => void>;
  exitHooked: boolean;
  unloadTimer?: NodeJS.Timeout | undefined;
}

const KEY = Symbol.for('ledgerlock.compat.exit-hook');

/** The signals signal-exit hooks: those whose default action ends the process. */
function fatalSignals(): NodeJS.Signals[] {
  const list: string[] = ['SIGHUP', 'SIGINT', 'SIGTERM'];
  if (process.platform !== 'win32') list.push('SIGALRM', 'SIGABRT', 'SIGVTALRM', 'SIGXCPU', 'SIGXFSZ', 'SIGUSR2', 'SIGTRAP', 'SIGSYS', 'SIGQUIT', 'SIGIOT');
  if (process.platform === 'linux') list.push('SIGIO', 'SIGPOLL', 'SIGPWR', 'SIGSTKFLT');
  return list as NodeJS.Signals[];
}

function registry(): Registry {
  const g = globalThis as { [KEY]?: Registry };
  return (g[KEY] ??= { cleanups: new Set(), withSignals: 0, listeners: new Map(), exitHooked: false });
}

function runAll(): void {
  const r = registry();
  for (const cleanup of [...r.cleanups]) {
    r.cleanups.delete(cleanup);
    try {
      cleanup();
    } catch { /* exiting anyway */ }
  }
}

/** Listeners signal-exit (3.x and 4.x) has on each signal, which act only when theirs are the only ones. */
function signalExitListeners(): number {
  const v4 = (globalThis as Record<symbol, { count?: unknown } | undefined>)[Symbol.for('signal-exit emitter')]?.count;
  const v3 = (process as { __signal_exit_emitter__?: { count?: unknown } }).__signal_exit_emitter__?.count;
  return (typeof v4 === 'number' ? v4 : 0) + (typeof v3 === 'number' ? v3 : 0);
}

function unloadSignals(r: Registry): void {
  for (const [signal, listener] of r.listeners) process.removeListener(signal, listener);
  r.listeners.clear();
}

function loadSignals(r: Registry): void {
  for (const signal of fatalSignals()) {
    const listener = () => {
      if (process.listeners(signal).length > 1 + signalExitListeners()) return;
      runAll();
      unloadSignals(r);
      r.withSignals = 0;
      process.kill(process.pid, signal === 'SIGHUP' && process.platform === 'win32' ? 'SIGINT' : signal);
    };
    try {
      process.on(signal, listener);
      r.listeners.set(signal, listener);
    } catch { /* not a signal on this platform */ }
  }
}

/**
 * Runs `cleanup` once if the process exits before the returned function is called; with
 * `signals` (default), also if a fatal signal ends it. Signal listeners are installed only
 * while such a cleanup is registered (and a second after), as signal-exit's are: a process
 * with a signal listener is not ended by that signal while its JavaScript is busy. A synchronous call needs none (no
 * listener runs until it returns).
 */
export function onExitCleanup(cleanup: () => void, options: { signals?: boolean } = {}): () => void {
  const r = registry();
  const signals = options.signals !== false;
  if (!r.exitHooked) {
    r.exitHooked = true;
    process.on('exit', runAll);
  }
  r.cleanups.add(cleanup);
  if (signals && r.withSignals++ === 0 && r.listeners.size === 0) loadSignals(r);
  return () => {
    if (!r.cleanups.delete(cleanup) || !signals) return;
    if (--r.withSignals <= 0) {
      r.withSignals = 0;
      scheduleUnload(r);
    }
  };
}

/**
 * The listeners go a second after the last cleanup does, not at once: a process taking and
 * releasing locks or writing files in a loop does not install and remove them each time.
 */
function scheduleUnload(r: Registry): void {
  if (r.unloadTimer !== undefined) return;
  r.unloadTimer = setTimeout(() => {
    r.unloadTimer = undefined;
    if (r.withSignals === 0) unloadSignals(r);
  }, 1000);
  r.unloadTimer.unref();
}
