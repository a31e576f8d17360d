/**
 * Binary wire format of Raft messages, little-endian. One tag byte names the
 * message; numbers (terms, indexes) are unsigned 64-bit (kept within
 * Number.MAX_SAFE_INTEGER), peer ids are u16-length UTF-8, data is
 * u32-length bytes. Decoding checks every length against the buffer and
 * returns null for anything malformed: a peer's bytes are untrusted.
 */
import type { EntryKind, LogEntry, PeerId, RaftMessage, Snapshot } from './types.js';

const TAG_VOTE = 1;
const TAG_VOTE_RESPONSE = 2;
const TAG_APPEND = 3;
const TAG_APPEND_RESPONSE = 4;
const TAG_SNAPSHOT = 5;
const TAG_TIMEOUT_NOW = 6;

const FLAG_PRE_VOTE = 1;
const FLAG_TRANSFER = 2;
const FLAG_GRANTED = 4;
const FLAG_SUCCESS = 8;

const KIND_CODES: Record<EntryKind, number> = { normal: 0, noop: 1, peers: 2 };
const KINDS: readonly EntryKind[] = ['normal', 'noop', 'peers'];

const TWO_32 = 0x1_0000_0000;
/** High word of Number.MAX_SAFE_INTEGER: anything above cannot be a term or index. */
const MAX_SAFE_HIGH = 0x1f_ffff;
const MAX_PEER_ID_BYTES = 0xffff;

/** u64 + u64 + u8 + u32: what an entry costs on the wire besides its data. */
export const ENTRY_OVERHEAD_BYTES = 21;

class Writer {
  readonly buf: Buffer;
  pos = 0;
  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }
  u8(value: number): void {
    this.buf[this.pos++] = value;
  }
  u16(value: number): void {
    this.buf.writeUInt16LE(value, this.pos);
    this.pos += 2;
  }
  u32(value: number): void {
    this.buf.writeUInt32LE(value, this.pos);
    this.pos += 4;
  }
  u64(value: number): void {
    this.buf.writeUInt32LE(value % TWO_32 >>> 0, this.pos);
    this.buf.writeUInt32LE(Math.floor(value / TWO_32), this.pos + 4);
    this.pos += 8;
  }
  bytes(data: Buffer): void {
    this.u32(data.length);
    data.copy(this.buf, this.pos);
    this.pos += data.length;
  }
  peer(id: PeerId): void {
    const len = this.buf.write(id, this.pos + 2, 'utf8');
    this.u16(len);
    this.pos += len;
  }
}

/** Thrown only inside decodeRaftMessage, turned into null there. */
class Malformed extends Error {}

class Reader {
  pos = 0;
  constructor(readonly buf: Buffer) {}
  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new Malformed();
  }
  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }
  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16LE(this.pos);
    this.pos += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  u64(): number {
    this.need(8);
    const low = this.buf.readUInt32LE(this.pos);
    const high = this.buf.readUInt32LE(this.pos + 4);
    this.pos += 8;
    if (high > MAX_SAFE_HIGH) throw new Malformed();
    return high * TWO_32 + low;
  }
  /** A copy, so a retained entry does not pin the whole received buffer. */
  bytes(): Buffer {
    const len = this.u32();
    this.need(len);
    const out = Buffer.from(this.buf.subarray(this.pos, this.pos + len));
    this.pos += len;
    return out;
  }
  peer(): PeerId {
    const len = this.u16();
    this.need(len);
    const id = this.buf.toString('utf8', this.pos, this.pos + len);
    this.pos += len;
    return id;
  }
  end(): void {
    if (this.pos !== this.buf.length) throw new Malformed();
  }
}

function peerBytes(id: PeerId): number {
  const len = Buffer.byteLength(id, 'utf8');
  if (len > MAX_PEER_ID_BYTES) throw new RangeError(`peer id longer than ${MAX_PEER_ID_BYTES} bytes`);
  return 2 + len;
}

function encodedSize(msg: RaftMessage): number {
  switch (msg.type) {
    case 'vote':
      return 1 + 1 + 8 + 8 + 8 + peerBytes(msg.candidate);
    case 'vote-response':
      return 1 + 1 + 8;
    case 'append': {
      let size = 1 + 8 + 8 + 8 + 8 + 4 + peerBytes(msg.leader);
      for (const e of msg.entries) size += ENTRY_OVERHEAD_BYTES + e.data.length;
      return size;
    }
    case 'append-response':
      return 1 + 1 + 8 + 8;
    case 'snapshot': {
      let size = 1 + 8 + peerBytes(msg.leader) + 8 + 8 + 2 + 4 + msg.snapshot.data.length;
      for (const p of msg.snapshot.meta.peers) size += peerBytes(p);
      return size;
    }
    case 'timeout-now':
      return 1 + 8;
  }
}

