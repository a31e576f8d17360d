/**
 * What a replicated stream's Raft log holds, and the seam between a Stream
 * and its replica. Entries are one op byte then the op's body:
 *
 * - a message (binary, the hot path): flags, sequence and timestamp chosen
 *   by the leader, subject, header and payload. Every member stores it at
 *   that sequence with that timestamp, so replicas are identical and a
 *   replay after a restart is recognised by its sequence;
 * - a purge or a message delete (JSON, API rate): absolute bounds, so a
 *   replayed entry does what it did the first time.
 *
 * Catch-up batches (stream-catchup.ts) carry messages in the same layout.
 */

export const OP_MSG = 1;
export const OP_PURGE = 2;
export const OP_DELETE = 3;

/** The sequence is used, nothing is kept (interest retention with no interest). */
export const FLAG_SKIP = 1;
/** A mirror's message at its origin's sequence: no dedupe, no rollup, gaps allowed. */
export const FLAG_MIRROR = 2;

/** op, flags, seq (f64), ts (f64), subject length (u16), header length (i32, -1 for none), payload length (u32). */
const MSG_HEAD = 1 + 1 + 8 + 8 + 2 + 4 + 4;

export interface MsgEntry {
  readonly flags: number;
  readonly seq: number;
  /** Milliseconds since the epoch with the sub-millisecond fraction stores keep. */
  readonly ts: number;
  readonly subject: string;
  readonly hdr: Buffer | null;
  readonly data: Buffer;
}

/** A purge as proposed: the store's own purge options, valid when the stream's last sequence is `last`. */
export interface PurgeEntry {
  /** The stream's last sequence when the purge was proposed: a later last sequence means the purge already ran (a replay). */
  readonly last: number;
  readonly subject?: string;
  readonly seq?: number;
  readonly keep?: number;
}

export interface DeleteEntry {
  readonly seq: number;
  readonly erase: boolean;
}

export function msgEntrySize(subject: string, hdr: Buffer | null, data: Buffer): number {
  return MSG_HEAD + Buffer.byteLength(subject) + (hdr === null ? 0 : hdr.length) + data.length;
}

/** Writes a message entry into `out` at `at`; returns the offset after it. */
export function writeMsgEntry(out: Buffer, at: number, flags: number, seq: number, ts: number, subject: string, hdr: Buffer | null, data: Buffer): number {
  out[at] = OP_MSG;
  out[at + 1] = flags;
  out.writeDoubleLE(seq, at + 2);
  out.writeDoubleLE(ts, at + 10);
  const subjLen = out.write(subject, at + MSG_HEAD, 'utf8');
  out.writeUInt16LE(subjLen, at + 18);
  out.writeInt32LE(hdr === null ? -1 : hdr.length, at + 20);
  out.writeUInt32LE(data.length, at + 24);
  let p = at + MSG_HEAD + subjLen;
  if (hdr !== null) p += hdr.copy(out, p);
  return p + data.copy(out, p);
}

export function encodeMsgEntry(flags: number, seq: number, ts: number, subject: string, hdr: Buffer | null, data: Buffer): Buffer {
  const out = Buffer.allocUnsafe(msgEntrySize(subject, hdr, data));
  writeMsgEntry(out, 0, flags, seq, ts, subject, hdr, data);
  return out;
}

/** Reads a message entry at `at` (its op byte); null when it is cut short. The buffers are views of `buf`. */
export function readMsgEntry(buf: Buffer, at: number): { entry: MsgEntry; end: number } | null {
  if (buf.length < at + MSG_HEAD || buf[at] !== OP_MSG) return null;
  const subjLen = buf.readUInt16LE(at + 18);
  const hdrLen = buf.readInt32LE(at + 20);
  const dataLen = buf.readUInt32LE(at + 24);
  const subjAt = at + MSG_HEAD;
  const hdrAt = subjAt + subjLen;
  const dataAt = hdrAt + (hdrLen > 0 ? hdrLen : 0);
  const end = dataAt + dataLen;
  if (end > buf.length) return null;
  return {
    entry: {
      flags: buf[at + 1],
      seq: buf.readDoubleLE(at + 2),
      ts: buf.readDoubleLE(at + 10),
      subject: buf.toString('utf8', subjAt, hdrAt),
      hdr: hdrLen < 0 ? null : buf.subarray(hdrAt, dataAt),
      data: buf.subarray(dataAt, end),
    },
    end,
  };
}

export function encodePurgeEntry(p: PurgeEntry): Buffer {
  return Buffer.concat([Buffer.of(OP_PURGE), Buffer.from(JSON.stringify(p))]);
}

export function encodeDeleteEntry(d: DeleteEntry): Buffer {
  return Buffer.concat([Buffer.of(OP_DELETE), Buffer.from(JSON.stringify(d))]);
}

/** The JSON body of a purge or delete entry; null when it does not parse. */
export function readJsonEntry<T>(buf: Buffer): T | null {
  try {
    const v: unknown = JSON.parse(buf.toString('utf8', 1));
    return typeof v === 'object' && v !== null ? (v as T) : null;
  } catch {
    return null;
  }
}

/**
 * What a replicated Stream asks of its replica (stream-replica.ts): the
 * Stream runs the checks and builds entries, the replica owns the Raft node.
 */
export interface StreamProposer {
  /** This server leads the group and has applied its whole log: it takes publishes. */
  readonly active: boolean;
  /** Proposes a message entry; `reply` gets the PubAck once it is applied here. False when this server no longer leads. */
  proposeMsg(entry: Buffer, reply: string | null): boolean;
  /** Proposes a purge or delete entry; resolves with what applying it returned, or null when leadership was lost first. */
  proposeOp(entry: Buffer): Promise<number | boolean | null>;
}
