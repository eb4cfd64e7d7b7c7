/**
 * Foreign ledgers: JSONL/NDJSON written by other tools, read as they are. A line's position
 * is its 1-based line number; what a record is, its time, kind and summary come from the
 * tool's profile (`profiles/`: Claude Code, Codex, generic JSONL). They are never appended to
 * or compacted: the file belongs to the tool that writes it. Damage real writers leave is named
 * here, with what a repair can give back (docs/ARCHITECTURE.md, "Torn tail and corruption").
 */
import { crc32 } from 'node:zlib';
import { ErrorCode, LedgerlockError } from '../errors';
import { genericProfile, jsonlProfileById, JSONL_PROFILE_IDS, recogniseProfile, type JsonlProfile, type JsonlProfileId } from './profiles';
import { decodeRecord, looksNative, type LineVerdict } from './record';
import type { RawLine } from './scan';
import type { LedgerEvent, LedgerFormat, LedgerProblem, LineSalvage } from './types';

interface ForeignLine {
  ts: string | null;
  type: string;
  data: unknown;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Blank lines are allowed in JSONL; they keep their line number but carry no event. */
function isBlankLine(line: Uint8Array): boolean {
  for (const c of line) if (c !== 0x20 && c !== 0x09 && c !== 0x0d) return false;
  return true;
}

function decodeForeignLine(line: Uint8Array): LineVerdict<ForeignLine> {
  let text: string;
  try {
    text = strictUtf8.decode(line);
  } catch {
    return { ok: false, kind: 'invalid-utf8', code: ErrorCode.InvalidUtf8, message: 'line is not valid UTF-8' };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, kind: 'bad-json', code: ErrorCode.BadJson, message: `line is not valid JSON: ${(err as Error).message}` };
  }
  return { ok: true, value: { ts: genericProfile.time(value), type: genericProfile.kind(value), data: value } };
}

/**
 * The format of a ledger. A native ledger is known by where it lives (`.ledgerlock/ledgers/`,
 * the recovery log: `nativePlace`) and by its records: elsewhere the first line that carries a
 * record's checksum field (even one that no longer matches), or that looks like the start of a
 * record, decides for native; a first line that parses as JSON without one decides for foreign.
 * Undecided content (empty, all garbage) counts as native inside a store and foreign outside one.
 */
export function detectFormat(head: Buffer, insideStore: boolean, nativePlace = false): LedgerFormat {
  if (nativePlace) return 'ledgerlock';
  let start = 0;
  while (start < head.length) {
    let end = head.indexOf(0x0a, start);
    if (end < 0) end = head.length;
    const line = head.subarray(start, end);
    if (!isBlankLine(line)) {
      const complete = end < head.length;
      // A complete JSON line without a checksum is foreign even if it has "id" and "ts" fields.
      if (complete && (decodeRecord(line).ok || hasChecksumField(line))) return 'ledgerlock';
      if (complete && decodeForeignLine(line).ok) return 'foreign';
      if (looksNative(line)) return 'ledgerlock';
    }
    start = end + 1;
  }
  return head.length === 0 || insideStore ? 'ledgerlock' : 'foreign';
}

/** A line ending the way a native record does (`,"crc":"<8 hex>"}`), whether or not the checksum still matches. */
function hasChecksumField(line: Uint8Array): boolean {
  const end = Buffer.from(line.buffer, line.byteOffset + Math.max(0, line.length - 24), Math.min(line.length, 24)).toString('latin1');
  return /,"crc":"[0-9a-f]{8}"\}\r?$/.test(end);
}

export function refuseForeign(path: string, action: string): never {
  throw new LedgerlockError(
    ErrorCode.ForeignLedgerReadOnly,
    `${path} is a foreign JSONL ledger (written by another tool); Ledgerlock reads it but does not ${action} it`,
    { path, action },
  );
}

/**
 * The profile of a foreign ledger: the one asked for, else the one its first record (in the
 * head read at open) is recognised by; a file whose head holds no JSON line is generic JSONL.
 */
export function firstRecordProfile(head: Buffer, file: string, asked: JsonlProfileId | undefined): JsonlProfile {
  if (asked !== undefined) {
    const profile = jsonlProfileById(asked);
    if (profile === undefined) {
      throw new LedgerlockError(ErrorCode.BadOption, `option profile must be one of ${JSONL_PROFILE_IDS.join(', ')}, got ${JSON.stringify(asked)}`, {
        option: 'profile',
      });
    }
    return profile;
  }
  let start = 0;
  while (start < head.length) {
    const end = head.indexOf(0x0a, start);
    if (end < 0) break;
    const line = head.subarray(start, end);
    start = end + 1;
    if (isBlankLine(line)) continue;
    const parsed = parseJson(line);
    if (parsed.ok && parsed.value !== null && typeof parsed.value === 'object') return recogniseProfile(parsed.value, file);
  }
  return genericProfile;
}

