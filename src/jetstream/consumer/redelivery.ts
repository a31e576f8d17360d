/**
 * When delivered but unacknowledged messages go out again: one timer per
 * consumer scans the ack-wait deadlines (ack_wait, or the backoff list by
 * delivery count) and queues what expired; nak'ed messages are queued
 * directly. The delivery loop serves this queue before new messages.
 */
import type { ConsumerConfig } from '../types.js';

const NS_PER_MS = 1_000_000;
const DEFAULT_ACK_WAIT_MS = 30_000;

/** A delivered message waiting for its ack: its consumer sequence and Date.now() of the delivery. */
export interface PendingDelivery {
  consumerSeq: number;
  ts: number;
}

/** What the schedule needs from its consumer. */
export interface RedeliveryOwner {
  /** The consumer's current configuration (ack_wait and backoff may change). */
  config(): ConsumerConfig;
  /** Redeliveries became due: run the delivery loop. */
  signal(): void;
}

export class RedeliverySchedule {
  /** Stream sequences due again, in the order they go out. */
  private queue: number[] = [];
  private readonly queued = new Set<number>();
  private timer: NodeJS.Timeout | null = null;
  private timerAt = 0;
  private stopped = false;
  private readonly pending: ReadonlyMap<number, PendingDelivery>;
  private readonly redelivered: ReadonlyMap<number, number>;
  private readonly owner: RedeliveryOwner;

  /** `pending` and `redelivered` are the consumer's own maps (by stream sequence), read at each scan. */
  constructor(pending: ReadonlyMap<number, PendingDelivery>, redelivered: ReadonlyMap<number, number>, owner: RedeliveryOwner) {
    this.pending = pending;
    this.redelivered = redelivered;
    this.owner = owner;
  }

  /** Queued redeliveries (entries of messages acked since included). */
  get length(): number {
    return this.queue.length;
  }

  /** Takes the first queued sequence (length > 0); the caller skips it when no longer pending. */
  next(): number {
    const seq = this.queue.shift() as number;
    this.queued.delete(seq);
    return seq;
  }

  /** Queues `seq` to go out again (a nak without delay); once, however often asked. */
  add(seq: number): void {
    if (this.queued.has(seq)) return;
    this.queue.push(seq);
    this.queued.add(seq);
  }

  /** Puts `seq` back first: it was taken but could not be sent. */
  addFront(seq: number): void {
    if (this.queued.has(seq)) return;
    this.queue.unshift(seq);
    this.queued.add(seq);
  }

  /** Takes `seq` out of the queue (a nak with a delay makes it due later instead). */
  remove(seq: number): void {
    if (this.queued.delete(seq)) this.queue.splice(this.queue.indexOf(seq), 1);
  }

  /**
   * `seq` left pending for good (its message is gone). Its queue entry is
   * not searched for, as such drops come in bulk: it is skipped when reached.
   */
  forget(seq: number): void {
    this.queued.delete(seq);
  }

  /** Ack wait for a message's `dc`-th delivery: the backoff list when set, else ack_wait. */
  ackWaitMs(dc: number): number {
    const config = this.owner.config();
    const bo = config.backoff;
    if (bo !== undefined && bo.length > 0) return bo[Math.min(dc - 1, bo.length - 1)] / NS_PER_MS;
    return (config.ack_wait ?? DEFAULT_ACK_WAIT_MS * NS_PER_MS) / NS_PER_MS;
  }

  /** Whether a scan is planned. */
  get armed(): boolean {
    return this.timer !== null;
  }

  /** Makes the ack-wait scan run within `ms`; a scan already due sooner stays. */
  arm(ms: number): void {
    if (this.stopped) return;
    const wait = Math.max(1, Math.ceil(ms));
    const at = Date.now() + wait;
    if (this.timer !== null) {
      if (this.timerAt <= at) return;
      clearTimeout(this.timer);
    }
    this.timerAt = at;
    this.timer = setTimeout(this.scan, wait);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  /** After stop, with a new state (a replicated consumer leads its group again): nothing is queued, scans may run. */
  resume(): void {
    this.stopped = false;
    this.queue = [];
    this.queued.clear();
  }

  /** Queues every expired delivery, then sleeps until the next one is due. */
  private readonly scan = (): void => {
    this.timer = null;
    if (this.stopped || this.pending.size === 0) return;
    const now = Date.now();
    let next = Infinity;
    const expired: number[] = [];
    for (const [seq, p] of this.pending) {
      if (this.queued.has(seq)) continue;
      const due = p.ts + this.ackWaitMs(this.redelivered.get(seq) ?? 1);
      if (due <= now) expired.push(seq);
      else if (due < next) next = due;
    }
    if (expired.length > 0) {
      expired.sort((a, b) => a - b);
      for (const seq of expired) {
        this.queue.push(seq);
        this.queued.add(seq);
      }
      this.owner.signal();
    }
    if (next !== Infinity) this.arm(next - now);
  };
}
