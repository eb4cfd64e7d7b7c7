/** The ledger's public shapes: what callers pass in and what reads, verify and repair hand back. */
import type { ErrorCode } from '../errors';
import type { TelemetryTarget } from '../telemetry';
import type { JsonlProfileId } from './profiles';

/**
 * When an append resolves: `fsync` after its batch was written and fdatasync'ed (default);
 * `batch` after a shared fdatasync that runs on a short timer or once enough bytes are pending;
 * `none` after the write only — a power loss can then lose events the caller saw resolve.
 */
export type Durability = 'fsync' | 'batch' | 'none';

export type LedgerFormat = 'ledgerlock' | 'foreign';

export interface LedgerOptions {
  durability?: Durability;
  telemetry?: TelemetryTarget;
  /** How long an append, repair or compaction waits for the ledger's lock (default 10 s). */
  lockTimeoutMs?: number;
  /** Largest encoded record an append accepts (default 1 MiB). */
  maxRecordBytes?: number;
  /** Longest line a reader holds in memory (default 16 MiB); longer lines are reported, never loaded. */
  maxLineBytes?: number;
  /** Create a missing native ledger (default true). A foreign ledger is never created. */
  create?: boolean;
  /** Named in the lock file so a person can see who holds the ledger. */
  tool?: string;
  /** Keep only the newest `keep` events, checked every `everyMs` on an unref'd timer. */
  autoCompact?: { keep: number; everyMs: number };
  /** How long `batch` durability waits to gather more appends before its fsync (default 10 ms). */
  batchDelayMs?: number;
  /** A foreign ledger's tool (README.md, "Agent sessions"); default: recognised from its first record. */
  profile?: JsonlProfileId;
  /**
   * Where bytes cut from a foreign ledger outside a store, and its writer's reaped lock, are
   * kept (the editor names `<workspace>/.ledgerlock/quarantine/`; docs/ARCHITECTURE.md, "Quarantine").
   */
  quarantineDir?: string;
}

export interface LedgerEvent {
  id: number;
  ts: string | null;
  type: string;
  data: unknown;
  /** Byte offset of the record's first byte. */
  offset: number;
  /** Bytes of the record including its newline. */
  length: number;
  /** The caller's idempotency key, when the event was appended with one. */
  key?: string;
  /** 1-based line number, when the read knows it (forward scans, foreign ledgers). */
  line?: number;
  crc?: string;
  /** A foreign record named for a person by its tool's profile: kind and a few words. */
  summary?: string;
}

export type LedgerHealth = 'ok' | 'torn' | 'corrupt';

export type LedgerProblemKind =
  | 'torn-tail'
  | 'corrupt-record'
  | 'checksum-mismatch'
  | 'id-not-increasing'
  | 'invalid-utf8'
  | 'line-too-long'
  | 'bad-json'
  | 'schema'
  /** Bytes of zeros where data should be: a crash after the file's size reached the disk and before its data did. */
  | 'zero-filled'
  /** Foreign: a torn record with the next complete record glued onto the same line. */
  | 'glued-record'
  /** Foreign: valid JSON that is not a record of the file's tool (a fragment that happens to parse). */
  | 'not-a-record'
  /** Foreign: a record repeated by a retried append (same identity, e.g. Claude Code's `uuid`). */
  | 'duplicate-record'
  /** Foreign: a complete record at the end of the file whose newline never reached the disk. */
  | 'missing-newline';

/** Byte range of a file. */
export interface ByteRange {
  offset: number;
  length: number;
}

/**
 * What a repair can give back from a damaged foreign line: the records in it that are whole
 * (kept, each on its own line) and the bytes that go to quarantine (cut).
 */
export interface LineSalvage {
  cut: ByteRange[];
  kept: (ByteRange & { summary: string })[];
}

export interface LedgerProblem {
  kind: LedgerProblemKind;
  code: ErrorCode;
  offset: number;
  length: number;
  line: number;
  message: string;
  /** Foreign lines only: what repair keeps and what it moves to quarantine. */
  salvage?: LineSalvage;
}

export interface VerifyReport {
  path: string;
  format: LedgerFormat;
  health: LedgerHealth;
  events: number;
  bytes: number;
  /** End of the last valid record: where a torn tail would be cut. */
  validBytes: number;
  firstId: number | null;
  lastId: number | null;
  problems: LedgerProblem[];
  /** Foreign ledgers: whose rules judged the lines (ids are line numbers there). */
  profile?: JsonlProfileId;
}

