/** The command table, in the order `--help` lists them. */
import type { AnyCommand } from '../command';
import { appendCommand } from './append';
import { compactCommand } from './compact';
import { lockCommand } from './lock';
import { locksCommand } from './locks';
import { readCommand } from './read';
import { reapCommand } from './reap';
import { repairCommand } from './repair';
import { statusCommand } from './status';
import { tailCommand } from './tail';
import { verifyCommand } from './verify';
import { snapshotCommand } from './snapshot';
import { migrateCommand } from './migrate';
import { relocateCommand } from './relocate';

export const commands: AnyCommand[] = [
  statusCommand,
  locksCommand,
  reapCommand,
  lockCommand,
  appendCommand,
  tailCommand,
  readCommand,
  verifyCommand,
  repairCommand,
  compactCommand,
  snapshotCommand,
  migrateCommand,
  relocateCommand,
];
