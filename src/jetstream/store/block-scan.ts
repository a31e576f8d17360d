import { decodeRecordHead, type RecordFault, type RecordHead } from './record-codec.js';

export interface ScanFault {
  offset: number;
  fault: RecordFault;
  /**
   * True when the bad bytes are the end of the file: a record cut short, a
   * last record failing its checksum, or zeros a crash left behind. Such a
   * tail is an interrupted append and is cut off; anything else is corruption.
   */
  tail: boolean;
}

/**
 * Walks the records of one block's bytes in order, stopping at the first one
 * that cannot be trusted. Returns where the valid prefix ends and why.
 */
export function scanBlock(buf: Buffer, visit: (rec: RecordHead, offset: number) => void): ScanFault | null {
  let off = 0;
  while (off < buf.length) {
    const rec = decodeRecordHead(buf, off);
    if (typeof rec === 'string') return { offset: off, fault: rec, tail: isTail(buf, off, rec) };
    visit(rec, off);
    off += rec.length;
  }
  return null;
}

function isTail(buf: Buffer, off: number, fault: RecordFault): boolean {
  if (fault === 'short') return true;
  if (buf.length - off >= 4 && off + buf.readUInt32LE(off) === buf.length) return true;
  for (let i = off; i < buf.length; i++) if (buf[i] !== 0) return false;
  return true;
}