/** One damaged foreign line a repair changed: what it moved to quarantine and which records it kept in place. */
export interface SalvagedLine {
  line: number;
  offset: number;
  kind: LedgerProblemKind;
  cut: (ByteRange & { quarantine: string })[];
  kept: (ByteRange & { summary: string })[];
}

export interface RepairResult {
  repaired: boolean;
  bytesRemoved: number;
  quarantine?: string;
  truncatedAt: number;
  /** What repair saw at the end: the newest valid id and the damaged lines it cut (oldest first). */
  tail: { health: 'ok' | 'torn'; lastId: number | null; problems: LedgerProblem[] };
  /** Foreign ledgers: the tool whose rules the repair followed, and each damaged line it salvaged (records kept, bytes cut). */
  profile?: JsonlProfileId;
  salvaged?: SalvagedLine[];
  /** Foreign ledgers: complete records in the file after the repair. */
  records?: number | undefined;
}

export interface CompactResult {
  kept: number;
  removed: number;
  bytesBefore: number;
  bytesAfter: number;
}

export interface LedgerStats {
  path: string;
  format: LedgerFormat;
  bytes: number;
  /** null when it cannot be known without a scan. */
  events: number | null;
  lastId: number | null;
  health: LedgerHealth | 'unknown';
}

export interface Page {
  /** Newest first. */
  events: LedgerEvent[];
  /** Opaque; pass back for the next (older) page; null at the beginning of the ledger. */
  next: string | null;
}

export interface RangeQuery {
  fromId?: number;
  toId?: number;
  fromTime?: string;
  toTime?: string;
  limit?: number;
}

/**
 * `key`: an idempotency key (1–256 printable ASCII characters other than `"` and `\`). An
 * append whose key is already among the ledger's recent records (its last KEY_WINDOW_BYTES,
 * 4 MiB) writes nothing and returns that event, with its original id, once it is durable: a
 * caller that crashed before its acknowledgement retries without duplicating the event.
 */
export interface AppendOptions {
  key?: string;
}

export interface Ledger {
  readonly path: string;
  readonly format: LedgerFormat;
  /** Resolves once the event is as durable as the ledger's mode promises; `data` is the caller's own value. */
  append(type: string, data?: unknown, opts?: AppendOptions): Promise<LedgerEvent>;
  appendMany(events: { type: string; data?: unknown; key?: string }[]): Promise<LedgerEvent[]>;
  /**
   * append, synchronously, with every guarantee of the async form (the same lock, ids, torn-tail
   * repair, durability, rollback of a failed write): for CLIs, git hooks and short-lived scripts.
   * Throws E_BAD_INPUT if an async operation of this process holds the ledger's lock right now.
   */
  appendSync(type: string, data?: unknown, opts?: AppendOptions): LedgerEvent;
  appendManySync(events: { type: string; data?: unknown; key?: string }[]): LedgerEvent[];
  /** The last n events, oldest to newest. */
  tail(n: number): Promise<LedgerEvent[]>;
  page(opts: { cursor?: string | null; limit: number }): Promise<Page>;
  /** Events within the bounds (inclusive), oldest to newest. */
  range(opts: RangeQuery): Promise<LedgerEvent[]>;
  verify(opts?: { signal?: AbortSignal | undefined; onProgress?: ((bytes: number, total: number) => void) | undefined }): Promise<VerifyReport>;
  /** Cuts a torn tail (kept in quarantine); refuses corruption with E_LEDGER_CORRUPT. */
  repair(): Promise<RepairResult>;
  /** Removes one damaged record, keeping its bytes in quarantine. */
  quarantineRecord(offset: number): Promise<{ removedBytes: number; quarantine: string }>;
  compact(opts: CompactOptions): Promise<CompactResult>;
  stats(): Promise<LedgerStats>;
  close(): Promise<void>;
}

export interface CompactOptions {
  /** Keep the newest N events. */
  keep?: number;
  /** Keep the events after this id. */
  afterId?: number;
  /** Bytes of the ledger checked so far, while it is read before the rewrite. */
  onProgress?: (bytes: number, total: number) => void;
}
