// Child process: set up a scenario, run it through the recording file system, save the log.
// Running here means every pid the run leaves behind (in lock files) belongs to a dead process.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { FileTree } from './model.mjs';
import { forwardUnknown, RecordingFileSystem } from './recording-fs.mjs';
import { buildTree } from './crash-states.mjs';
import { scenarios } from './scenarios/index.mjs';

const [name, out] = process.argv.slice(2);
const here = path.dirname(fileURLToPath(import.meta.url));
const engine = createRequire(import.meta.url)(path.join(here, '..', '..', 'dist', 'engine.js'));
const scenario = scenarios.find((s) => s.name === name);
if (!scenario) throw new Error(`no scenario ${name}`);

const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'ledgerlock-crash-run-')));
try {
  await scenario.setup?.(root, engine);
  const recorder = new RecordingFileSystem(root, engine.nodeFileSystem);
  const restore = engine.useFileSystem(forwardUnknown(recorder, engine.nodeFileSystem, (m) => recorder.unrecorded.add(m)));
  try {
    await scenario.run(root, engine, recorder);
  } finally {
    restore();
  }
  await scenario.settle?.(root, engine);
  if (recorder.unrecorded.size) throw new Error(`the engine used file-system operations the recorder does not log: ${[...recorder.unrecorded].join(', ')}`);
  // The recording must replay to exactly what is on disk, or every crash state built from it is fiction.
  const replayed = shape(buildTree(recorder.snapshot, recorder.ops, { k: recorder.ops.length, drop: [] }));
  const actual = shape(FileTree.fromDisk(root).tree);
  if (replayed !== actual) throw new Error(`recording does not replay to the real directory:\nreplayed:\n${replayed}\nactual:\n${actual}`);
  // Fault injection for the explorer's own tests: forget barriers, as an engine missing that fsync would.
  const omit = process.env.LEDGERLOCK_CRASH_OMIT_BARRIER ? new RegExp(process.env.LEDGERLOCK_CRASH_OMIT_BARRIER) : undefined;
  if (omit) recorder.ops = recorder.ops.filter((op) => !((op.kind === 'fsync' || op.kind === 'syncdir') && omit.test(`${op.kind} ${op.path}`)));
  // Fault injection: an engine that acknowledges an append once any flush of the file returns
  // after its write, though that flush began before it (joining a flush in flight).
  if (process.env.LEDGERLOCK_CRASH_ACK_ON_ANY_FLUSH === '1') recorder.ops = ackOnAnyFlush(recorder.ops);
  fs.writeFileSync(
    out,
    JSON.stringify({
      scenario: name,
      root,
      pid: process.pid,
      snapshot: recorder.snapshot.toJSON(),
      ops: recorder.ops.map((op) => (op.bytes ? { ...op, bytes: op.bytes.toString('base64') } : op)),
    }),
  );
} finally {
  fs.rmSync(root, { recursive: true, force: true });
}
// A lock heartbeat or an idle timer must not keep the recording alive: the run is over.
process.exit(0);

function ackOnAnyFlush(ops) {
  const out = ops.filter((op) => !(op.kind === 'ack' && op.label === 'appended'));
  for (const ack of ops.filter((op) => op.kind === 'ack' && op.label === 'appended')) {
    const write = out.findIndex((op) => op.kind === 'write' && op.offset + op.bytes.length === ack.value.end);
    const flush = out.findIndex((op, j) => j > write && op.kind === 'fsync' && op.ino === out[write].ino);
    out.splice(flush + 1, 0, ack);
  }
  return out;
}

function shape(tree) {
  const digest = (data) => createHash('sha256').update(data).digest('hex').slice(0, 16);
  return tree
    .list()
    .map(({ rel, node }) => `${rel} ${node.type} ${node.mode.toString(8)} ${node.type === 'file' ? `${node.data.length} ${digest(node.data)}` : ''}`)
    .join('\n');
}
