/**
 * A replicated consumer's state machine without the Raft around it: the
 * entries its group's leader proposes (a batch of delivery and ack changes
 * per event-loop turn, or the leader's "caught up" marker), the state every
 * member builds by applying them in log order, and its snapshot encoding.
 *
 * Changes, not whole states, are replicated: a turn of a busy pull consumer
 * touches a few hundred messages out of possibly thousands pending, and a
 * change costs the same to write whatever the backlog. The floor rules are
 * the consumer's own (consumer.ts `removePending`/`advanceFloor`), so a
 * follower's state is what the leader had after the same changes.
 *
 * Numbers are float64 little-endian: sequences and millisecond times are
 * integers below 2^53, and writing them needs no varint loop.
 */
import type { ConsumerState } from '../store/types.js';

/** What an entry is (its first byte). */
const ENTRY_OPS = 1;
const ENTRY_LEADER = 2;

const OP_DELIVERED = 1;
const OP_ACK = 2;
const OP_ACK_ALL = 3;
const OP_TERM = 4;
const OP_MAX_DELIVERED = 5;
const OP_PROGRESS = 6;
const OP_START = 7;
/** One of last_per_subject's sequences, following OP_START. */
const OP_LPS = 8;

const SNAPSHOT_VERSION = 1;
const INITIAL_BATCH_BYTES = 4096;

/** The changes of one turn on the leader, encoded as they are reported. */
export class ConsumerOpBatch {
  private buf = Buffer.allocUnsafe(INITIAL_BATCH_BYTES);
  private len = 1;

  constructor() {
    this.buf[0] = ENTRY_OPS;
  }

  get empty(): boolean {
    return this.len === 1;
  }

  /** The entry holding everything reported since the last take; the batch starts over. */
  take(): Buffer {
    const out = Buffer.from(this.buf.subarray(0, this.len));
    this.len = 1;
    return out;
  }

  clear(): void {
    this.len = 1;
  }

  private add(op: number, a: number, b = 0, c = 0, d = 0, fields = 1): void {
    const need = this.len + 1 + fields * 8;
    if (need > this.buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(need, this.buf.length * 2));
      this.buf.copy(bigger, 0, 0, this.len);
      this.buf = bigger;
    }
    let o = this.len;
    this.buf[o++] = op;
    o = this.buf.writeDoubleLE(a, o);
    if (fields > 1) o = this.buf.writeDoubleLE(b, o);
    if (fields > 2) o = this.buf.writeDoubleLE(c, o);
    if (fields > 3) o = this.buf.writeDoubleLE(d, o);
    this.len = o;
  }

  delivered(sseq: number, dseq: number, dc: number, ts: number): void {
    this.add(OP_DELIVERED, sseq, dseq, dc, ts, 4);
  }

  acked(sseq: number, dseq: number): void {
    this.add(OP_ACK, sseq, dseq, 0, 0, 2);
  }

  ackedAll(sseq: number, dseq: number): void {
    this.add(OP_ACK_ALL, sseq, dseq, 0, 0, 2);
  }

  terminated(sseq: number): void {
    this.add(OP_TERM, sseq);
  }

  maxDelivered(sseq: number): void {
    this.add(OP_MAX_DELIVERED, sseq);
  }

  progressed(sseq: number, ts: number): void {
    this.add(OP_PROGRESS, sseq, ts, 0, 0, 2);
  }

  /** `lastPerSubject`: last_per_subject's sequences to deliver before `sseq`. */
  started(sseq: number, lastPerSubject: readonly number[]): void {
    this.add(OP_START, sseq);
    for (const seq of lastPerSubject) this.add(OP_LPS, seq);
  }
}

/** The marker a new leader proposes: once it applies its own marker, it has applied everything before it. */
export function encodeLeaderMarker(term: number, peer: string): Buffer {
  const id = Buffer.from(peer);
  const out = Buffer.allocUnsafe(9 + id.length);
  out[0] = ENTRY_LEADER;
  out.writeDoubleLE(term, 1);
  id.copy(out, 9);
  return out;
}

export function decodeLeaderMarker(data: Buffer): { term: number; peer: string } | null {
  if (data.length < 9 || data[0] !== ENTRY_LEADER) return null;
  return { term: data.readDoubleLE(1), peer: data.toString('utf8', 9) };
}

export function isOpsEntry(data: Buffer): boolean {
  return data.length > 0 && data[0] === ENTRY_OPS;
}

