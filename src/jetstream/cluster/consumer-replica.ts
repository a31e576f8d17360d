/**
 * One server's copy of a replicated consumer: one Raft group per consumer,
 * on (a subset of) its stream's peers, so the stream's messages are local.
 *
 * Every member keeps the consumer in its local stream's consumer set. Only
 * the active leader is live (subscribes to acks, delivers, serves pull
 * requests, runs the ack-wait, heartbeat and inactivity timers); it reports
 * each change of delivery and ack state (consumer/replication.ts), and this
 * replica proposes one entry of them per event-loop turn (the consumer's
 * state write is the turn's flush: this class is its ConsumerStore).
 * Confirmed acks are answered once that entry is applied, i.e. held by a
 * quorum. Every member, the leader included, applies entries to the
 * replicated state in log order and lets its local stream drop what the
 * consumer no longer needs (interest and workqueue retention), so each
 * replica's store removes the same messages: also when the stream's group
 * lags this one (acks applied ahead of their messages take effect when the
 * messages arrive) and when acks came inside a snapshot (the stream is
 * tidied up to the replicated ack floor).
 *
 * A new leader proposes a marker and goes live when it applies that marker:
 * by then it has applied every entry of earlier leaders, so it continues
 * from the replicated state (nothing acknowledged is delivered again, the
 * delivered sequence goes on, pending messages go out again after their ack
 * wait). A deposed leader stops at once. The live consumer is ahead of the
 * applied state by the entries in flight; a deposed one reads the applied
 * state again, and a snapshot is always the applied state.
 */
import type { ConsumerState, ConsumerStore } from '../store/types.js';
import type { ConsumerConfig } from '../types.js';
import type { JetStream } from '../jetstream.js';
import type { Stream } from '../stream.js';
import type { Consumer, ConsumerOwner } from '../consumer/consumer.js';
import type { ConsumerReplication } from '../consumer/replication.js';
import { consumerAdvisory } from '../consumer/advisories.js';
import { applyDefaults, filtersOf } from '../consumer/config.js';
import { runInSlices } from '../slices.js';
import type { PeerId, RaftNode, RaftStateMachine, Snapshot } from '../../raft/types.js';
import type { EpochNanos } from '../../text/go-format.js';
import type { ConsumerAssignment, ConsumerReplica, GroupContext, StreamReplica } from './types.js';
import { ConsumerOpBatch, decodeLeaderMarker, encodeLeaderMarker, ReplicatedConsumerState } from './consumer-state.js';

/** Asks the meta layer to delete a consumer whose inactive_threshold passed (its leader noticed). */
export type ConsumerInactivityHandler = (account: string, stream: string, consumer: string) => void;

const inactivityHandlers = new WeakMap<JetStream, ConsumerInactivityHandler>();

/**
 * Where the leaders of this server's replicated consumers report an expired
 * inactive_threshold (ephemeral consumers): the cluster layer proposes the
 * removal, and every replica then deletes its copy.
 */
export function setConsumerInactivityHandler(js: JetStream, handler: ConsumerInactivityHandler): void {
  inactivityHandlers.set(js, handler);
}

/** Opens this server's replica of `ca` (its stream's replica is open here) and starts its group. */
export async function openConsumerReplica(ctx: GroupContext, js: JetStream, stream: StreamReplica, ca: ConsumerAssignment): Promise<ConsumerReplica> {
  const local = js.findStream(stream.account, ca.stream);
  if (local === null) throw new Error(`consumer '${ca.account} > ${ca.stream} > ${ca.name}': stream not found on this server`);
  const replica = new ReplicatedConsumer(ctx, js, local, ca);
  try {
    await replica.raft.start();
  } catch (e) {
    // No group, no consumer: the passive copy must not stay behind in the stream.
    local.consumers.detach(ca.name);
    throw e;
  }
  return replica;
}

/** An applied entry that answers the confirmed acks of the turn that proposed it (or an earlier one). */
interface DurableWaiter {
  readonly index: number;
  readonly cb: (err: Error | null) => void;
}

const LEADERSHIP_LOST = new Error('consumer leadership lost before the ack was replicated');
/** How soon the leader takes the next step towards the assignment's membership (one change at a time). */
const PEER_CHANGE_RETRY_MS = 1000;
/** How soon a leader that could not propose (it was handing leadership over) tries to go live again. */
const CLAIM_RETRY_MS = 250;

/**
 * The live consumer's state writes: the turn's flush proposes the turn's
 * changes, and confirmed acks wait for that entry to be applied.
 */
class ReplicatedConsumerStore implements ConsumerStore {
  constructor(private readonly replica: ReplicatedConsumer) {}

  saveConfig(): void {
    // The configuration lives in the meta group's assignment.
  }

  loadConfig(): null {
    return null;
  }