/** What a ledger context carries of its foreign profile (set by `openLedger`). */
export interface ProfileHolder {
  profile?: JsonlProfile | undefined;
}

export function profileOf(ctx: object): JsonlProfile {
  return (ctx as ProfileHolder).profile ?? genericProfile;
}

function parseJson(bytes: Uint8Array): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(strictUtf8.decode(bytes)) };
  } catch {
    return { ok: false };
  }
}

/** The parsed value when `bytes` is one whole record of the tool. */
function recordIn(bytes: Uint8Array, profile: JsonlProfile): { value: unknown } | undefined {
  if (bytes.length === 0 || bytes[0] !== 0x7b) return undefined;
  const parsed = parseJson(bytes);
  return parsed.ok && profile.notARecord(parsed.value) === undefined ? { value: parsed.value } : undefined;
}

/** How many candidate starts of a glued record are tried in one line: enough for any real line, bounded for a hostile one. */
const MAX_GLUE_CANDIDATES = 64;

function foreignEvent(raw: RawLine, value: unknown, profile: JsonlProfile): LedgerEvent {
  return {
    id: raw.line,
    ts: profile.time(value),
    type: profile.kind(value),
    data: value,
    offset: raw.offset,
    length: raw.length,
    line: raw.line,
    summary: profile.summary(value),
  };
}

function zeroRuns(bytes: Uint8Array): { lead: number; trail: number } {
  let lead = 0;
  while (lead < bytes.length && bytes[lead] === 0) lead++;
  let trail = 0;
  while (trail < bytes.length - lead && bytes[bytes.length - 1 - trail] === 0) trail++;
  return { lead, trail };
}

/**
 * A complete terminated foreign line that is not one record as it stands: what of it can be given
 * back. Zero bytes from a crash beside a whole record; a torn record with the next complete record
 * glued onto it (only when the glued part is a record of the tool); two whole records on one line.
 * Undefined: the line is damaged and nothing in it is known to be a record.
 */
function salvageLine(raw: RawLine, profile: JsonlProfile): LedgerProblem | undefined {
  const bytes = raw.bytes!;
  const at = { offset: raw.offset, length: raw.length, line: raw.line };
  const { lead, trail } = zeroRuns(bytes);
  const body = bytes.subarray(lead, bytes.length - trail);
  const zeroCuts = [
    ...(lead > 0 ? [{ offset: raw.offset, length: lead }] : []),
    ...(trail > 0 ? [{ offset: raw.offset + bytes.length - trail, length: trail }] : []),
  ];
  const whole = lead + trail > 0 ? recordIn(body, profile) : undefined;
  if (whole !== undefined) {
    const salvage: LineSalvage = { cut: zeroCuts, kept: [{ offset: raw.offset + lead, length: body.length, summary: profile.summary(whole.value) }] };
    return {
      kind: 'zero-filled',
      code: ErrorCode.LedgerCorrupt,
      ...at,
      salvage,
      message: `line ${raw.line}: ${lead + trail} zero-filled bytes from a crash (at offset ${zeroCuts[0]!.offset}) beside a complete ${profile.tool} record (${salvage.kept[0]!.summary}); repair keeps the record and moves the zero bytes to quarantine`,
    };
  }
  let tried = 0;
  for (let p = 1; p < body.length && tried < MAX_GLUE_CANDIDATES; p++) {
    const start = nextStart(body, p, profile);
    if (start < 0) break;
    p = start;
    tried++;
    const glued = recordIn(body.subarray(p), profile);
    if (glued === undefined) continue;
    const gluedRange = { offset: raw.offset + lead + p, length: body.length - p, summary: profile.summary(glued.value) };
    const first = recordIn(body.subarray(0, p), profile);
    if (first !== undefined) {
      return {
        kind: 'glued-record',
        code: ErrorCode.LedgerCorrupt,
        ...at,
        salvage: { cut: zeroCuts, kept: [{ offset: raw.offset + lead, length: p, summary: profile.summary(first.value) }, gluedRange] },
        message: `line ${raw.line}: two complete ${profile.tool} records with no newline between them (the second at offset ${gluedRange.offset}: ${gluedRange.summary}); repair puts each on its own line`,
      };
    }
    const torn = { offset: raw.offset, length: lead + p };
    return {
      kind: 'glued-record',
      code: ErrorCode.LedgerCorrupt,
      ...at,
      salvage: { cut: [torn, ...(trail > 0 ? [zeroCuts[zeroCuts.length - 1]!] : [])], kept: [gluedRange] },
      message: `line ${raw.line}: a torn ${profile.tool} record (${torn.length} bytes at offset ${torn.offset}, cut short by a kill or crash) with the next complete record glued onto it (${gluedRange.summary}); repair keeps the glued record in place and moves only the torn bytes to quarantine`,
    };
  }
  return undefined;
}

