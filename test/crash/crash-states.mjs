// Crash states of one recorded run. A state is "the first k operations happened, then power was
// lost": every op already made durable by a later barrier inside the prefix survives; each op
// not yet durable may survive, vanish, or (a write) be torn into sector/page/byte pieces.
//
// Durability model (strict, Linux ext4 without its data=ordered kindness):
// - a write/truncate/chmod/utimes of a file is durable once that file is fsynced (fsync or fdatasync)
//   by an fsync that STARTED after it (`from`): an fsync in flight does not cover a write another
//   writer made meanwhile, so unflushed writes of several writers persist in any order, and a
//   later record can be on disk while an earlier one is a hole of zeros;
// - a create/mkdir/link/unlink/rmdir is durable once its directory is fsynced (fsync of the new
//   file does NOT persist its directory entry);
// - a rename is atomic and durable once the destination directory is fsynced.
import { FileTree, tornPieces } from './model.mjs';
import { seededRandom, shuffled } from './sampler.mjs';

const DATA_OPS = new Set(['write', 'truncate', 'chmod', 'utimes']);
const ENTRY_OPS = new Set(['create', 'mkdir', 'link', 'unlink', 'rmdir', 'rename']);
export const GRANULARITIES = [512, 4096, 1];

/** For each op, the index of the first barrier that makes it durable (Infinity: none). */
export function durableBy(ops) {
  return ops.map((op, j) => {
    if (!DATA_OPS.has(op.kind) && !ENTRY_OPS.has(op.kind)) return -1;
    for (let b = j + 1; b < ops.length; b++) {
      const barrier = ops[b];
      if (DATA_OPS.has(op.kind) && barrier.kind === 'fsync' && barrier.ino === op.ino && (barrier.from === undefined || j < barrier.from)) return b;
      const dir = op.kind === 'rename' ? op.dstDir : op.dir;
      if (ENTRY_OPS.has(op.kind) && barrier.kind === 'syncdir' && barrier.ino === dir) return b;
    }
    return Infinity;
  });
}

/** Indexes of the ops in the first k that a power loss at k could still undo. */
export function pendingAt(ops, by, k) {
  const pending = [];
  for (let j = 0; j < k; j++) if (by[j] !== -1 && by[j] >= k) pending.push(j);
  return pending;
}

/** A compact, replayable name: k12 | k12.d3,5 | k12.t4g512p2z | k12.t4g512r7 */
export function describe(state) {
  let s = `k${state.k}`;
  if (state.drop.length) s += `.d${state.drop.join(',')}`;
  if (state.tear) {
    const t = state.tear;
    s += `.t${t.op}g${t.granularity}${t.seed !== undefined ? `r${t.seed}` : `p${t.count}`}${t.zeroFill ? 'z' : ''}`;
  }
  return s;
}

export function parse(desc, ops) {
  const m = /^k(\d+)(?:\.d([\d,]+))?(?:\.t(\d+)g(\d+)(?:p(\d+)|r(\d+))(z?))?$/.exec(desc);
  if (!m) throw new Error(`not a crash state description: ${desc}`);
  const state = { k: Number(m[1]), drop: m[2] ? m[2].split(',').map(Number) : [], tear: undefined };
  const pending = new Set(pendingAt(ops, durableBy(ops), state.k));
  for (const j of state.drop) if (!pending.has(j)) throw new Error(`state ${desc} drops op ${j}, which is already durable (or not a mutation) at k${state.k}`);
  if (state.k > ops.length)
    throw new Error(`state ${desc} crashes after op ${state.k}, but this recording has only ${ops.length} ops (did the scenario change?)`);
  if (m[3] !== undefined) {
    const op = Number(m[3]);
    if (ops[op]?.kind !== 'write')
      throw new Error(`state ${desc} tears op ${op}, which is a ${ops[op]?.kind ?? 'missing op'}, not a write (did the scenario change?)`);
    const granularity = Number(m[4]);
    if (!pending.has(op)) throw new Error(`state ${desc} tears op ${op}, which is already durable at k${state.k}`);
    state.tear =
      m[5] !== undefined
        ? tear(ops[op], op, granularity, { count: Number(m[5]) }, m[7] === 'z')
        : tear(ops[op], op, granularity, { seed: Number(m[6]) }, m[7] === 'z');
  }
  return state;
}

function tear(op, index, granularity, how, zeroFill) {
  const n = tornPieces(op.offset, op.bytes.length, granularity).length;
  let pieces;
  if (how.count !== undefined) pieces = [...Array(Math.min(how.count, n)).keys()];
  else {
    const random = seededRandom(how.seed);
    pieces = [...Array(n).keys()].filter(() => random() < 0.5);
  }
  return { op: index, granularity, pieces, zeroFill, count: how.count, seed: how.seed };
}

