/**
 * One JetStream consumer: where it is in the stream, what is delivered and
 * not yet acknowledged (acks, naks, terms and the ack floor), and the
 * delivery loop that feeds pull requests or a push deliver subject. The
 * pull side's request queue (wait-queue.ts), the push side's interest and
 * pacing (push-delivery.ts) and the redelivery schedule (redelivery.ts)
 * live beside it.
 *
 * Hot path rules: a delivery builds one buffer (none when the stored
 * message has no headers) and one reply string; acks are parsed by hand;
 * timers are per consumer (ack wait scan, heartbeats, request expiry,
 * inactivity), never per message; the delivery loop runs on setImmediate
 * with a per-turn budget so one consumer cannot starve the event loop.
 */
import type { ConsumerHost } from './host.js';
import type { ConsumerState, ConsumerStore, StoredMessage } from '../store/types.js';
import type { ConsumerConfig } from '../types.js';
import type { Subscription } from '../../server/subscription.js';
import { AckSubjects, ackPrefix, parseAckSubject, startsWith, type AckFields } from './ack-subject.js';
import { FilterSet, filtersOf } from './config.js';
import type { WaitingRequest } from './pull-request.js';
import { WaitQueue } from './wait-queue.js';
import { startPosition } from './start-position.js';
import { CONSUMER_IS_PUSH, heartbeatHeader } from './status.js';
import { headersOnlyBlock, joinHeaderAndData } from './delivery-buffer.js';
import { nakDelayMs } from './nak-delay.js';
import { PushDelivery } from './push-delivery.js';
import { RedeliverySchedule, type PendingDelivery } from './redelivery.js';
import { consumerAdvisory, sampleAck } from './advisories.js';
import type { ConsumerReplication } from './replication.js';
import { ConsumerPause } from './pause.js';
import { InactivityTimer } from './inactivity.js';
import { msToNanos, type EpochNanos } from '../../text/go-format.js';

const NS_PER_MS = 1_000_000;
/** Deliveries per event-loop turn before yielding (setImmediate continues). */
const TURN_BUDGET_MSGS = 512;
const TURN_BUDGET_BYTES = 4 * 1024 * 1024;
const EMPTY = Buffer.alloc(0);

/** What a consumer needs from the set that owns it. */
export interface ConsumerOwner {
  /** The inactivity threshold passed: the owner deletes the consumer. */
  expire(c: Consumer): void;
}

export class Consumer {
  readonly host: ConsumerHost;
  readonly name: string;
  config: ConsumerConfig;
  readonly created: EpochNanos;
  private readonly owner: ConsumerOwner;
  private readonly store: ConsumerStore | null;
  private filters: string[];
  private filterSet: FilterSet;
  private readonly ackPre: string;
  private readonly ackSubjects: AckSubjects;
  private ackSub: Subscription | null = null;
  closed = false;
  /** Set on a replicated consumer (clustered JetStream); null on a single server. */
  private readonly replication: ConsumerReplication | null;
  /**
   * Subscribed, delivering, timers running: always on a single server; on
   * the group's active leader only when replicated. A passive consumer
   * answers from the replicated state.
   */
  private live = false;

  // Position: the next stream sequence to look at and the next consumer sequence to hand out.
  private sseq = 1;
  private dseq = 1;
  private adflr = 0;
  private asflr = 0;
  private readonly pending = new Map<number, PendingDelivery>();
  private readonly redelivered = new Map<number, number>();
  private readonly redeliveries: RedeliverySchedule;
  /** What the store writes, read when it writes (ms after the update asking for it): one current, consistent state. */
  private readonly persisted: ConsumerState = ((c: Consumer): ConsumerState => ({
    get delivered() { return { consumerSeq: c.dseq - 1, streamSeq: c.sseq - 1 }; },
    get ackFloor() { return { consumerSeq: c.adflr, streamSeq: c.asflr }; },
    pending: c.pending,
    redelivered: c.redelivered,
  }))(this);
  /** last_per_subject: sequences to send before continuing at sseq. */
  private lps: number[] = [];
  /** Messages at or after sseq that pass the filters (num_pending). */
  private npc = 0;
  /** Date.now() of the last delivery and ack (0 = none); made nanosecond times only for info. */
  private lastDelivered = 0;
  private lastAcked = 0;