/** The state every member of a consumer's group holds: what the log says, applied in order. */
export class ReplicatedConsumerState {
  readonly state: ConsumerState = {
    delivered: { consumerSeq: 0, streamSeq: 0 },
    ackFloor: { consumerSeq: 0, streamSeq: 0 },
    pending: new Map(),
    redelivered: new Map(),
  };
  /** The first leader fixed the start position (a new consumer's state is empty until then). */
  started = false;
  /** last_per_subject: the sequences still to deliver before the stream continues at delivered + 1. */
  lastPerSubject: number[] = [];
  /** While applying the OP_LPS that follow an applied OP_START. */
  private lpsOpen = false;
  private readonly ackNone: () => boolean;

  /** `ackNone`: whether the consumer's ack policy is none (deliveries are acknowledged as they go). */
  constructor(ackNone: () => boolean) {
    this.ackNone = ackNone;
  }

  /**
   * Applies an ops entry. Stream sequences the consumer no longer needs
   * (acked, terminated, delivered under ack none) are pushed to `released`
   * for interest and workqueue retention. False at the first op that cannot
   * be read (the rest of the entry is skipped; only this code writes them).
   */
  apply(data: Buffer, released: number[]): boolean {
    if (!isOpsEntry(data)) return false;
    let o = 1;
    const end = data.length;
    while (o < end) {
      const op = data[o++];
      const need = op === OP_DELIVERED ? 32 : op === OP_ACK || op === OP_ACK_ALL || op === OP_PROGRESS ? 16 : 8;
      if (o + need > end) return false;
      const a = data.readDoubleLE(o);
      const b = need > 8 ? data.readDoubleLE(o + 8) : 0;
      switch (op) {
        case OP_DELIVERED:
          this.delivered(a, b, data.readDoubleLE(o + 16), data.readDoubleLE(o + 24), released);
          break;
        case OP_ACK:
          if (this.removePending(a)) released.push(a);
          break;
        case OP_ACK_ALL:
          this.ackAll(a, b, released);
          break;
        case OP_TERM:
          if (this.removePending(a)) released.push(a);
          break;
        case OP_MAX_DELIVERED:
          this.removePending(a);
          break;
        case OP_PROGRESS: {
          const p = this.state.pending.get(a);
          if (p !== undefined) p.ts = b;
          break;
        }
        case OP_START:
          // A second start (a leader whose first start was not applied yet when it was deposed) changes nothing.
          this.lpsOpen = !this.started;
          if (!this.started) {
            this.started = true;
            this.lastPerSubject = [];
            if (a - 1 > this.state.delivered.streamSeq) this.state.delivered.streamSeq = a - 1;
          }
          break;
        case OP_LPS:
          if (this.lpsOpen) this.lastPerSubject.push(a);
          break;
        default:
          return false;
      }
      o += need;
    }
    return true;
  }

  private delivered(sseq: number, dseq: number, dc: number, ts: number, released: number[]): void {
    const s = this.state;
    this.started = true;
    if (dc === 1 && this.lastPerSubject.length > 0 && this.lastPerSubject[0] === sseq) this.lastPerSubject.shift();
    if (dseq > s.delivered.consumerSeq) s.delivered.consumerSeq = dseq;
    if (dc === 1 && sseq > s.delivered.streamSeq) s.delivered.streamSeq = sseq;
    if (this.ackNone()) {
      s.ackFloor.consumerSeq = dseq;
      s.ackFloor.streamSeq = sseq;
      released.push(sseq);
      return;
    }
    // Already below the floor: acknowledged by an entry applied before (nothing to track).
    if (sseq <= s.ackFloor.streamSeq) return;
    const p = s.pending.get(sseq);
    if (p === undefined) s.pending.set(sseq, { consumerSeq: dseq, ts });
    else {
      p.consumerSeq = dseq;
      p.ts = ts;
    }
    if (dc > 1) s.redelivered.set(sseq, dc);
  }

  private ackAll(sseq: number, dseq: number, released: number[]): void {
    const s = this.state;
    if (dseq <= s.ackFloor.consumerSeq) return;
    for (const seq of s.pending.keys()) {
      if (seq > sseq) continue;
      s.pending.delete(seq);
      s.redelivered.delete(seq);
      released.push(seq);
    }
    s.ackFloor.consumerSeq = dseq;
    s.ackFloor.streamSeq = sseq;
    this.advanceFloor(sseq);
  }

  private removePending(sseq: number): boolean {
    const s = this.state;
    const p = s.pending.get(sseq);
    if (p === undefined) return false;
    s.pending.delete(sseq);
    s.redelivered.delete(sseq);
    if (s.pending.size === 0) {
      s.ackFloor.consumerSeq = s.delivered.consumerSeq;
      s.ackFloor.streamSeq = s.delivered.streamSeq;
    } else if (p.consumerSeq === s.ackFloor.consumerSeq + 1) {
      s.ackFloor.consumerSeq = p.consumerSeq;
      s.ackFloor.streamSeq = sseq;
      this.advanceFloor(sseq);
    }
    return true;
  }