  load(): null {
    return null;
  }

  update(): void {
    this.replica.proposeTurn();
  }

  whenDurable(cb: (err: Error | null) => void): void {
    this.replica.whenReplicated(cb);
  }

  async stop(): Promise<void> {}

  async delete(): Promise<void> {}
}

class ReplicatedConsumer implements ConsumerReplica, RaftStateMachine, ConsumerReplication, ConsumerOwner {
  readonly stream: string;
  readonly name: string;
  readonly raft: RaftNode;
  private readonly ctx: GroupContext;
  private readonly js: JetStream;
  private readonly local: Stream;
  private ca: ConsumerAssignment;
  private readonly consumer: Consumer;
  private readonly applied: ReplicatedConsumerState;
  private readonly batch = new ConsumerOpBatch();
  private live = false;
  private closed = false;
  /** This node's leader marker: it goes live when it applies it. */
  private markerTerm = -1;
  private lastProposed = 0;
  private appliedIndex = 0;
  private waiters: DurableWaiter[] = [];
  private readonly released: number[] = [];
  /**
   * Acknowledged messages the local stream did not hold yet when their ack
   * was applied (its group lags this one): dropped when they arrive.
   */
  private readonly ackedAhead = new Set<number>();
  private arrived: number[] = [];
  private peersTimer: NodeJS.Timeout | null = null;
  private claimTimer: NodeJS.Timeout | null = null;
  private tidying = false;

  constructor(ctx: GroupContext, js: JetStream, local: Stream, ca: ConsumerAssignment) {
    this.ctx = ctx;
    this.js = js;
    this.local = local;
    this.ca = ca;
    this.stream = ca.stream;
    this.name = ca.name;
    const config = cloneConfig(ca.config);
    this.applied = new ReplicatedConsumerState(() => this.consumer.config.ack_policy === 'none');
    // The node calls back only once started, by which time the consumer is in place.
    this.raft = ctx.createRaftNode(ca.group, this);
    // A consumer of this name left behind (an earlier life of the group on this server) gives way.
    local.consumers.detach(ca.name);
    this.consumer = local.consumers.attach(ca.name, config, parseCreated(ca.created), new ReplicatedConsumerStore(this), this, this);
  }

  // ---- ConsumerReplica -----------------------------------------------------------

  isActiveLeader(): boolean {
    return this.live && this.raft.isLeader();
  }

  async update(ca: ConsumerAssignment): Promise<void> {
    if (this.closed) return;
    this.ca = ca;
    const config = cloneConfig(ca.config);
    // The same defaults as at attach (the assignment may leave them out).
    applyDefaults(config, this.local.config());
    this.consumer.update(config);
    this.reconcilePeers();
  }

  /**
   * The leader brings the group's membership to the assignment's peers (a
   * peer moved off by the meta group): additions first, so the group never
   * has fewer members than it needs, one change at a time.
   */
  private reconcilePeers(): void {
    if (this.closed || this.peersTimer !== null || !this.live) return;
    const want = this.ca.group.peers;
    const have = this.raft.peers();
    const add = want.find((p) => !have.includes(p));
    const remove = add === undefined ? have.find((p) => !want.includes(p)) : undefined;
    if (add !== undefined) this.raft.addPeer(add);
    else if (remove !== undefined) this.raft.removePeer(remove);
    else return;
    this.peersTimer = setTimeout(() => {
      this.peersTimer = null;
      this.reconcilePeers();
    }, PEER_CHANGE_RETRY_MS);
    this.peersTimer.unref();
  }

  stepDown(): boolean {
    if (!this.raft.stepDown()) return false;
    // Stop at once: what the consumer did during the handover could not be replicated anyway.
    this.goPassive();
    this.claimLeadership();
    return true;
  }

  async stop(): Promise<void> {
    if (this.closed) return;
    this.goPassive();
    this.closed = true;
    this.local.consumers.detach(this.name);
    await this.raft.stop();
  }

  async delete(): Promise<void> {
    if (this.closed) return;
    const wasLeader = this.live;
    this.closed = true;
    // First, while it is still live: waiting pull requests hear that the consumer is gone.
    const removed = this.local.consumers.remove(this.name, wasLeader);
    this.goPassive();
    await removed;
    await this.raft.stop();
    await this.ctx.deleteRaftGroup(this.ca.group);
  }

  // ---- RaftStateMachine ------------------------------------------------------------