/** The file tree a state leaves behind. */
export function buildTree(snapshot, ops, state) {
  const tree = snapshot.clone();
  // An inode exists from its creation whether or not its directory entry survives.
  for (const op of ops) if (op.kind === 'create' || op.kind === 'mkdir') tree.ensure(op.ino, op.kind === 'mkdir' ? 'dir' : 'file', op.mode);
  const dropped = new Set(state.drop);
  for (let j = 0; j < state.k; j++) {
    if (dropped.has(j)) continue;
    tree.apply(ops[j], state.tear?.op === j ? state.tear : undefined);
  }
  return tree;
}

/** The acknowledgements recorded before the crash point. */
export function acksBefore(ops, k) {
  return ops.slice(0, k).filter((op) => op.kind === 'ack');
}

/**
 * The states to explore: every prefix, then (sampled with `seed` down to `maxStates` in all)
 * drops and reorderings of the not-yet-durable ops, and torn writes. States that leave the same
 * tree with the same acknowledgements are explored once.
 */
export function generateStates(snapshot, ops, { seed = 1, maxStates = 1000, deep = false } = {}) {
  // deep: more random drop sets, more tear points, and tears combined with dropped neighbours.
  const subsetsPerPrefix = deep ? 128 : 24;
  const exhaustiveUpTo = deep ? 8 : 5;
  const tearPoints = deep ? 16 : 6;
  const by = durableBy(ops);
  const random = seededRandom(seed);
  const prefixes = [];
  const variants = [];
  for (let k = 0; k <= ops.length; k++) {
    prefixes.push({ k, drop: [], tear: undefined });
    const pending = pendingAt(ops, by, k);
    if (pending.length === 0) continue;
    for (const drop of dropSets(pending, subsetsPerPrefix, exhaustiveUpTo, random)) variants.push({ k, drop, tear: undefined });
    for (const j of pending) {
      if (ops[j].kind !== 'write' || ops[j].bytes.length < 2) continue;
      for (const t of tearsOf(ops[j], j, tearPoints, random)) {
        variants.push({ k, drop: [], tear: t });
        if (deep) {
          const others = pending.filter((p) => p !== j && random() < 0.5);
          if (others.length) variants.push({ k, drop: others, tear: t });
        }
      }
    }
  }
  const seen = new Set();
  const keep = (state) => {
    const key = `${buildTree(snapshot, ops, state).digest()}|${acksBefore(ops, state.k).length}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  };
  const chosen = prefixes.filter(keep);
  // Walk the variants in a seeded random order, skipping duplicates, until the budget is spent.
  for (const state of shuffled(variants, random)) {
    if (chosen.length >= maxStates) break;
    if (keep(state)) chosen.push(state);
  }
  return { states: chosen.map((s) => ({ ...s, id: describe(s) })), candidates: prefixes.length + variants.length };
}

function dropSets(pending, limit, exhaustiveUpTo, random) {
  const n = pending.length;
  if (n <= exhaustiveUpTo) {
    const sets = [];
    for (let mask = 1; mask < 1 << n; mask++) sets.push(pending.filter((_, i) => mask & (1 << i)));
    return sets;
  }
  const sets = [pending];
  for (const j of pending) sets.push([j]);
  // In-order persistence cut short: the first i survived, the rest did not.
  for (let i = 1; i < n; i++) sets.push(pending.slice(i));
  for (let r = 0; r < limit; r++) {
    const s = pending.filter(() => random() < 0.5);
    if (s.length) sets.push(s);
  }
  return sets;
}

function tearsOf(op, index, points, random) {
  const out = [];
  for (const g of GRANULARITIES) {
    const n = tornPieces(op.offset, op.bytes.length, g).length;
    if (n < 2) {
      if (g === 1) out.push(tear(op, index, g, { count: 0 }, true)); // size grew, no data landed
      continue;
    }
    const counts = new Set([0, 1, n - 1]);
    while (counts.size < Math.min(n, points)) counts.add(Math.floor(random() * n));
    for (const c of counts) {
      if (c > 0) out.push(tear(op, index, g, { count: c }, false));
      out.push(tear(op, index, g, { count: c }, true));
    }
    if (g !== 1) for (let r = 0; r < 2; r++) out.push(tear(op, index, g, { seed: Math.floor(random() * 1e6) }, true));
  }
  return out;
}