  private readonly waiting: WaitQueue;
  private readonly push: PushDelivery;
  readonly pause = new ConsumerPause(this);

  // Replay original.
  private replayTimer: NodeJS.Timeout | null = null;
  private lastReplayTs = 0;
  private lastReplayWall = 0;

  private readonly inactivity = new InactivityTimer({
    thresholdNs: () => this.config.inactive_threshold ?? 0,
    running: () => !this.closed && this.live,
    busy: () => (this.isPush ? this.push.active : this.waiting.length > 0),
    expire: () => this.owner.expire(this),
  });
  private pumpScheduled = false;
  /** What nextMessage found besides the message: its delivery count and whether it is new (no object per message). */
  private nextDc = 1;
  private nextFresh = true;
  private dirty = false;
  /** Replies of confirmed acks waiting for the state that holds them to be written. */
  private ackReplies: string[] = [];
  private readonly ackFields: AckFields = { deliveries: 0, sseq: 0, dseq: 0 };

  constructor(
    host: ConsumerHost, owner: ConsumerOwner, name: string, config: ConsumerConfig, created: EpochNanos,
    store: ConsumerStore | null, state: ConsumerState | null, replication: ConsumerReplication | null = null,
  ) {
    this.host = host;
    this.replication = replication;
    this.owner = owner;
    this.name = name;
    this.config = config;
    this.created = created;
    this.store = store;
    this.filters = filtersOf(config);
    this.filterSet = new FilterSet(this.filters);
    this.ackPre = ackPrefix(host.name, name);
    this.ackSubjects = new AckSubjects(this.ackPre);
    this.waiting = new WaitQueue({
      config: () => this.config,
      sendStatus: (to, hdr) => this.sendStatus(to, hdr),
      hasMessages: () => this.redeliveries.length > 0 || this.npc > 0,
      heartbeat: () => heartbeatHeader(this.dseq - 1, this.sseq - 1, null),
      signal: () => this.signal(),
      idle: () => this.inactivity.touch(),
    });
    this.redeliveries = new RedeliverySchedule(this.pending, this.redelivered, {
      config: () => this.config,
      signal: () => this.signal(),
    });
    this.push = new PushDelivery(host, name, {
      config: () => this.config,
      sendStatus: (to, hdr) => this.sendStatus(to, hdr),
      heartbeat: (stalled) => heartbeatHeader(this.dseq - 1, this.sseq - 1, stalled),
      signal: () => this.signal(),
    });
    // A replicated consumer starts passive: activate() makes it live on its group's leader.
    if (replication !== null) return;
    if (state !== null) this.restore(state);
    else this.start();
    this.goLive(this.redeliveries.ackWaitMs(1));
  }

  /** Subscribes to acks, takes up the deliver subject, starts the timers and the delivery loop. */
  private goLive(firstScanMs: number): void {
    this.live = true;
    this.npc = this.countPending();
    this.ackSub = this.host.core.subscribeInternal(this.host.account, this.ackPre + '>', null, this.onAck);
    this.push.setup();
    this.pause.apply(this.config.pause_until, false);
    this.inactivity.touch();
    this.inactivity.arm();
    if (this.pending.size > 0) this.redeliveries.arm(firstScanMs);
    // A push consumer whose subscriber came first starts delivering at once.
    this.signal();
  }