  /** After the floor reached `sseq` it may move up to just below the oldest message still pending. */
  private advanceFloor(sseq: number): void {
    const s = this.state;
    if (s.pending.size === 0) {
      s.ackFloor.consumerSeq = s.delivered.consumerSeq;
      s.ackFloor.streamSeq = s.delivered.streamSeq;
      return;
    }
    let min = -1;
    if (s.delivered.streamSeq - sseq > s.pending.size * 4) {
      for (const seq of s.pending.keys()) if (seq > sseq && (min < 0 || seq < min)) min = seq;
    } else {
      for (let q = sseq + 1; q <= s.delivered.streamSeq; q++) {
        if (s.pending.has(q)) {
          min = q;
          break;
        }
      }
    }
    if (min < 0) return;
    const p = s.pending.get(min) as { consumerSeq: number };
    if (p.consumerSeq - 1 > s.ackFloor.consumerSeq) s.ackFloor.consumerSeq = p.consumerSeq - 1;
    if (min - 1 > s.ackFloor.streamSeq) s.ackFloor.streamSeq = min - 1;
  }

  /** The whole state, for a Raft snapshot. */
  encode(): Buffer {
    const s = this.state;
    const out = Buffer.allocUnsafe(2 + 4 * 8 + 4 + s.pending.size * 24 + 4 + s.redelivered.size * 16 + 4 + this.lastPerSubject.length * 8);
    let o = 0;
    out[o++] = SNAPSHOT_VERSION;
    out[o++] = this.started ? 1 : 0;
    o = out.writeDoubleLE(s.delivered.consumerSeq, o);
    o = out.writeDoubleLE(s.delivered.streamSeq, o);
    o = out.writeDoubleLE(s.ackFloor.consumerSeq, o);
    o = out.writeDoubleLE(s.ackFloor.streamSeq, o);
    o = out.writeUInt32LE(s.pending.size, o);
    for (const [seq, p] of s.pending) {
      o = out.writeDoubleLE(seq, o);
      o = out.writeDoubleLE(p.consumerSeq, o);
      o = out.writeDoubleLE(p.ts, o);
    }
    o = out.writeUInt32LE(s.redelivered.size, o);
    for (const [seq, n] of s.redelivered) {
      o = out.writeDoubleLE(seq, o);
      o = out.writeDoubleLE(n, o);
    }
    o = out.writeUInt32LE(this.lastPerSubject.length, o);
    for (const seq of this.lastPerSubject) o = out.writeDoubleLE(seq, o);
    return out;
  }

  /** Replaces the state with a snapshot's; false (state unchanged) when it cannot be read. */
  restore(data: Buffer): boolean {
    try {
      if (data[0] !== SNAPSHOT_VERSION) return false;
      let o = 2;
      const delivered = { consumerSeq: data.readDoubleLE(o), streamSeq: data.readDoubleLE(o + 8) };
      const ackFloor = { consumerSeq: data.readDoubleLE(o + 16), streamSeq: data.readDoubleLE(o + 24) };
      o += 32;
      const pending = new Map<number, { consumerSeq: number; ts: number }>();
      for (let n = data.readUInt32LE(o), i = (o += 4, 0); i < n; i++, o += 24) {
        pending.set(data.readDoubleLE(o), { consumerSeq: data.readDoubleLE(o + 8), ts: data.readDoubleLE(o + 16) });
      }
      const redelivered = new Map<number, number>();
      for (let n = data.readUInt32LE(o), i = (o += 4, 0); i < n; i++, o += 16) redelivered.set(data.readDoubleLE(o), data.readDoubleLE(o + 8));
      const lps: number[] = [];
      for (let n = data.readUInt32LE(o), i = (o += 4, 0); i < n; i++, o += 8) lps.push(data.readDoubleLE(o));
      const s = this.state;
      this.lastPerSubject = lps;
      this.started = data[1] === 1;
      s.delivered.consumerSeq = delivered.consumerSeq;
      s.delivered.streamSeq = delivered.streamSeq;
      s.ackFloor.consumerSeq = ackFloor.consumerSeq;
      s.ackFloor.streamSeq = ackFloor.streamSeq;
      s.pending.clear();
      for (const [k, v] of pending) s.pending.set(k, v);
      s.redelivered.clear();
      for (const [k, v] of redelivered) s.redelivered.set(k, v);
      return true;
    } catch {
      return false;
    }
  }
}
