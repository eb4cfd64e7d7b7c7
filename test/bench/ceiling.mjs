// What the multi-process append shape can do on this machine with no engine at all: raw fs
// calls, 240-byte records, one file. Not a contender: nothing here checks ownership, confines a
// path, survives a crash or is durable by any rule but its own. It bounds what the engine's
// "4 processes × 16 producers" row could reach by protocol alone (README, "Benchmarks",
// "Processes sharing a ledger").
//
//   lock   each process: exclusive create of a lock file (with a 300-byte record), its whole
//          queue written under it, release by rename and unlink, then fdatasync outside the lock
//          and acknowledge; a waiter sleeps on one directory watch (2 ms backoff as fallback).
//          The engine's protocol shape, without its checks.
//   spool  the same, but a process that finds the lock taken writes its queue to a spool file
//          (a temporary name, then renamed); the holder claims every spool by rename, appends
//          them with its own batch, and renames each to a done name after its fdatasync; a
//          spooler withdraws its file (rename) and takes the lock itself once the lock is free.
//          One holder writing other processes' batches, the design the README says is not built.
//
//   node test/bench/ceiling.mjs [rounds=5] [ms=1000]
//
// Prints, per round, 1 × 64 (lock), 4 × 16 lock and 4 × 16 spool in appends per second, and the
// medians of the 4 × 16 / 1 × 64 ratios; checks that the file holds exactly the records
// acknowledged.
import { fork } from 'node:child_process';
import fs from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, produceFor } from './measure.mjs';

const RECORD = Buffer.alloc(240, 'x');
RECORD[239] = 0x0a;

if (process.argv[2] === 'child') await child(...process.argv.slice(3));
else await parent(Number(process.argv[2] ?? 5), Number(process.argv[3] ?? 1000));