  /**
   * Replicated consumers: this server leads the group and has applied its
   * whole log. It continues from the replicated state (`fresh`: there is
   * none yet, so it picks the start position and replicates it); deliveries
   * still unacknowledged go out again once their ack wait has passed.
   */
  activate(fresh: boolean): void {
    const r = this.replication;
    if (r === null || this.live || this.closed) return;
    this.pending.clear();
    this.redelivered.clear();
    this.lps = [];
    if (fresh) {
      // Deliveries of an earlier leadership that never committed are forgotten, their sequences too.
      this.dseq = 1;
      this.start();
      r.started(this.sseq, this.lps);
    } else {
      this.restore(r.state);
      this.lps = r.lastPerSubject.slice();
    }
    this.redeliveries.resume();
    this.push.resume();
    this.goLive(1);
  }

  /** Replicated consumers: leadership is gone. Everything stops at once; waiting pull requests are dropped (clients ask again). */
  deactivate(): void {
    if (!this.live || this.replication === null) return;
    this.live = false;
    this.quiesce();
    this.waiting.close(false);
    this.ackReplies = [];
  }

  private quiesce(): void {
    if (this.ackSub !== null) this.host.core.unsubscribeInternal(this.host.account, this.ackSub);
    this.ackSub = null;
    this.push.stop();
    this.redeliveries.stop();
    this.pause.stop();
    this.inactivity.stop();
    if (this.replayTimer !== null) clearTimeout(this.replayTimer);
    this.replayTimer = null;
  }

  // ---- lifecycle -------------------------------------------------------------

  private start(): void {
    const pos = startPosition(this.host.store, this.config, this.filters);
    this.sseq = pos.sseq;
    this.lps = pos.lastPerSubject;
    // The floor shows 0 until the first ack (as nats-server reports a new consumer).
    this.asflr = 0;
    this.adflr = 0;
    this.markDirty();
  }

  private restore(s: ConsumerState): void {
    this.dseq = s.delivered.consumerSeq + 1;
    this.sseq = s.delivered.streamSeq + 1;
    this.adflr = s.ackFloor.consumerSeq;
    this.asflr = s.ackFloor.streamSeq;
    for (const [seq, p] of s.pending) this.pending.set(seq, { consumerSeq: p.consumerSeq, ts: p.ts });
    for (const [seq, n] of s.redelivered) this.redelivered.set(seq, n);
    const first = this.host.store.state().firstSeq;
    if (this.sseq < first) this.sseq = first;
  }

  get isPush(): boolean {
    return this.config.deliver_subject !== undefined;
  }

  /** Stops timers and subscriptions and writes the state; `deleted` also tells waiting pulls. */
  stop(deleted: boolean): void {
    if (this.closed) return;
    this.closed = true;
    this.quiesce();
    this.waiting.close(deleted);
    if (!deleted && this.store !== null) this.store.update(this.state());
  }

  state(): ConsumerState {
    return {
      delivered: { consumerSeq: this.dseq - 1, streamSeq: this.sseq - 1 },
      ackFloor: { consumerSeq: this.adflr, streamSeq: this.asflr },
      pending: this.pending,
      redelivered: this.redelivered,
    };
  }

  private markDirty(): void {
    if (this.dirty || this.store === null) return;
    this.dirty = true;
    setImmediate(this.flushState);
  }

  /** One state write per turn however many deliveries and acks it saw (the store coalesces further). */
  private readonly flushState = (): void => {
    this.dirty = false;
    if (this.closed || this.store === null) return;
    this.store.update(this.persisted);
    if (this.ackReplies.length === 0) return;
    const replies = this.ackReplies;
    this.ackReplies = [];
    this.store.whenDurable((err) => {
      // An ack whose state could not be written is not confirmed: the client times out and retries.
      if (err !== null || this.closed) return;
      for (const r of replies) this.host.core.publishInternal(this.host.account, r, null, EMPTY);
    });
  };

  // ---- stream events -----------------------------------------------------------

  matches(subject: string): boolean {
    return this.filterSet.matches(subject);
  }

  messageStored(seq: number, subject: string): void {
    this.replication?.messageStored(seq);
    if (!this.live || seq < this.sseq || !this.filterSet.matches(subject)) return;
    this.npc++;
    this.signal();
  }