/** The next position at or after `from` where a record of the profile can begin, or -1. */
function nextStart(body: Uint8Array, from: number, profile: JsonlProfile): number {
  const buf = Buffer.from(body.buffer, body.byteOffset, body.length);
  let best = -1;
  for (const start of profile.recordStarts) {
    const at = buf.indexOf(start, from);
    if (at >= 0 && (best < 0 || at < best)) best = at;
  }
  return best;
}

function isZeroFilled(bytes: Uint8Array): boolean {
  if (bytes.length === 0) return false;
  for (const b of bytes) if (b !== 0) return false;
  return true;
}

export type ForeignSeen =
  { event: LedgerEvent; problem?: undefined } | { event?: undefined; problem: LedgerProblem } | { event?: undefined; problem?: undefined };

/** One foreign line by its tool's rules (duplicates need the whole file: `ForeignWalk`). */
export function interpretForeign(raw: RawLine, profile: JsonlProfile): ForeignSeen {
  const at = { offset: raw.offset, length: raw.length, line: raw.line };
  const bytes = raw.bytes!;
  if (!raw.terminated) {
    const whole = recordIn(bytes, profile);
    if (whole !== undefined) {
      const summary = profile.summary(whole.value);
      return {
        problem: {
          kind: 'missing-newline',
          code: ErrorCode.LedgerTorn,
          ...at,
          salvage: { cut: [], kept: [{ offset: raw.offset, length: raw.length, summary }] },
          message: `the file ends with a complete ${profile.tool} record whose newline never reached the disk (line ${raw.line}: ${summary}); repair adds the newline`,
        },
      };
    }
    const what = isZeroFilled(bytes) ? 'zero-filled bytes from a crash' : `an incomplete ${profile.tool} record`;
    return {
      problem: {
        kind: 'torn-tail',
        code: ErrorCode.LedgerTorn,
        ...at,
        message: `the file ends with ${what} (${raw.length} bytes at offset ${raw.offset}, no newline)`,
      },
    };
  }
  if (isZeroFilled(bytes)) {
    return {
      problem: {
        kind: 'zero-filled',
        code: ErrorCode.LedgerCorrupt,
        ...at,
        salvage: { cut: [{ offset: raw.offset, length: bytes.length }], kept: [] },
        message: `line ${raw.line}: ${bytes.length} zero-filled bytes from a crash at offset ${raw.offset} (the file's size reached the disk, its data did not); nothing of value in them, repair moves them to quarantine`,
      },
    };
  }
  if (isBlankLine(bytes)) return {};
  const parsed = decodeForeignLine(bytes);
  if (parsed.ok) {
    const why = profile.notARecord(parsed.value.data);
    if (why === undefined) return { event: foreignEvent(raw, parsed.value.data, profile) };
    return {
      problem: {
        kind: 'not-a-record',
        code: ErrorCode.LedgerCorrupt,
        ...at,
        message: `line ${raw.line} is valid JSON but not a ${profile.tool} record: ${why}`,
      },
    };
  }
  const salvaged = salvageLine(raw, profile);
  if (salvaged !== undefined) return { problem: salvaged };
  return { problem: { kind: parsed.kind, code: parsed.code, ...at, message: `line ${raw.line}: ${parsed.message}` } };
}

/** How many record identities a walk remembers for duplicate checks (a few dozen MB at most). */
const MAX_KEYS = 2_000_000;

/**
 * A forward walk over a foreign ledger's lines: each line by the tool's rules, and a record whose
 * identity an earlier line already carried (a retried append) reported as a duplicate.
 */
export class ForeignWalk {
  private readonly keys = new Map<string, { line: number; crc: number }>();

  constructor(readonly profile: JsonlProfile) {}

  see(raw: RawLine): ForeignSeen {
    const seen = interpretForeign(raw, this.profile);
    if (!seen.event) return seen;
    const key = this.profile.key(seen.event.data);
    if (key === undefined) return seen;
    const crc = crc32(raw.bytes!);
    const before = this.keys.get(key);
    if (before === undefined) {
      if (this.keys.size < MAX_KEYS) this.keys.set(key, { line: raw.line, crc });
      return seen;
    }
    const same = before.crc === crc ? 'byte for byte' : 'with different content';
    return {
      problem: {
        kind: 'duplicate-record',
        code: ErrorCode.LedgerCorrupt,
        offset: raw.offset,
        length: raw.length,
        line: raw.line,
        message: `line ${raw.line} repeats the ${this.profile.tool} record of line ${before.line} (same id ${key}, ${same}): an append that was retried; not counted again`,
      },
    };
  }
}