async function child(mode, dir, producers, ms) {
  const ledger = path.join(dir, 'ledger');
  const lock = path.join(dir, 'locks', 'l.lock');
  const spool = path.join(dir, 'spool');
  const fd = fs.openSync(ledger, 'a+');
  let queue = [];
  let busy = false;
  let seq = 0;
  const lockWakers = new Set();
  const lockWatch = fs.watch(path.dirname(lock), { persistent: false }, () => {
    for (const wake of [...lockWakers]) wake();
  });
  const doneWaiters = new Map();
  const spoolWatch =
    mode === 'spool'
      ? fs.watch(spool, { persistent: false }, (_event, file) => {
          const wake = file && doneWaiters.get(file.toString());
          if (wake) wake();
        })
      : null;
  const tryLock = () => {
    try {
      const l = fs.openSync(lock, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_EXCL);
      fs.writeSync(l, 'x'.repeat(300), 0);
      return l;
    } catch {
      return -1;
    }
  };
  const unlock = (l) => {
    const trash = `${lock}.${process.pid}.${seq++}.trash`;
    fs.renameSync(lock, trash);
    fs.unlinkSync(trash);
    fs.closeSync(l);
  };
  const lockEvent = () =>
    new Promise((resolve) => {
      const wake = () => {
        lockWakers.delete(wake);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(wake, 2);
      lockWakers.add(wake);
    });
  const at = (name) => path.join(spool, name);
  const writeSpool = (name, n) => {
    fs.writeFileSync(at(`${name}.tmp`), Buffer.concat(Array(n).fill(RECORD)));
    fs.renameSync(at(`${name}.tmp`), at(`${name}.req`));
  };

  /** Spools `batch`; true once a holder wrote and flushed it, false once withdrawn with the lock free (then `lockFd` holds it). */
  async function spoolBatch(batch, holder) {
    const name = `${process.pid}.${seq++}`;
    writeSpool(name, batch.length);
    const done = new Promise((resolve) => doneWaiters.set(`${name}.done`, resolve));
    for (;;) {
      let which = await Promise.race([done.then(() => 'done'), lockEvent().then(() => 'lock')]);
      if (which === 'lock' && fs.existsSync(at(`${name}.done`))) which = 'done';
      if (which === 'done') {
        doneWaiters.delete(`${name}.done`);
        fs.unlinkSync(at(`${name}.done`));
        return true;
      }
      try {
        fs.renameSync(at(`${name}.req`), at(`${name}.mine`));
      } catch {
        continue; // a holder claimed it: wait for its done name
      }
      fs.unlinkSync(at(`${name}.mine`));
      const l = tryLock();
      if (l >= 0) {
        doneWaiters.delete(`${name}.done`);
        holder.fd = l;
        return false;
      }
      writeSpool(name, batch.length);
    }
  }

  async function pump() {
    if (busy || queue.length === 0) return;
    busy = true;
    while (queue.length > 0) {
      const batch = queue;
      queue = [];
      let l = tryLock();
      if (l < 0 && mode === 'spool') {
        const holder = { fd: -1 };
        if (await spoolBatch(batch, holder)) {
          for (const ack of batch) ack();
          continue;
        }
        l = holder.fd;
      }
      while (l < 0) {
        await lockEvent();
        l = tryLock();
      }
      const claimed = [];
      const bytes = [Buffer.concat(Array(batch.length).fill(RECORD))];
      if (mode === 'spool') {
        for (const f of fs.readdirSync(spool)) {
          if (!f.endsWith('.req')) continue;
          const name = f.slice(0, -4);
          try {
            fs.renameSync(at(f), at(`${name}.taken`));
          } catch {
            continue;
          }
          bytes.push(fs.readFileSync(at(`${name}.taken`)));
          claimed.push(name);
        }
      }
      fs.writeSync(fd, Buffer.concat(bytes));
      unlock(l);
      await new Promise((resolve) => fs.fdatasync(fd, resolve));
      for (const name of claimed) fs.renameSync(at(`${name}.taken`), at(`${name}.done`));
      for (const ack of batch) ack();
    }
    busy = false;
  }

  process.send('ready');
  await new Promise((resolve) => process.once('message', resolve));
  const { count, seconds } = await produceFor(Number(producers), Number(ms), () =>
    new Promise((resolve) => {
      queue.push(resolve);
      void pump();
    }),
  );
  lockWatch.close();
  spoolWatch?.close();
  process.send({ count, seconds }, () => process.exit(0));
}

async function parent(rounds, ms) {
  const self = fileURLToPath(import.meta.url);
  const run = async (mode, processes, producers) => {
    const dir = fs.mkdtempSync(path.join(tmpdir(), 'ledgerlock-ceiling-'));
    fs.mkdirSync(path.join(dir, 'locks'));
    fs.mkdirSync(path.join(dir, 'spool'));
    try {
      const children = Array.from({ length: processes }, () => fork(self, ['child', mode, dir, String(producers), String(ms)]));
      await Promise.all(children.map((c) => new Promise((resolve) => c.once('message', resolve))));
      const results = children.map((c) => new Promise((resolve) => c.once('message', resolve)));
      for (const c of children) c.send('go');
      const out = await Promise.all(results);
      const acknowledged = out.reduce((a, m) => a + m.count, 0);
      const written = fs.statSync(path.join(dir, 'ledger')).size / RECORD.length;
      if (written !== acknowledged) throw new Error(`${mode} ${processes}×${producers}: ${acknowledged} acknowledged, ${written} in the file`);
      return acknowledged / Math.max(...out.map((m) => m.seconds));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  };
  console.log(`load average at start ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  await run('lock', 4, 16); // warm-up, untimed
  const lockRatios = [];
  const spoolRatios = [];
  for (let r = 1; r <= rounds; r++) {
    // Rotating order, so a slow moment hits a round rather than one contender.
    const order = [['one', 'lock', 1, 64], ['lock', 'lock', 4, 16], ['spool', 'spool', 4, 16]];
    const got = {};
    for (let k = 0; k < order.length; k++) {
      const [key, mode, p, n] = order[(k + r) % order.length];
      got[key] = await run(mode, p, n);
    }
    lockRatios.push(got.lock / got.one);
    spoolRatios.push(got.spool / got.one);
    const f = (x) => Math.round(x).toLocaleString('en-US');
    console.log(`round ${r}: 1×64 ${f(got.one)}/s | 4×16 lock ${f(got.lock)}/s (${(got.lock / got.one).toFixed(2)}) | 4×16 spool ${f(got.spool)}/s (${(got.spool / got.one).toFixed(2)})`);
  }
  console.log(`median 4×16 / 1×64: lock ${median(lockRatios).toFixed(2)}, spool ${median(spoolRatios).toFixed(2)}`);
  console.log(`load average at end ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
}