  /**
   * One message left the stream (limits, age, purge, delete, acks): one
   * fewer pending if it was still ahead of the consumer. Counted as it goes,
   * as nats-server does, so num_pending never needs a scan of the stream.
   */
  messageRemoved(seq: number, subject: string): void {
    if (this.live && seq >= this.sseq && this.filterSet.matches(subject)) this.npc--;
  }

  /**
   * After removals (once per turn, however many): what fell below the
   * stream's first sequence leaves pending here; an interior delete of a
   * pending message is found when it is due for redelivery.
   */
  messagesRemoved(): void {
    if (!this.live) return;
    const first = this.host.store.state().firstSeq;
    if (this.sseq < first) {
      this.sseq = first;
      if (this.asflr < first - 1) this.asflr = first - 1;
    }
    if (this.pending.size > 0 && this.asflr + 1 < first) {
      for (const seq of [...this.pending.keys()]) if (seq < first) this.dropPending(seq);
    }
    this.markDirty();
  }

  /** Interest/workqueue retention: does this consumer still need `seq`? */
  wants(seq: number, subject: string): boolean {
    if (this.config.direct === true || !this.filterSet.matches(subject)) return false;
    const s = this.live || this.replication === null ? null : this.replication.state;
    const next = s === null ? this.sseq : s.delivered.streamSeq + 1;
    if (seq <= (s === null ? this.asflr : s.ackFloor.streamSeq)) return false;
    if (this.config.ack_policy === 'none') return seq >= next;
    return seq >= next || (s === null ? this.pending : s.pending).has(seq);
  }

  private countPending(): number {
    const fl = this.filters.length === 0 ? null : this.filters;
    return this.lps.length + this.host.store.numPending(this.sseq, fl, false);
  }

  // ---- delivery ------------------------------------------------------------------

  /** Something may be deliverable: run the loop on the next turn (once). */
  signal(): void {
    if (this.pumpScheduled || this.closed || !this.live || this.pause.paused) return;
    if (this.isPush ? !this.push.active : this.waiting.length === 0) return;
    this.pumpScheduled = true;
    setImmediate(this.pump);
  }

  private readonly pump = (): void => {
    this.pumpScheduled = false;
    if (this.closed || !this.live || this.pause.paused) return;
    const now = Date.now();
    let msgs = TURN_BUDGET_MSGS;
    let bytes = TURN_BUDGET_BYTES;
    const push = this.isPush;
    while (msgs > 0 && bytes > 0) {
      let wr: WaitingRequest | null = null;
      if (push) {
        if (!this.push.ready(now)) break;
      } else {
        wr = this.waiting.head(now);
        if (wr === null) break;
      }
      const next = this.nextMessage(now);
      if (next === null) {
        if (!push) this.waiting.endNoWait();
        break;
      }
      const sent = this.deliver(next, wr, now);
      if (sent < 0) {
        // Nobody listens on the inbox / deliver subject: the message stays where it was.
        if (push) {
          this.setActive(false);
          break;
        }
        this.waiting.finish(wr as WaitingRequest);
        continue;
      }
      msgs--;
      bytes -= sent;
    }
    if (msgs <= 0 || bytes <= 0) this.signal();
    if (!push) this.waiting.arm();
  };

