/**
 * The pull requests waiting on one consumer (nats-server's wait queue):
 * admission with the consumer's request limits, round-robin service,
 * expiry (408), no_wait endings (404), request heartbeats, all on one timer.
 */
import type { ConsumerConfig } from '../types.js';
import { parsePullRequest, type WaitingRequest } from './pull-request.js';
import { CONSUMER_DELETED, EXCEEDED_MAX_WAITING, NO_MESSAGES, pendingStatusHeader, statusHeader } from './status.js';
import { formatGoDuration } from '../../text/go-format.js';

const NS_PER_MS = 1_000_000;
const DEFAULT_MAX_WAITING = 512;

/** What the queue needs from its consumer. */
export interface WaitQueueOwner {
  /** The consumer's current configuration (updates change the limits). */
  config(): ConsumerConfig;
  /** Sends a status message (header only) to `to`. */
  sendStatus(to: string, hdr: Buffer): void;
  /** Whether anything could be delivered right now (for no_wait requests). */
  hasMessages(): boolean;
  /** The idle heartbeat a waiting request gets (it tells where the consumer is). */
  heartbeat(): Buffer;
  /** New requests arrived: try delivering. */
  signal(): void;
  /** The queue became empty (inactivity starts counting). */
  idle(): void;
}

export class WaitQueue {
  private list: WaitingRequest[] = [];
  private timer: NodeJS.Timeout | null = null;
  private timerAt = 0;
  private readonly owner: WaitQueueOwner;

  constructor(owner: WaitQueueOwner) {
    this.owner = owner;
  }

  get length(): number {
    return this.list.length;
  }

  /** A MSG.NEXT request (or +NXT) from `reply`: answered at once with a status, or queued. */
  request(reply: string, body: Buffer, now: number): void {
    const o = this.owner;
    const parsed = parsePullRequest(reply, body, now);
    if (!parsed.ok) {
      o.sendStatus(reply, statusHeader(400, parsed.error));
      return;
    }
    const wr = parsed.request;
    const c = o.config();
    const maxBatch = c.max_batch ?? 0;
    const maxExpires = c.max_expires ?? 0;
    const maxBytes = c.max_bytes ?? 0;
    const maxWaiting = c.max_waiting ?? DEFAULT_MAX_WAITING;
    if (maxBatch > 0 && wr.remaining > maxBatch) {
      o.sendStatus(reply, statusHeader(409, `Exceeded MaxRequestBatch of ${maxBatch}`));
      return;
    }
    if (maxExpires > 0 && wr.expires > 0 && wr.expires - now > maxExpires / NS_PER_MS) {
      o.sendStatus(reply, statusHeader(409, `Exceeded MaxRequestExpires of ${formatGoDuration(maxExpires)}`));
      return;
    }
    if (maxBytes > 0 && wr.bytesLeft > maxBytes) {
      o.sendStatus(reply, statusHeader(409, `Exceeded MaxRequestMaxBytes of ${maxBytes}`));
      return;
    }
    if (this.list.length >= maxWaiting) this.expire(now);
    if (wr.noWait && wr.expires === 0 && !o.hasMessages()) {
      o.sendStatus(reply, NO_MESSAGES);
      return;
    }
    if (this.list.length >= maxWaiting) {
      // A client with heartbeats waits for them instead of retrying in a hot loop (nats-server).
      if (wr.heartbeatMs === 0) o.sendStatus(reply, EXCEEDED_MAX_WAITING);
      return;
    }
    this.list.push(wr);
    o.signal();
    this.arm();
  }

  /** The first request still alive; expired ones before it get their 408 and go. */
  head(now: number): WaitingRequest | null {
    while (this.list.length > 0) {
      const wr = this.list[0];
      if (wr.expires > 0 && now >= wr.expires) {
        this.list.shift();
        this.timedOut(wr);
        continue;
      }
      return wr;
    }
    return null;
  }