  apply(index: number, data: Buffer): void {
    this.appliedIndex = index;
    const marker = decodeLeaderMarker(data);
    if (marker !== null) {
      // Every member has applied everything before a new leader's marker: a good moment to tidy the stream.
      this.tidyRetention();
      if (marker.peer === this.ctx.selfId && marker.term === this.markerTerm && this.raft.isLeader() && this.raft.term() === marker.term) this.goLive();
    } else {
      if (!this.applied.apply(data, this.released)) {
        this.ctx.core.logger.warn(`JetStream consumer '${this.local.account.name} > ${this.stream} > ${this.name}': skipped the unreadable rest of the entry at ${index}`);
      }
      if (this.released.length > 0 || this.ackedAhead.size > 0) this.release();
    }
    if (this.waiters.length > 0 && this.waiters[0].index <= index) this.answerWaiters(index);
  }

  async snapshot(): Promise<Buffer> {
    return this.applied.encode();
  }

  async restore(snapshot: Snapshot, _leader: PeerId): Promise<void> {
    if (!this.applied.restore(snapshot.data)) {
      this.ctx.core.logger.warn(`JetStream consumer '${this.local.account.name} > ${this.stream} > ${this.name}': unreadable snapshot ignored`);
    }
    this.appliedIndex = snapshot.meta.lastIndex;
    // The acks the snapshot covers will not be applied here: what they released goes now.
    this.tidyRetention();
  }

  leaderChanged(leader: PeerId | null, self: boolean): void {
    if (this.closed) return;
    if (!self) {
      this.goPassive();
      if (leader !== null) this.ctx.leaderElected('consumer', this.local.account, this.stream, this.name, false);
      return;
    }
    this.claimLeadership();
  }

  /**
   * Proposes this leader's marker (it goes live when it applies it). A
   * leader handing leadership over takes no proposals: it tries again
   * shortly, in case the handover fails and it stays leader.
   */
  private claimLeadership(): void {
    if (this.closed || this.live || !this.raft.isLeader()) return;
    this.markerTerm = this.raft.term();
    if (this.raft.propose(encodeLeaderMarker(this.markerTerm, this.ctx.selfId)) > 0) return;
    this.markerTerm = -1;
    if (this.claimTimer !== null) return;
    this.claimTimer = setTimeout(() => {
      this.claimTimer = null;
      this.claimLeadership();
    }, CLAIM_RETRY_MS);
    this.claimTimer.unref();
  }

  // ---- going live and passive ------------------------------------------------------

  private goLive(): void {
    if (this.live || this.closed) return;
    this.live = true;
    this.lastProposed = this.appliedIndex;
    const fresh = !this.applied.started;
    this.consumer.activate(fresh);
    if (fresh) {
      this.local.advisory(
        `$JS.EVENT.ADVISORY.CONSUMER.CREATED.${this.stream}.${this.name}`,
        consumerAdvisory('io.nats.jetstream.advisory.v1.consumer_action', this.consumer, { action: 'create' }),
      );
    }
    this.ctx.leaderElected('consumer', this.local.account, this.stream, this.name, true);
    this.reconcilePeers();
  }

  private goPassive(): void {
    this.markerTerm = -1;
    for (const t of [this.peersTimer, this.claimTimer]) if (t !== null) clearTimeout(t);
    this.peersTimer = this.claimTimer = null;
    if (!this.live) return;
    this.live = false;
    this.consumer.deactivate();
    this.batch.clear();
    const waiters = this.waiters;
    this.waiters = [];
    // Confirmed acks not yet replicated are not confirmed: their clients time out and ack again.
    for (const w of waiters) w.cb(LEADERSHIP_LOST);
  }

  // ---- ConsumerReplication (the live consumer reports, once per change) -------------

  get state(): ConsumerState {
    return this.applied.state;
  }

  delivered(sseq: number, dseq: number, dc: number, ts: number): void {
    this.batch.delivered(sseq, dseq, dc, ts);
  }

  acked(sseq: number, dseq: number): void {
    this.batch.acked(sseq, dseq);
  }

  ackedAll(sseq: number, dseq: number): void {
    this.batch.ackedAll(sseq, dseq);
  }

  terminated(sseq: number): void {
    this.batch.terminated(sseq);
  }

  maxDelivered(sseq: number): void {
    this.batch.maxDelivered(sseq);
  }

  progressed(sseq: number, ts: number): void {
    this.batch.progressed(sseq, ts);
  }

  started(sseq: number, lastPerSubject: readonly number[]): void {
    this.batch.started(sseq, lastPerSubject);
  }

  get lastPerSubject(): readonly number[] {
    return this.applied.lastPerSubject;
  }

  messageStored(seq: number): void {
    if (this.ackedAhead.size === 0 || !this.ackedAhead.delete(seq)) return;
    // Not from inside the stream's store call: once, after this turn's stores.
    if (this.arrived.length === 0) queueMicrotask(this.releaseArrived);
    this.arrived.push(seq);
  }

  clusterInfo(): Record<string, unknown> {
    return { ...this.ctx.clusterInfo(this.raft) };
  }

  // ---- interest and workqueue retention ---------------------------------------------