  /** The next message to send: a due redelivery first, then last-per-subject seeds, then the stream from sseq. */
  private nextMessage(now: number): StoredMessage | null {
    const store = this.host.store;
    while (this.redeliveries.length > 0) {
      const seq = this.redeliveries.next();
      if (!this.pending.has(seq)) continue;
      const msg = store.loadMsg(seq);
      if (msg === null) {
        // A replica whose stream lags the consumer's group: not here yet, so it stays pending and comes round again.
        if (seq > store.state().lastSeq) this.redeliveries.arm(this.redeliveries.ackWaitMs(1));
        else this.dropPending(seq);
        continue;
      }
      const dc = (this.redelivered.get(seq) ?? 1) + 1;
      const maxDeliver = this.config.max_deliver ?? -1;
      if (maxDeliver > 0 && dc > maxDeliver) {
        this.maxDeliveriesReached(seq, dc - 1);
        continue;
      }
      this.nextDc = dc;
      this.nextFresh = false;
      return msg;
    }
    const maxAck = this.config.max_ack_pending ?? -1;
    if (this.config.ack_policy !== 'none' && maxAck > 0 && this.pending.size >= maxAck) return null;
    while (this.lps.length > 0) {
      const msg = store.loadMsg(this.lps[0]);
      if (msg !== null) return this.fresh(msg);
      this.lps.shift();
      this.npc--;
    }
    const msg = store.loadNextMsg(this.filters.length === 0 ? null : this.filters, this.sseq);
    if (msg === null) {
      // Nothing up to the stream's last message matched: skip past it all
      // (nats-server does too; heartbeats and info show it) and the count is exact.
      const last = store.state().lastSeq;
      if (this.lps.length === 0 && last >= this.sseq) this.sseq = last + 1;
      this.npc = this.lps.length;
      return null;
    }
    if (this.config.replay_policy === 'original' && this.lastReplayTs > 0) {
      const wait = msg.ts - this.lastReplayTs - (now - this.lastReplayWall);
      if (wait >= 1) {
        if (this.replayTimer === null) {
          this.replayTimer = setTimeout(this.onReplayTimer, Math.round(wait));
          this.replayTimer.unref();
        }
        return null;
      }
    }
    return this.fresh(msg);
  }

  private fresh(msg: StoredMessage): StoredMessage {
    this.nextDc = 1;
    this.nextFresh = true;
    return msg;
  }

  private readonly onReplayTimer = (): void => {
    this.replayTimer = null;
    this.signal();
  };

  /**
   * Sends one message to the pull request or deliver subject and records it.
   * Returns the bytes sent, or -1 when nobody received it (nothing changes).
   */
  private deliver(msg: StoredMessage, wr: WaitingRequest | null, now: number): number {
    const dc = this.nextDc;
    const fresh = this.nextFresh;
    const size = msg.subject.length + (msg.hdr === null ? 0 : msg.hdr.length) + msg.data.length;
    if (wr !== null && wr.bytesLeft > 0 && size > wr.bytesLeft) {
      this.waiting.tooLarge(wr);
      // The message was not taken: a redelivery goes back to the front.
      if (!fresh) this.redeliveries.addFront(msg.seq);
      return 0;
    }
    const dseq = this.dseq;
    const pendingAfter = fresh ? this.npc - 1 : this.npc;
    const reply = this.ackSubjects.subject(dc, msg.seq, dseq, msg.ts, pendingAfter < 0 ? 0 : pendingAfter);
    let buf: Buffer;
    let hdrLen: number;
    if (this.config.headers_only === true) {
      buf = headersOnlyBlock(msg.hdr, msg.data.length);
      hdrLen = buf.length;
    } else if (msg.hdr === null) {
      buf = msg.data;
      hdrLen = -1;
    } else {
      buf = joinHeaderAndData(msg.hdr, msg.data);
      hdrLen = msg.hdr.length;
    }
    const to = wr === null ? (this.config.deliver_subject as string) : wr.reply;
    const n = this.host.core.deliverInternalAs(this.host.account, to, msg.subject, reply, hdrLen, buf);
    if (n === 0) {
      if (!fresh) this.redeliveries.addFront(msg.seq);
      return -1;
    }
    // Committed: advance and record.
    this.dseq++;
    this.lastDelivered = now;
    if (fresh) {
      if (this.lps.length > 0 && this.lps[0] === msg.seq) this.lps.shift();
      else this.sseq = msg.seq + 1;
      this.npc--;
      if (this.config.replay_policy === 'original') {
        this.lastReplayTs = msg.ts;
        this.lastReplayWall = now;
      }
    }
    if (this.config.ack_policy === 'none') {
      this.adflr = dseq;
      this.asflr = msg.seq;
      // A replicated consumer's stream lets messages go when the group applies the change.
      if (this.host.config().retention !== 'limits' && this.replication === null && this.config.direct !== true) this.host.acked(msg.seq);
    } else {
      const p = this.pending.get(msg.seq);
      if (p === undefined) this.pending.set(msg.seq, { consumerSeq: dseq, ts: now });
      else {
        p.consumerSeq = dseq;
        p.ts = now;
      }
      if (dc > 1) this.redelivered.set(msg.seq, dc);
      // Backoff can make a redelivery due sooner than the scan already planned.
      if (!this.redeliveries.armed || dc > 1) this.redeliveries.arm(this.redeliveries.ackWaitMs(dc));
    }
    this.replication?.delivered(msg.seq, dseq, dc, now);
    if (wr !== null) {
      this.waiting.served(wr, size, now);
    } else {
      this.push.sent(size);
    }
    this.markDirty();
    return size;
  }

