/**
 * One log entry as stored in a segment file, and the scan that reads a
 * segment back. Little-endian:
 *
 *   0  u32  record length (header and data)
 *   4  u32  CRC-32 of the data
 *   8  u64  index (as two u32: low, high; integers up to 2^53)
 *  16  u64  term  (same)
 *  24  u8   kind (1 normal, 2 noop, 3 peers)
 *  25  3 zero bytes
 *  28  u32  CRC-32 of bytes 0..28
 *  32  data
 *
 * The header has a checksum of its own so that a complete header claiming
 * more bytes than the file holds can be told apart: it is a record whose
 * write was cut short (a torn tail), where a damaged length field fails
 * the header checksum and is damage.
 */
import { crc32 } from 'node:zlib';
import type { EntryKind, LogEntry } from './types.js';

export const RECORD_HEADER_BYTES = 32;
const HEADER_CRC_AT = 28;
/** Larger records are refused on append and read as damage. */
export const MAX_RECORD_BYTES = 256 * 1024 * 1024;
const TWO_32 = 4294967296;
/** The high word of an integer above 2^53 would exceed this. */
const MAX_HIGH_WORD = 0x1fffff;

const KIND_CODES: Record<EntryKind, number> = { normal: 1, noop: 2, peers: 3 };
const KINDS: readonly (EntryKind | undefined)[] = [undefined, 'normal', 'noop', 'peers'];

export function isEntryKind(kind: unknown): kind is EntryKind {
  return typeof kind === 'string' && Object.hasOwn(KIND_CODES, kind);
}

function writeU53(buf: Buffer, n: number, at: number): void {
  buf.writeUInt32LE(n >>> 0, at);
  buf.writeUInt32LE(Math.floor(n / TWO_32), at + 4);
}

/** The number at `at`, or -1 when its high word puts it beyond exact integers. */
function readU53(buf: Buffer, at: number): number {
  const high = buf.readUInt32LE(at + 4);
  return high > MAX_HIGH_WORD ? -1 : high * TWO_32 + buf.readUInt32LE(at);
}

/** The bytes `entry` takes in a segment. */
export function recordBytes(entry: LogEntry): number {
  return RECORD_HEADER_BYTES + entry.data.length;
}

/** Writes the record for `entry` into `buf` at `at`; returns where the next record goes. */
export function encodeLogRecord(entry: LogEntry, buf: Buffer, at: number): number {
  const length = recordBytes(entry);
  buf.writeUInt32LE(length, at);
  buf.writeUInt32LE(crc32(entry.data), at + 4);
  writeU53(buf, entry.index, at + 8);
  writeU53(buf, entry.term, at + 16);
  buf.writeUInt32LE(KIND_CODES[entry.kind], at + 24);
  buf.writeUInt32LE(crc32(buf.subarray(at, at + HEADER_CRC_AT)), at + HEADER_CRC_AT);
  entry.data.copy(buf, at + RECORD_HEADER_BYTES);
  return at + length;
}

/**
 * How a scan ended: at the end of the file; at a torn tail (a partial last
 * record, or zeros a crash left past the last write), which is what an
 * interrupted write looks like; or at damage (bad checksum, impossible
 * field, an index out of sequence), which nothing but corruption explains.
 */
export type ScanStop = 'end' | 'torn' | 'damage';

export interface SegmentScan {
  /** The entries read, in order; their data are views into the scanned buffer. */
  readonly entries: LogEntry[];
  /** Where each entry's record starts. */
  readonly offsets: number[];
  /** Bytes of trusted records from the start: everything past it goes. */
  readonly end: number;
  readonly stop: ScanStop;
  /** What was found at `end` when the scan did not reach the end of the file. */
  readonly problem: string;
}

function allZero(buf: Buffer, from: number): boolean {
  for (let i = from; i < buf.length; i++) if (buf[i] !== 0) return false;
  return true;
}

/**
 * Reads the records of one segment. `firstIndex` is the index the first
 * record must carry (from the file name), `minTerm` the term it must not go
 * below. A tail that ends mid-record is torn only in the log's last segment:
 * anywhere else it is a cut file, i.e. damage.
 */
export function scanSegment(buf: Buffer, firstIndex: number, minTerm: number, lastSegment: boolean): SegmentScan {
  const entries: LogEntry[] = [];
  const offsets: number[] = [];
  let at = 0;
  let index = firstIndex;
  let term = minTerm;
  const stopAt = (stop: ScanStop, problem: string): SegmentScan => ({ entries, offsets, end: at, stop, problem });
  const tornOrDamage = (problem: string): SegmentScan => stopAt(lastSegment ? 'torn' : 'damage', problem);
  while (at < buf.length) {
    const left = buf.length - at;
    if (lastSegment && allZero(buf, at)) return stopAt('torn', `${left} zero bytes past the last record`);
    if (left < RECORD_HEADER_BYTES) return tornOrDamage(`a partial record header (${left} bytes)`);
    if (crc32(buf.subarray(at, at + HEADER_CRC_AT)) !== buf.readUInt32LE(at + HEADER_CRC_AT)) {
      return stopAt('damage', `a header checksum mismatch at entry ${index}`);
    }
    const length = buf.readUInt32LE(at);
    if (length < RECORD_HEADER_BYTES || length > MAX_RECORD_BYTES) return stopAt('damage', `an impossible record length ${length}`);
    if (length > left) return tornOrDamage(`a record of ${length} bytes with ${left} left in the file`);
    if (crc32(buf.subarray(at + RECORD_HEADER_BYTES, at + length)) !== buf.readUInt32LE(at + 4)) {
      return stopAt('damage', `a data checksum mismatch at entry ${index}`);
    }
    const recIndex = readU53(buf, at + 8);
    const recTerm = readU53(buf, at + 16);
    const kind = KINDS[buf[at + 24]];
    if (recIndex !== index) return stopAt('damage', `entry ${recIndex} where ${index} was expected`);
    if (recTerm < term) return stopAt('damage', `entry ${index} with term ${recTerm} below ${term}`);
    if (kind === undefined || buf[at + 25] !== 0 || buf.readUInt16LE(at + 26) !== 0) {
      return stopAt('damage', `entry ${index} with an unknown kind`);
    }
    entries.push({ index, term: recTerm, kind, data: buf.subarray(at + RECORD_HEADER_BYTES, at + length) });
    offsets.push(at);
    term = recTerm;
    index++;
    at += length;
  }
  return stopAt('end', '');
}
