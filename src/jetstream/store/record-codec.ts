import { crc32 } from 'node:zlib';
import type { StoredMessage } from './types.js';

/**
 * The block file record. Little-endian:
 *
 *   0  u32  record length (this field through the checksum)
 *   4  u8   type (RecordType)
 *   5  u8   flags (bit 0: the message has a header block, possibly empty)
 *   6  u16  subject length
 *   8  f64  sequence (integers are exact up to 2^53)
 *  16  f64  timestamp, ms since the epoch with sub-ms fraction
 *  24  u32  header length
 *  28  subject (latin1, as the parser decoded it), header, payload
 *  end-4 u32 CRC-32 of every byte before it
 *
 * A record is trusted only when its length fits the file and the checksum
 * matches; anything else is a torn write or corruption.
 */
export const RecordType = {
  /** A message. */
  Msg: 1,
  /** The message `seq` was removed. */
  Delete: 2,
  /** `seq` was consumed without a message. */
  Skip: 3,
  /** Every sequence below `seq` is gone (purge, compact, removal of the first message). */
  Floor: 4,
  /** First record of every block: `seq` is the last sequence when the block began. */
  Base: 5,
  /** A message overwritten in place by a secure erase; counts as removed. */
  Erased: 6,
} as const;
export type RecordType = (typeof RecordType)[keyof typeof RecordType];

/** Bytes of a record besides subject, header and payload. */
export const RECORD_OVERHEAD = 32;
/** Where the subject starts in a record. */
export const RECORD_BODY_OFFSET = 28;
const FLAG_HDR = 1;
const MAX_SUBJECT = 0xffff;

/** A record's fields without its header and payload bytes (what recovery needs). */
export interface RecordHead {
  type: RecordType;
  seq: number;
  ts: number;
  subject: string;
  /** -1 when the message has no header block. */
  hdrLen: number;
  dataLen: number;
  length: number;
}

export function encodeMsgRecord(seq: number, ts: number, subject: string, hdr: Buffer | null, data: Buffer): Buffer {
  const subjectLen = Buffer.byteLength(subject, 'latin1');
  if (subjectLen > MAX_SUBJECT) throw new RangeError('subject too long for the file store');
  const hdrLen = hdr === null ? 0 : hdr.length;
  const len = RECORD_OVERHEAD + subjectLen + hdrLen + data.length;
  const buf = Buffer.allocUnsafe(len);
  writeHead(buf, len, RecordType.Msg, hdr === null ? 0 : FLAG_HDR, subjectLen, seq, ts, hdrLen);
  buf.write(subject, RECORD_BODY_OFFSET, subjectLen, 'latin1');
  if (hdr !== null) hdr.copy(buf, RECORD_BODY_OFFSET + subjectLen);
  data.copy(buf, RECORD_BODY_OFFSET + subjectLen + hdrLen);
  buf.writeUInt32LE(crc32(buf.subarray(0, len - 4)), len - 4);
  return buf;
}

/** Delete, Skip, Floor and Base records carry only a sequence. */
export function encodeMarkRecord(type: RecordType, seq: number): Buffer {
  const buf = Buffer.allocUnsafe(RECORD_OVERHEAD);
  writeHead(buf, RECORD_OVERHEAD, type, 0, 0, seq, 0, 0);
  buf.writeUInt32LE(crc32(buf.subarray(0, RECORD_OVERHEAD - 4)), RECORD_OVERHEAD - 4);
  return buf;
}

/** The same-length replacement for a message record: zeroed content, type Erased. */
export function encodeErasedRecord(seq: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  writeHead(buf, length, RecordType.Erased, 0, 0, seq, 0, 0);
  buf.writeUInt32LE(crc32(buf.subarray(0, length - 4)), length - 4);
  return buf;
}

/** Why a record at some offset could not be read. */
export type RecordFault = 'short' | 'length' | 'checksum';

/** Checks and decodes the record at `off` in `buf` except for its header and payload bytes. */
export function decodeRecordHead(buf: Buffer, off: number): RecordHead | RecordFault {
  if (buf.length - off < RECORD_OVERHEAD) return 'short';
  const len = buf.readUInt32LE(off);
  if (len < RECORD_OVERHEAD) return 'length';
  if (len > buf.length - off) return 'short';
  if (crc32(buf.subarray(off, off + len - 4)) !== buf.readUInt32LE(off + len - 4)) return 'checksum';
  const type = buf[off + 4] as RecordType;
  const subjectLen = buf.readUInt16LE(off + 6);
  const hdrLen = buf.readUInt32LE(off + 24);
  if (RECORD_OVERHEAD + subjectLen + hdrLen > len || type < RecordType.Msg || type > RecordType.Erased) return 'length';
  const body = off + RECORD_BODY_OFFSET;
  return {
    type,
    seq: buf.readDoubleLE(off + 8),
    ts: buf.readDoubleLE(off + 16),
    subject: subjectLen === 0 ? '' : buf.toString('latin1', body, body + subjectLen),
    hdrLen: buf[off + 5] & FLAG_HDR ? hdrLen : -1,
    dataLen: len - RECORD_OVERHEAD - subjectLen - hdrLen,
    length: len,
  };
}

/**
 * Reads the message record at `off` that the index says holds `seq` in
 * `length` bytes: checks length, type, sequence and checksum and returns the
 * message with views into `buf`, or null when the record cannot be trusted.
 * The subject is the index's (read from this same record), so a read makes
 * no string and no intermediate objects: this is the consumer delivery path.
 */
export function readIndexedMsg(buf: Buffer, off: number, seq: number, length: number, subject: string): StoredMessage | null {
  if (length < RECORD_OVERHEAD || buf.length - off < length) return null;
  if (buf.readUInt32LE(off) !== length || buf[off + 4] !== RecordType.Msg || buf.readDoubleLE(off + 8) !== seq) return null;
  if (crc32(buf.subarray(off, off + length - 4)) !== buf.readUInt32LE(off + length - 4)) return null;
  const subjectLen = buf.readUInt16LE(off + 6);
  const hdrLen = buf.readUInt32LE(off + 24);
  if (RECORD_OVERHEAD + subjectLen + hdrLen > length) return null;
  const start = off + RECORD_BODY_OFFSET + subjectLen;
  return {
    seq,
    subject,
    hdr: buf[off + 5] & FLAG_HDR ? buf.subarray(start, start + hdrLen) : null,
    data: buf.subarray(start + hdrLen, off + length - 4),
    ts: buf.readDoubleLE(off + 16),
  };
}

function writeHead(buf: Buffer, len: number, type: RecordType, flags: number, subjectLen: number,
  seq: number, ts: number, hdrLen: number): void {
  buf.writeUInt32LE(len, 0);
  buf[4] = type;
  buf[5] = flags;
  buf.writeUInt16LE(subjectLen, 6);
  buf.writeDoubleLE(seq, 8);
  buf.writeDoubleLE(ts, 16);
  buf.writeUInt32LE(hdrLen, 24);
}