export function encodeRaftMessage(msg: RaftMessage): Buffer {
  const w = new Writer(encodedSize(msg));
  switch (msg.type) {
    case 'vote':
      w.u8(TAG_VOTE);
      w.u8((msg.preVote ? FLAG_PRE_VOTE : 0) | (msg.transfer ? FLAG_TRANSFER : 0));
      w.u64(msg.term);
      w.u64(msg.lastIndex);
      w.u64(msg.lastTerm);
      w.peer(msg.candidate);
      break;
    case 'vote-response':
      w.u8(TAG_VOTE_RESPONSE);
      w.u8((msg.preVote ? FLAG_PRE_VOTE : 0) | (msg.granted ? FLAG_GRANTED : 0));
      w.u64(msg.term);
      break;
    case 'append':
      w.u8(TAG_APPEND);
      w.u64(msg.term);
      w.u64(msg.prevIndex);
      w.u64(msg.prevTerm);
      w.u64(msg.commit);
      w.peer(msg.leader);
      w.u32(msg.entries.length);
      for (const e of msg.entries) {
        w.u64(e.index);
        w.u64(e.term);
        w.u8(KIND_CODES[e.kind]);
        w.bytes(e.data);
      }
      break;
    case 'append-response':
      w.u8(TAG_APPEND_RESPONSE);
      w.u8(msg.success ? FLAG_SUCCESS : 0);
      w.u64(msg.term);
      w.u64(msg.index);
      break;
    case 'snapshot': {
      const { meta, data } = msg.snapshot;
      w.u8(TAG_SNAPSHOT);
      w.u64(msg.term);
      w.peer(msg.leader);
      w.u64(meta.lastIndex);
      w.u64(meta.lastTerm);
      w.u16(meta.peers.length);
      for (const p of meta.peers) w.peer(p);
      w.bytes(data);
      break;
    }
    case 'timeout-now':
      w.u8(TAG_TIMEOUT_NOW);
      w.u64(msg.term);
      break;
  }
  return w.buf;
}

function decodeOrThrow(r: Reader): RaftMessage {
  const tag = r.u8();
  switch (tag) {
    case TAG_VOTE: {
      const flags = r.u8();
      const term = r.u64();
      const lastIndex = r.u64();
      const lastTerm = r.u64();
      const candidate = r.peer();
      return {
        type: 'vote', term, candidate, lastIndex, lastTerm,
        preVote: (flags & FLAG_PRE_VOTE) !== 0, transfer: (flags & FLAG_TRANSFER) !== 0,
      };
    }
    case TAG_VOTE_RESPONSE: {
      const flags = r.u8();
      const term = r.u64();
      return { type: 'vote-response', term, granted: (flags & FLAG_GRANTED) !== 0, preVote: (flags & FLAG_PRE_VOTE) !== 0 };
    }
    case TAG_APPEND: {
      const term = r.u64();
      const prevIndex = r.u64();
      const prevTerm = r.u64();
      const commit = r.u64();
      const leader = r.peer();
      const count = r.u32();
      // Each entry takes at least ENTRY_OVERHEAD_BYTES: a bogus count fails here, before allocating.
      if (count * ENTRY_OVERHEAD_BYTES > r.buf.length - r.pos) throw new Malformed();
      const entries: LogEntry[] = new Array<LogEntry>(count);
      for (let i = 0; i < count; i++) {
        const index = r.u64();
        const entryTerm = r.u64();
        const kind = KINDS[r.u8()];
        if (kind === undefined || index !== prevIndex + 1 + i) throw new Malformed();
        entries[i] = { index, term: entryTerm, kind, data: r.bytes() };
      }
      return { type: 'append', term, leader, prevIndex, prevTerm, entries, commit };
    }
    case TAG_APPEND_RESPONSE: {
      const flags = r.u8();
      const term = r.u64();
      const index = r.u64();
      return { type: 'append-response', term, success: (flags & FLAG_SUCCESS) !== 0, index };
    }
    case TAG_SNAPSHOT: {
      const term = r.u64();
      const leader = r.peer();
      const lastIndex = r.u64();
      const lastTerm = r.u64();
      const peerCount = r.u16();
      const peers: PeerId[] = [];
      for (let i = 0; i < peerCount; i++) peers.push(r.peer());
      const snapshot: Snapshot = { meta: { lastIndex, lastTerm, peers }, data: r.bytes() };
      return { type: 'snapshot', term, leader, snapshot };
    }
    case TAG_TIMEOUT_NOW:
      return { type: 'timeout-now', term: r.u64() };
    default:
      throw new Malformed();
  }
}

/** The message in `buf`, or null when it is not one well-formed message. Never throws. */
export function decodeRaftMessage(buf: Buffer): RaftMessage | null {
  try {
    const r = new Reader(buf);
    const msg = decodeOrThrow(r);
    r.end();
    return msg;
  } catch {
    return null;
  }
}