  /** A message of `size` bytes went to `wr`. */
  served(wr: WaitingRequest, size: number, now: number): void {
    wr.remaining--;
    wr.delivered++;
    if (wr.bytesLeft > 0) {
      wr.bytesLeft -= size;
      // Exactly used up: this one was the last the request takes.
      if (wr.bytesLeft <= 0) wr.remaining = 0;
    }
    if (wr.heartbeatMs > 0) wr.nextHeartbeat = now + wr.heartbeatMs;
    if (wr.remaining <= 0) this.finish(wr);
    else if (this.list.length > 1 && this.list[0] === wr) {
      // Several requests share the stream round-robin, as nats-server's wait queue does.
      this.list.shift();
      this.list.push(wr);
    }
  }

  /** The next message is larger than `wr` may still take: it ends with a 409. */
  tooLarge(wr: WaitingRequest): void {
    this.owner.sendStatus(wr.reply, pendingStatusHeader(409, 'Message Size Exceeds MaxBytes', wr.remaining, wr.bytesLeft));
    this.finish(wr);
  }

  /** Drops `wr` silently (its requester is gone). */
  finish(wr: WaitingRequest): void {
    const i = this.list.indexOf(wr);
    if (i >= 0) this.list.splice(i, 1);
    if (this.list.length === 0) this.owner.idle();
  }

  /** Nothing more to send now: no_wait requests end (404), as nats-server ends them at the end of the stream. */
  endNoWait(): void {
    if (this.list.length === 0) return;
    for (const wr of this.take((w) => w.noWait && (w.expires === 0 || w.delivered > 0))) this.owner.sendStatus(wr.reply, NO_MESSAGES);
    if (this.list.length === 0) this.owner.idle();
  }

  /** The consumer stops: a deleted one tells every waiting requester. */
  close(deleted: boolean): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const all = this.take(() => true);
    if (deleted) for (const wr of all) this.owner.sendStatus(wr.reply, CONSUMER_DELETED);
  }

  private timedOut(wr: WaitingRequest): void {
    this.owner.sendStatus(wr.reply, pendingStatusHeader(408, 'Request Timeout', wr.remaining, wr.bytesLeft));
  }

  private expire(now: number): void {
    for (const wr of this.take((w) => w.expires > 0 && now >= w.expires)) this.timedOut(wr);
  }

  private take(pred: (wr: WaitingRequest) => boolean): WaitingRequest[] {
    const taken: WaitingRequest[] = [];
    const keep: WaitingRequest[] = [];
    for (const wr of this.list) (pred(wr) ? taken : keep).push(wr);
    this.list = keep;
    return taken;
  }

  /** One timer for all requests, due at the earliest expiry or heartbeat. */
  arm(): void {
    let at = Infinity;
    for (const wr of this.list) {
      if (wr.expires > 0 && wr.expires < at) at = wr.expires;
      if (wr.heartbeatMs > 0 && wr.nextHeartbeat < at) at = wr.nextHeartbeat;
    }
    if (at === Infinity) {
      if (this.timer !== null) clearTimeout(this.timer);
      this.timer = null;
      return;
    }
    if (this.timer !== null) {
      if (this.timerAt <= at) return;
      clearTimeout(this.timer);
    }
    this.timerAt = at;
    this.timer = setTimeout(this.onTimer, Math.max(1, at - Date.now()));
    this.timer.unref();
  }

  private readonly onTimer = (): void => {
    this.timer = null;
    const now = Date.now();
    this.expire(now);
    let beat: Buffer | null = null;
    for (const wr of this.list) {
      if (wr.heartbeatMs > 0 && now >= wr.nextHeartbeat) {
        beat ??= this.owner.heartbeat();
        this.owner.sendStatus(wr.reply, beat);
        wr.nextHeartbeat = now + wr.heartbeatMs;
      }
    }
    if (this.list.length === 0) this.owner.idle();
    this.arm();
  };
}