  /** Lets the local stream drop messages this consumer no longer needs (the stream checks the other consumers). */
  private release(): void {
    const seqs = this.released;
    // A stopped stream (server shutdown) is left alone: a restart replays these entries.
    if (this.local.config().retention === 'limits' || this.local.closed) {
      seqs.length = 0;
      return;
    }
    const last = this.local.store.state().lastSeq;
    // Ahead acks the stream has caught up with but did not announce (e.g. it caught up by snapshot) go now.
    if (this.ackedAhead.size > 0) {
      for (const seq of this.ackedAhead) {
        if (seq > last) continue;
        this.ackedAhead.delete(seq);
        this.local.acked(seq);
      }
    }
    for (const seq of seqs) {
      if (seq > last) this.ackedAhead.add(seq);
      else this.local.acked(seq);
    }
    seqs.length = 0;
  }

  /**
   * Interest and workqueue retention: messages at or below the replicated
   * ack floor that the local stream still holds (their removal was lost in
   * a crash, and the acks are no longer in the log after a snapshot) go
   * now, unless another consumer wants them. In slices: below the floor
   * there may be many messages that other consumers still want.
   */
  private tidyRetention(): void {
    if (this.tidying || this.local.config().retention === 'limits' || this.local.closed) return;
    if (this.local.store.state().firstSeq > this.applied.state.ackFloor.streamSeq) return;
    this.tidying = true;
    runInSlices(this.tidySteps(this.applied.state.ackFloor.streamSeq))
      .catch((e: unknown) => this.ctx.core.logger.warn(`JetStream consumer '${this.local.account.name} > ${this.stream} > ${this.name}': tidying the stream failed: ${String(e)}`))
      .finally(() => {
        this.tidying = false;
      });
  }

  private *tidySteps(floor: number): Generator<void, void> {
    const filters = filtersOf(this.consumer.config);
    const fl = filters.length === 0 ? null : filters;
    const store = this.local.store;
    for (let m = store.loadNextMsg(fl, 1); m !== null && m.seq <= floor; m = store.loadNextMsg(fl, m.seq + 1)) {
      if (this.closed || this.local.closed) return;
      this.local.acked(m.seq);
      yield;
    }
  }

  private readonly releaseArrived = (): void => {
    const seqs = this.arrived;
    this.arrived = [];
    if (this.closed || this.local.closed) return;
    for (const seq of seqs) this.local.acked(seq);
  };

  // ---- the live consumer's state writes (ReplicatedConsumerStore) -------------------

  /** The consumer's flush of a turn: this turn's changes become one proposal. */
  proposeTurn(): void {
    if (!this.live || this.batch.empty) return;
    const index = this.raft.propose(this.batch.take());
    if (index > 0) {
      this.lastProposed = index;
      return;
    }
    // Not taking proposals (deposed, or handing leadership over): the turn's changes are lost, so stop now.
    this.goPassive();
    this.claimLeadership();
  }

  /** Runs `cb` once everything proposed so far is applied (held by a quorum). */
  whenReplicated(cb: (err: Error | null) => void): void {
    if (!this.live) {
      cb(LEADERSHIP_LOST);
      return;
    }
    if (this.lastProposed <= this.appliedIndex) {
      queueMicrotask(() => cb(null));
      return;
    }
    this.waiters.push({ index: this.lastProposed, cb });
  }

  private answerWaiters(index: number): void {
    let n = 0;
    while (n < this.waiters.length && this.waiters[n].index <= index) n++;
    const done = this.waiters.splice(0, n);
    for (const w of done) w.cb(null);
  }

  // ---- ConsumerOwner ---------------------------------------------------------------

  /** The live consumer's inactive_threshold passed: the meta layer deletes it everywhere. */
  expire(): void {
    const handler = inactivityHandlers.get(this.js);
    if (handler === undefined) {
      this.ctx.core.logger.warn(`JetStream consumer '${this.local.account.name} > ${this.stream} > ${this.name}' is inactive, but nothing removes it in the cluster`);
      return;
    }
    handler(this.local.account.name, this.stream, this.name);
  }
}

/** Assignments are shared, read-only records; the consumer's config is its own (defaults get filled in). */
function cloneConfig(c: ConsumerConfig): ConsumerConfig {
  return JSON.parse(JSON.stringify(c)) as ConsumerConfig;
}

/** An assignment's `created` (RFC 3339, up to nanoseconds) as nanoseconds since the epoch. */
function parseCreated(text: string): EpochNanos {
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) return BigInt(Date.now()) * 1_000_000n;
  const frac = /\.(\d+)/.exec(text);
  const nanos = frac === null ? 0n : BigInt(frac[1].slice(0, 9).padEnd(9, '0'));
  return BigInt(Math.floor(ms / 1000)) * 1_000_000_000n + nanos;
}