  /**
   * Status messages go out with an empty (not absent) reply: nats-server
   * writes `HMSG <inbox> <sid>  <hdr> <size>` with two spaces for them.
   */
  private sendStatus(to: string, hdr: Buffer): number {
    return this.host.core.deliverInternalAs(this.host.account, to, to, '', hdr.length, hdr);
  }

  // ---- acks --------------------------------------------------------------------------

  private readonly onAck = (subject: string, reply: string | null, hdrLen: number, msg: Buffer): void => {
    if (this.closed) return;
    const f = this.ackFields;
    if (!parseAckSubject(subject, this.ackPre.length, f)) return;
    const body = hdrLen > 0 ? msg.subarray(hdrLen) : msg;
    this.inactivity.touch();
    const c0 = body.length > 0 ? body[0] : 0;
    let replyToAck = true;
    if (body.length === 0 || (c0 === 0x2b && (startsWith(body, '+ACK') || startsWith(body, '+OK')))) {
      this.processAck(f.sseq, f.dseq);
    } else if (startsWith(body, '+NXT')) {
      this.processAck(f.sseq, f.dseq);
      if (reply !== null) this.processPull(reply, body.subarray(4));
      replyToAck = false;
    } else if (startsWith(body, '-NAK')) {
      this.processNak(f.sseq, f.dseq, f.deliveries, body.subarray(4));
    } else if (startsWith(body, '+WPI')) {
      const p = this.pending.get(f.sseq);
      if (p !== undefined) {
        p.ts = Date.now();
        this.replication?.progressed(f.sseq, p.ts);
        this.markDirty();
      }
    } else if (startsWith(body, '+TERM')) {
      this.processTerm(f.sseq, f.dseq, f.deliveries, body.subarray(5).toString().trim());
    }
    if (replyToAck && reply !== null) this.confirmAck(reply);
  };

  /**
   * Answers an ack that asked for confirmation (a double ack) once the state
   * holding it is written, so a confirmed ack survives a crash.
   */
  private confirmAck(reply: string): void {
    if (this.store === null) {
      this.host.core.publishInternal(this.host.account, reply, null, EMPTY);
      return;
    }
    this.ackReplies.push(reply);
    this.markDirty();
  }

  private processAck(sseq: number, dseq: number): void {
    const policy = this.config.ack_policy;
    if (policy === 'none') return;
    if (policy === 'all') {
      if (dseq <= this.adflr) return;
      const released: number[] = [];
      for (const seq of this.pending.keys()) if (seq <= sseq) released.push(seq);
      for (const seq of released) {
        this.pending.delete(seq);
        this.redelivered.delete(seq);
      }
      this.adflr = dseq;
      this.asflr = sseq;
      this.advanceFloor(sseq);
      this.replication?.ackedAll(sseq, dseq);
      this.afterAck(released);
      return;
    }
    const p = this.pending.get(sseq);
    if (p === undefined) return;
    if (this.config.sample_freq !== undefined) sampleAck(this, sseq, p, this.redelivered.get(sseq) ?? 1);
    this.removePending(sseq);
    this.replication?.acked(sseq, dseq);
    this.afterAck(sseq);
  }

  private afterAck(released: number | number[]): void {
    this.lastAcked = Date.now();
    if (this.host.config().retention !== 'limits' && this.replication === null && this.config.direct !== true) {
      if (typeof released === 'number') this.host.acked(released);
      else for (const seq of released) this.host.acked(seq);
    }
    this.markDirty();
    this.signal();
  }

  /** Removes `sseq` from pending and moves the ack floor like nats-server; false when it was not pending. */
  private removePending(sseq: number): boolean {
    const p = this.pending.get(sseq);
    if (p === undefined) return false;
    this.pending.delete(sseq);
    this.redelivered.delete(sseq);
    if (this.pending.size === 0) {
      this.adflr = this.dseq - 1;
      this.asflr = this.sseq - 1;
    } else if (p.consumerSeq === this.adflr + 1) {
      this.adflr = p.consumerSeq;
      this.asflr = sseq;
      this.advanceFloor(sseq);
    }
    return true;
  }

  /** After the floor reached `sseq`, it may move up to just below the oldest message still pending. */
  private advanceFloor(sseq: number): void {
    if (this.pending.size === 0) {
      this.adflr = this.dseq - 1;
      this.asflr = this.sseq - 1;
      return;
    }
    let min = -1;
    if (this.sseq - sseq > this.pending.size * 4) {
      for (const seq of this.pending.keys()) if (seq > sseq && (min < 0 || seq < min)) min = seq;
    } else {
      for (let s = sseq + 1; s < this.sseq; s++) {
        if (this.pending.has(s)) {
          min = s;
          break;
        }
      }
    }
    if (min < 0) return;
    const p = this.pending.get(min) as { consumerSeq: number };
    if (p.consumerSeq - 1 > this.adflr) this.adflr = p.consumerSeq - 1;
    if (min - 1 > this.asflr) this.asflr = min - 1;
  }

  private dropPending(seq: number): void {
    this.removePending(seq);
    this.redeliveries.forget(seq);
  }

  private processNak(sseq: number, dseq: number, deliveries: number, arg: Buffer): void {
    const p = this.pending.get(sseq);
    if (p === undefined || dseq <= this.adflr || dseq >= this.dseq) return;
    this.host.advisory(`$JS.EVENT.ADVISORY.CONSUMER.MSG_NAKED.${this.host.name}.${this.name}`, consumerAdvisory('io.nats.jetstream.advisory.v1.nak', this, {
      consumer_seq: dseq,
      stream_seq: sseq,
      deliveries,
    }));
    const delayMs = nakDelayMs(arg);
    if (delayMs > 0) {
      // Due again `delayMs` from now: shift the delivery time so the ack-wait scan finds it then.
      this.redeliveries.remove(sseq);
      p.ts = Date.now() - this.redeliveries.ackWaitMs(this.redelivered.get(sseq) ?? 1) + delayMs;
      this.replication?.progressed(sseq, p.ts);
      this.redeliveries.arm(delayMs);
      this.markDirty();
      return;
    }
    this.redeliveries.add(sseq);
    this.signal();
  }

  private processTerm(sseq: number, dseq: number, deliveries: number, reason: string): void {
    if (!this.removePending(sseq)) return;
    this.replication?.terminated(sseq);
    const body: Record<string, unknown> = { consumer_seq: dseq, stream_seq: sseq, deliveries };
    if (reason !== '') body.reason = reason;
    this.host.advisory(`$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.${this.host.name}.${this.name}`, consumerAdvisory('io.nats.jetstream.advisory.v1.terminated', this, body));
    this.afterAck(sseq);
  }

  private maxDeliveriesReached(seq: number, deliveries: number): void {
    this.host.advisory(`$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${this.host.name}.${this.name}`, consumerAdvisory('io.nats.jetstream.advisory.v1.max_deliver', this, {
      stream_seq: seq,
      deliveries,
    }));
    this.removePending(seq);
    this.replication?.maxDelivered(seq);
    this.markDirty();
  }

  // ---- pull requests -------------------------------------------------------------------

  processPull(reply: string, body: Buffer): void {
    if (this.closed || !this.live) return;
    if (this.isPush) {
      this.sendStatus(reply, CONSUMER_IS_PUSH);
      return;
    }
    const now = Date.now();
    this.inactivity.touch(now);
    this.waiting.request(reply, body, now);
  }

  get numWaiting(): number {
    return this.waiting.length;
  }

  // ---- push ------------------------------------------------------------------------------

  /** Interest in the deliver subject came or went. */
  setActive(active: boolean): void {
    if (this.push.active === active) return;
    this.push.active = active;
    this.inactivity.touch();
    if (active) this.signal();
  }

  get pushBound(): boolean {
    return this.isPush && this.push.bound;
  }

  // ---- update and info --------------------------------------------------------------------------

  /** Applies an accepted update (checkUpdate passed). */
  update(next: ConsumerConfig): void {
    const old = this.config;
    this.config = next;
    const filters = filtersOf(next);
    if (filters.join('\n') !== this.filters.join('\n')) {
      this.filters = filters;
      this.filterSet = new FilterSet(filters);
      this.npc = this.countPending();
    }
    this.store?.saveConfig(next, Number(this.created / BigInt(NS_PER_MS)));
    // A passive replica takes the new configuration up when it goes live.
    if (!this.live) return;
    this.pause.apply(next.pause_until, true);
    if (old.deliver_subject !== next.deliver_subject) {
      this.push.active = false;
      this.push.setup();
    }
    if (old.ack_wait !== next.ack_wait || JSON.stringify(old.backoff) !== JSON.stringify(next.backoff)) {
      if (this.pending.size > 0) this.redeliveries.arm(100);
    }
    if (old.inactive_threshold !== next.inactive_threshold) this.inactivity.arm();
    this.signal();
  }

  /** `cluster` of consumer info. */
  clusterInfo(): Record<string, unknown> {
    return this.replication?.clusterInfo() ?? { leader: this.host.core.name };
  }

  info(): ConsumerInfoCounts {
    if (!this.live && this.replication !== null) return this.passiveInfo(this.replication.state);
    return {
      delivered: { consumer_seq: this.dseq - 1, stream_seq: this.sseq - 1, last: this.lastDelivered === 0 ? null : msToNanos(this.lastDelivered) },
      ackFloor: { consumer_seq: this.adflr, stream_seq: this.asflr, last: this.lastAcked === 0 ? null : msToNanos(this.lastAcked) },
      numAckPending: this.pending.size,
      numRedelivered: this.redelivered.size,
      numWaiting: this.waiting.length,
      numPending: Math.max(0, this.npc),
    };
  }

  /** A passive replica's counts, from the replicated state (times of last activity are the leader's business). */
  private passiveInfo(s: ConsumerState): ConsumerInfoCounts {
    const fl = this.filters.length === 0 ? null : this.filters;
    return {
      delivered: { consumer_seq: s.delivered.consumerSeq, stream_seq: s.delivered.streamSeq, last: null },
      ackFloor: { consumer_seq: s.ackFloor.consumerSeq, stream_seq: s.ackFloor.streamSeq, last: null },
      numAckPending: s.pending.size,
      numRedelivered: s.redelivered.size,
      numWaiting: 0,
      numPending: this.host.store.numPending(s.delivered.streamSeq + 1, fl, false),
    };
  }
}

export interface ConsumerInfoCounts {
  delivered: { consumer_seq: number; stream_seq: number; last: EpochNanos | null };
  ackFloor: { consumer_seq: number; stream_seq: number; last: EpochNanos | null };
  numAckPending: number;
  numRedelivered: number;
  numWaiting: number;
  numPending: number;
}
