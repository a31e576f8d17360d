/**
 * One stream: captures its subjects through internal subscriptions, runs
 * nats-server's publish checks (expected headers, dedupe, rollup, sizes,
 * limits), stores, acknowledges once the store says the message is durable,
 * republishes, feeds its consumers and applies interest/workqueue retention.
 *
 * The publish path parses headers only when a message has them, never
 * parses JSON, and builds the PubAck by string concatenation. Replies and
 * republished messages leave in a microtask after the message was handled,
 * so the server's routing of the inbound message is never re-entered.
 *
 * In a JetStream cluster the stream is one replica of a Raft group
 * (cluster/stream-replica.ts): only the active leader captures, the checks
 * run against the applied state plus what is in flight (InFlight), the
 * message is proposed instead of stored, and every replica stores it in
 * `applyMsg` at the leader's sequence and timestamp.
 */
import type { Account } from '../accounts/account.js';
import type { InternalHandler, Subscription } from '../server/subscription.js';
import type { ClientIdentity } from '../server/client-identity.js';
import { SubjectTransform } from '../accounts/subject-transform.js';
import { subjectHasWildcard } from '../subjects/validate.js';
import { ConsumerSet } from './consumer/consumer-set.js';
import type { ConsumerHost } from './consumer/host.js';
import { StoreError, type PurgeOptions, type StreamStore } from './store/types.js';
import { storeError } from './store/store-errors.js';
import { fileStoreMsgSize, memStoreMsgSize } from './store/msg-size.js';
import { nowMs } from './store/clock.js';
import { storeLimitsOf } from './store-factory.js';
import type { StorageType, StreamConfig } from './types.js';
import type { JetStreamContext, OriginStream, StreamAccount, StreamCore } from './engine-context.js';
import { DedupeWindow } from './dedupe.js';
import { HDR_MSG_ID, headerValue, readPublishHeaders } from './headers.js';
import {
  JsApiError, accountResourcesExceeded, insufficientResources, streamHeaderExceedsMaximum, streamMessageExceedsMaximum,
  streamNotMatch, streamRollupFailed, streamSealed, streamStoreFailed, streamWrongLastMsgId, streamWrongLastSequence,
} from './api/errors.js';
import { msToTimeString, ZERO_TIME } from './time.js';
import { SourceSet, type SourceTarget } from './sources.js';
import { SubjectOverlapIndex } from './subject-overlap.js';
import { runInSlices } from './slices.js';
import {
  type DeleteEntry, type MsgEntry, type PurgeEntry, type StreamProposer, encodeDeleteEntry, encodeMsgEntry, encodePurgeEntry, FLAG_MIRROR,
  FLAG_SKIP,
} from './cluster/stream-entries.js';
import { InFlight } from './cluster/stream-inflight.js';
import { markerHeader, SubjectDeleteMarkers, ttlRefusal } from './ttl.js';
import { type CounterBase, counterAckTail, countMessage, incrRefusal } from './counter.js';
import { beginStreamTrace, endStreamTrace, noteStreamRefusal } from '../trace/trace-jetstream.js';
import { withTraceDisabled } from '../trace/trace-headers.js';
import { takeHandedTrace } from '../trace/trace-scope.js';

const NS_PER_MS = 1_000_000;
const EMPTY = Buffer.alloc(0);
const MAX_HEADER_BYTES = 65535;
/** Subscribing takes a few microseconds per subject: streams with many thousands do it in slices, yielding after this many. */
const SUBSCRIPTIONS_PER_STEP = 256;

/** A reply waiting for the store's durability confirmation; `ack` replies turn into errors if the write failed. */
interface PendingReply {
  reply: string;
  body: string;
  ack: boolean;
}

interface PendingRepublish {
  subject: string;
  hdr: string;
  data: Buffer;
}

export class Stream implements ConsumerHost, OriginStream, SourceTarget {
  readonly name: string;
  readonly account: Account;
  readonly core: StreamCore;
  readonly store: StreamStore;
  readonly created: number;
  /** RFC 3339 with nanoseconds, as created (kept for info and meta). */
  readonly createdText: string;
  readonly domain: string;
  readonly consumers: ConsumerSet;
  /** Directory of the stream's files; null for memory streams. */
  readonly dir: string | null;
  private readonly js: JetStreamContext;
  /** The account's limits and usage (stored messages are checked against them). */
  private readonly jsa: StreamAccount;
  private cfg: StreamConfig;
  /** The stream's subscriptions by subject. */
  private readonly subs = new Map<string, Subscription>();
  /** Counts subject changes; subscriptions made by a change carry its number. */
  private generation = 0;
  /**
   * While a change of subjects is under way: the subjects on their way out,
   * still subscribed. New subscriptions leave a message that one of these
   * also takes to it, so that overlapping old and new subjects never store
   * a message twice.
   */
  private retiring: SubjectOverlapIndex | null = null;
  /** Last sequence used, skipped ones included (nats-server's mset.lseq). */
  private lseq = 0;
  private lastMsgId = '';
  private readonly dedupe: DedupeWindow;
  private ackPrefix = '';
  private transform: SubjectTransform | null = null;
  private republishTransform: SubjectTransform | null = null;
  private pendingReplies: PendingReply[] = [];
  private pendingRepublish: PendingRepublish[] = [];
  private flushQueued = false;
  private removalsQueued = false;
  /** Mirrors and sourcing streams that follow this one; woken after each stored message. */
  readonly followers = new Set<() => void>();
  readonly sources: SourceSet;
  closed = false;
  /**
   * Set when this stream is one replica of a Raft group (cluster/stream-replica.ts):
   * publishes are checked here, then proposed; every member stores them when applied.
   */
  private proposer: StreamProposer | null = null;
  /** The active leader's proposed-but-not-applied messages (replicated streams only). */
  private inflight: InFlight | null = null;
  /** Subscribed to the stream's subjects (always on a single server once started; the active leader only when replicated). */
  private capturing = false;
  /** Subject delete markers (subject_delete_marker_ttl): written through processMsg, so a replica that does not lead writes none. */
  private readonly markers = new SubjectDeleteMarkers(
    // What the active leader has proposed counts: a put on its way must not be rolled up by a marker.
    (subject) => this.lastSeqOfSubject(subject) !== 0,
    (subject) => {
      const ttl = this.cfg.subject_delete_marker_ttl ?? 0;
      if (ttl > 0 && !this.closed) this.processMsg(subject, null, markerHeader(ttl), EMPTY, false);
    },
  );

  /** Counter messages the active leader proposed and has not applied, by subject: the next increment builds on them. */
  private readonly countersInFlight = new Map<string, { seq: number; hdr: Buffer | null; data: Buffer }>();
  /** The message a counter increment builds on: the subject's last, or a newer one in flight. */
  private readonly lastCounterMsg = (subject: string): CounterBase | null => {
    const f = this.inflight;
    if (f === null || f.empty) {
      this.countersInFlight.clear();
    } else {
      const p = this.countersInFlight.get(subject);
      if (p !== undefined && p.seq > this.lseq && f.lastOfSubject(subject) === p.seq) return p;
    }
    return this.store.loadLastMsg(subject);
  };

  constructor(js: JetStreamContext, jsa: StreamAccount, cfg: StreamConfig, store: StreamStore, createdText: string, dir: string | null) {
    this.js = js;
    this.jsa = jsa;
    this.name = cfg.name;
    this.account = jsa.account;
    this.core = js.core;
    this.store = store;
    this.createdText = createdText;
    this.created = Date.parse(createdText);
    this.domain = js.config.domain;
    this.dir = dir;
    this.cfg = cfg;
    this.dedupe = new DedupeWindow(cfg.duplicate_window / NS_PER_MS);
    this.applyConfig(cfg);
    this.lseq = store.state().lastSeq;
    this.rebuildDedupe();
    this.consumers = new ConsumerSet(this);
    // Removals are counted by the consumers, so they are heard once the consumers exist.
    store.setRemovalListener(this.onStoreRemoval);
    this.sources = new SourceSet(this, js);
  }

  get storage(): StorageType {
    return this.cfg.storage;
  }

  config(): StreamConfig {
    return this.cfg;
  }

  bytes(): number {
    return this.store.state().bytes;
  }

  /** Starts capturing subjects (in slices: there may be many thousands) and following origins. */
  async start(): Promise<void> {
    if (this.proposer !== null) return;
    await this.startCapturing();
  }

  /** Makes this stream a replica: it captures nothing until its replica calls startCapturing (leadership). */
  replicate(proposer: StreamProposer): void {
    this.proposer = proposer;
    this.inflight = new InFlight();
  }

  get replicated(): boolean {
    return this.proposer !== null;
  }

  /** Subscribes the subjects and follows the origins (a single server at start; a replica when it becomes the active leader). */
  async startCapturing(): Promise<void> {
    if (this.capturing || this.closed) return;
    this.capturing = true;
    this.inflight?.reset(this.lseq);
    await runInSlices(this.subscribeSteps(this.cfg.subjects ?? [], this.onInbound));
    if (!this.closed && this.capturing) this.sources.start();
  }

  /** Leadership lost: nothing more is taken, and what was proposed is forgotten (publishers retry, Nats-Msg-Id makes that safe). */
  async stopCapturing(): Promise<void> {
    if (!this.capturing) return;
    this.capturing = false;
    this.inflight?.reset(this.lseq);
    this.sources.stop();
    await this.unsubscribeAll();
  }

  /** New configuration (already validated): limits, subscriptions, transforms, sources. */
  async update(cfg: StreamConfig): Promise<void> {
    this.cfg = cfg;
    this.applyConfig(cfg);
    this.dedupe.setWindow(cfg.duplicate_window / NS_PER_MS);
    this.store.updateLimits(storeLimitsOf(cfg));
    if (this.capturing) {
      await this.resubscribe(cfg.subjects ?? []);
      this.sources.update();
    }
    this.consumers.streamUpdated();
    this.queueRemovals();
  }

  /**
   * Moves the subscriptions to `next`, in slices: subjects kept keep their
   * subscription; new ones are subscribed before old ones go, so nothing is
   * missed meanwhile, and `retiring` keeps overlapping ones from storing a
   * message twice.
   */
  private async resubscribe(next: readonly string[]): Promise<void> {
    const wanted = new Set(next);
    const leaving = [...this.subs.keys()].filter((subject) => !wanted.has(subject));
    const coming = next.filter((subject) => !this.subs.has(subject));
    if (leaving.length === 0 && coming.length === 0) return;
    const generation = ++this.generation;
    if (leaving.length > 0) {
      const retiring = new SubjectOverlapIndex();
      for (let i = 0; i < leaving.length; i++) retiring.insert(leaving[i], i);
      this.retiring = retiring;
    }
    await runInSlices(this.subscribeSteps(coming, this.arrivingHandler(generation)));
    await runInSlices(this.unsubscribeSteps(leaving));
    this.retiring = null;
  }

  /** The handler of subscriptions made by subject change `generation` (one per change, not per message). */
  private arrivingHandler(generation: number): InternalHandler {
    return (subject, reply, hdrLen, msg, from) => {
      // A message is literal: it collides exactly with the retiring subjects that match it.
      if (this.retiring !== null && generation === this.generation && this.retiring.findCollision(subject) >= 0) return;
      this.onInbound(subject, reply, hdrLen, msg, from);
    };
  }

  private *subscribeSteps(subjects: readonly string[], handler: InternalHandler): Generator<void, void> {
    for (let i = 0; i < subjects.length; i++) {
      if (this.closed || !this.capturing) return;
      this.subs.set(subjects[i], this.core.subscribeInternal(this.account, subjects[i], null, handler));
      if (i % SUBSCRIPTIONS_PER_STEP === SUBSCRIPTIONS_PER_STEP - 1) yield;
    }
  }

  private *unsubscribeSteps(subjects: readonly string[]): Generator<void, void> {
    for (let i = 0; i < subjects.length; i++) {
      const sub = this.subs.get(subjects[i]);
      if (sub !== undefined) {
        this.core.unsubscribeInternal(this.account, sub);
        this.subs.delete(subjects[i]);
      }
      if (i % SUBSCRIPTIONS_PER_STEP === SUBSCRIPTIONS_PER_STEP - 1) yield;
    }
  }

  private applyConfig(cfg: StreamConfig): void {
    // nats-server writes PubAcks by hand, with a space after each comma: byte for byte the same here.
    this.ackPrefix = this.domain === ''
      ? '{"stream":' + JSON.stringify(cfg.name) + ', "seq":'
      : '{"stream":' + JSON.stringify(cfg.name) + ', "domain":' + JSON.stringify(this.domain) + ', "seq":';
    const t = cfg.subject_transform;
    const tr = t === undefined ? null : SubjectTransform.create(t.src === '' ? '>' : t.src, t.dest);
    this.transform = tr instanceof SubjectTransform ? tr : null;
    const rp = cfg.republish;
    const rpt = rp === undefined ? null : SubjectTransform.create(rp.src ?? '>', rp.dest);
    this.republishTransform = rpt instanceof SubjectTransform ? rpt : null;
  }

  /** Drops every subscription, in slices; the stream is closed already, so what still arrives is ignored. */
  private unsubscribeAll(): Promise<void> {
    return runInSlices(this.unsubscribeSteps([...this.subs.keys()]));
  }

  /** Re-learns the Nats-Msg-Ids still inside the duplicate window after a restart. */
  private rebuildDedupe(): void {
    const windowMs = this.cfg.duplicate_window / NS_PER_MS;
    const st = this.store.state();
    if (windowMs === 0 || st.msgs === 0) return;
    const floor = Date.now() - windowMs;
    // Messages are stored in time order: find the first one inside the window
    // by binary search, then read forward (sequential reads are cheap on a
    // file store, reading backwards costs a read per message).
    let lo = st.firstSeq;
    let hi = st.lastSeq;
    while (lo < hi) {
      const mid = lo + Math.floor((hi - lo) / 2);
      const m = this.store.loadNextMsg(null, mid);
      if (m === null || m.ts >= floor) hi = mid;
      else lo = m.seq + 1;
    }
    for (let m = this.store.loadNextMsg(null, lo); m !== null; m = this.store.loadNextMsg(null, m.seq + 1)) {
      if (m.hdr === null || m.ts < floor) continue;
      const id = headerValue(m.hdr, HDR_MSG_ID);
      if (id !== null && id !== '') this.dedupe.record(id, m.seq, m.ts);
    }
    const last = this.store.loadMsg(st.lastSeq);
    if (last?.hdr) this.lastMsgId = headerValue(last.hdr, HDR_MSG_ID) ?? '';
  }

  // ---- publish path ---------------------------------------------------------

  private readonly onInbound = (subject: string, reply: string | null, hdrLen: number, msg: Buffer, _from: ClientIdentity | null): void => {
    if (this.closed) return;
    // ---- message tracing (src/trace): report what this stream does with a traced message ----
    const trace = takeHandedTrace();
    if (trace !== null) {
      const stored = this.transform === null ? subject : this.transform.apply(subject) ?? subject;
      if (!beginStreamTrace(trace, this.name, stored, this.cfg.retention === 'interest' && !this.consumers.interested(stored))) return;
      // The stored copy is not traced again when a consumer delivers it.
      const w = withTraceDisabled(msg, 0, hdrLen, msg.length);
      try {
        this.processMsg(subject, this.cfg.no_ack === true ? null : reply, w.buf.subarray(0, w.hdrLen), w.buf.subarray(w.hdrLen), false);
      } finally {
        endStreamTrace();
      }
      return;
    }
    const hdr = hdrLen > 0 ? msg.subarray(0, hdrLen) : null;
    const data = hdrLen > 0 ? msg.subarray(hdrLen) : msg;
    this.processMsg(subject, this.cfg.no_ack === true ? null : reply, hdr, data, false);
  };

  /**
   * Runs the checks and stores one message; answers `reply` (when set).
   * `sourced` messages come from a source stream: no consistency headers
   * apply to them and rollups need no permission. Returns the sequence or 0.
   */
  processMsg(subject: string, reply: string | null, hdr: Buffer | null, data: Buffer, sourced: boolean): number {
    const cfg = this.cfg;
    // A replica that stopped leading may still see a message routed to it this turn: the publisher times out and retries.
    if (this.proposer !== null && !this.proposer.active) return 0;
    if (cfg.sealed) return this.refuse(reply, streamSealed());
    if (this.transform !== null) subject = this.transform.apply(subject) ?? subject;
    let msgId: string | null = null;
    let rollup: string | null = null;
    if (hdr !== null) {
      const h = readPublishHeaders(hdr, hdr.length);
      const incrRefused = incrRefusal(cfg.allow_msg_counter === true, hdr, data.length, sourced, h);
      if (incrRefused !== null) return this.refuse(reply, incrRefused);
      if (!sourced) {
        if (h.expectedStream !== null && h.expectedStream !== this.name) return this.refuse(reply, streamNotMatch());
        if (h.expectedLastSubjSeq !== null) {
          const filter = h.expectedLastSubjSeqSubject ?? subject;
          const fseq = this.lastSeqOfFilter(filter);
          if (fseq !== h.expectedLastSubjSeq || this.filterUnsettled(filter)) return this.refuse(reply, streamWrongLastSequence(fseq));
        }
        if (h.expectedLastSeq !== null) {
          const lseq = this.projectedLastSeq();
          if (h.expectedLastSeq !== lseq) return this.refuse(reply, streamWrongLastSequence(lseq));
        }
      }
      msgId = h.msgId;
      if (msgId !== null && cfg.mirror === undefined) {
        const inflightDup = this.inflight !== null && !this.inflight.empty ? this.inflight.seqOfId(msgId) : 0;
        if (inflightDup > 0) {
          // The original is not committed yet: acknowledged as a duplicate only once it is.
          if (reply !== null) (this.inflight as InFlight).awaitDuplicate(inflightDup, reply);
          return 0;
        }
        const dup = this.dedupe.seqOf(msgId, Date.now());
        if (dup > 0) {
          if (reply !== null) this.queueReply(reply, this.ackPrefix + dup + ',"duplicate": true}', false);
          return 0;
        }
      }
      if (!sourced && h.expectedLastMsgId !== null) {
        const lastId = this.inflight !== null && !this.inflight.empty ? this.inflight.lastMsgId : this.lastMsgId;
        if (h.expectedLastMsgId !== lastId) return this.refuse(reply, streamWrongLastMsgId(lastId));
      }
      rollup = h.rollup;
      if (rollup !== null) {
        if (!sourced && (!cfg.allow_rollup_hdrs || cfg.deny_purge)) return this.refuse(reply, streamRollupFailed('rollup not permitted'));
        if (rollup !== 'sub' && rollup !== 'all') return this.refuse(reply, streamRollupFailed(`rollup value invalid: ${JSON.stringify(rollup)}`));
      }
      // Sourced messages keep their TTL header whatever this stream allows (ADR-43).
      if (h.ttl !== null && !sourced) {
        const refused = ttlRefusal(h.ttl, cfg.allow_msg_ttl === true);
        if (refused !== null) return this.refuse(reply, refused);
      }
    }
    if (cfg.allow_msg_counter === true) {
      const counted = countMessage(subject, hdr, data, this.lastCounterMsg);
      if (counted instanceof JsApiError) return this.refuse(reply, counted);
      hdr = counted.hdr;
      data = counted.data;
    }
    const hdrBytes = hdr === null ? 0 : hdr.length;
    if (cfg.max_msg_size >= 0 && hdrBytes + data.length > cfg.max_msg_size) return this.refuse(reply, streamMessageExceedsMaximum());
    if (hdrBytes > MAX_HEADER_BYTES) return this.refuse(reply, streamHeaderExceedsMaximum());
    const size = subject.length + hdrBytes + data.length;
    if (this.js.serverLimitExceeded(cfg.storage)) return this.refuse(reply, insufficientResources());

    if (cfg.retention === 'interest' && !this.consumers.interested(subject)) {
      // Nobody would ever read it: the sequence is used, nothing is kept.
      if (this.proposer !== null) return this.propose(FLAG_SKIP, subject, reply, hdr, EMPTY, msgId, null);
      this.lseq = this.store.skipMsg();
      this.lastMsgId = msgId ?? '';
      if (msgId !== null) this.dedupe.record(msgId, this.lseq, Date.now());
      if (reply !== null) this.queueReply(reply, this.ackPrefix + this.lseq + '}', true);
      return this.lseq;
    }
    const accMax = cfg.storage === 'memory' ? this.jsa.limits.maxMemory : this.jsa.limits.maxStore;
    if (accMax >= 0 && this.jsa.used(cfg.storage) + size > accMax) return this.refuse(reply, accountResourcesExceeded());

    if (this.proposer !== null) {
      const refused = cfg.discard === 'new' ? this.discardNewRefusal(subject, hdr, data) : null;
      if (refused !== null) return this.refuse(reply, refused);
      const proposed = this.propose(0, subject, reply, hdr, data, msgId, rollup);
      if (proposed > 0 && cfg.allow_msg_counter === true) this.countersInFlight.set(subject, { seq: proposed, hdr, data });
      return proposed;
    }
    let lastForSubject = 0;
    if (this.republishTransform !== null) lastForSubject = this.store.loadLastMsg(subject)?.seq ?? 0;
    let seq: number;
    let ts: number;
    try {
      const r = this.store.storeMsg(subject, hdr, data);
      seq = r.seq;
      ts = r.ts;
    } catch (e) {
      if (e instanceof StoreError) return this.refuse(reply, streamStoreFailed(e.message));
      throw e;
    }
    this.afterStore(seq, ts, subject, hdr, data, msgId, rollup, reply, lastForSubject, size);
    return seq;
  }

  /** What follows a stored message, on a single server and on every replica alike. */
  private afterStore(seq: number, ts: number, subject: string, hdr: Buffer | null, data: Buffer, msgId: string | null, rollup: string | null,
    reply: string | null, lastForSubject: number, size: number): void {
    this.js.noteStored(this.cfg.storage, size);
    this.lseq = seq;
    this.lastMsgId = msgId ?? '';
    if (msgId !== null) this.dedupe.record(msgId, seq, ts);
    if (rollup !== null) {
      this.store.purge(rollup === 'all' ? { keep: 1 } : { subject, keep: 1 });
      this.queueRemovals();
    }
    if (this.republishTransform !== null && this.capturing) this.queueRepublish(subject, seq, ts, lastForSubject, hdr, data);
    if (reply !== null) this.queueReply(reply, this.ackPrefix + seq + (this.cfg.allow_msg_counter === true ? counterAckTail(data) : '}'), true);
    this.consumers.messageStored(seq, subject);
    if (this.followers.size > 0) for (const wake of this.followers) wake();
  }

  // ---- replication ------------------------------------------------------------

  /** Last sequence including what the active leader proposed and has not applied yet. */
  private projectedLastSeq(): number {
    const f = this.inflight;
    return f !== null && !f.empty ? f.lastSeq : this.lseq;
  }

  private lastSeqOfSubject(subject: string): number {
    const f = this.inflight;
    if (f !== null && !f.empty) {
      const s = f.lastOfSubject(subject);
      if (s !== 0) return s < 0 ? 0 : s;
    }
    const last = this.store.loadLastMsg(subject);
    return last === null ? 0 : last.seq;
  }

  /** The last sequence of the messages `filter` (wildcards allowed: Nats-Expected-Last-Subject-Sequence-Subject) matches. */
  private lastSeqOfFilter(filter: string): number {
    return subjectHasWildcard(filter) ? this.store.loadLastMsg(filter)?.seq ?? 0 : this.lastSeqOfSubject(filter);
  }

  /**
   * While the active leader has proposals in flight, the last sequence of a
   * wildcard is not known (only literal subjects are tracked in flight): the
   * publish is refused, and retried by the client, rather than checked
   * against a number that may be stale.
   */
  private filterUnsettled(filter: string): boolean {
    return this.inflight !== null && !this.inflight.empty && subjectHasWildcard(filter);
  }

  /**
   * Discard-new limits checked before proposing, against the store plus
   * what is in flight: a message refused only at apply would still use its
   * sequence (every replica skips it), where a single server uses none.
   */
  private discardNewRefusal(subject: string, hdr: Buffer | null, data: Buffer): JsApiError | null {
    const cfg = this.cfg;
    const f = this.inflight as InFlight;
    const st = this.store.state();
    let atSubjectLimit = false;
    if (cfg.max_msgs_per_subject > 0) {
      const n = (this.store.subjectsState(subject).get(subject) ?? 0) + f.countOfSubject(subject);
      atSubjectLimit = n >= cfg.max_msgs_per_subject;
      if (atSubjectLimit && cfg.discard_new_per_subject === true) return streamStoreFailed(storeError('max_msgs_per_subject').message);
    }
    if (atSubjectLimit) return null;
    if (cfg.max_msgs > 0 && st.msgs + f.count >= cfg.max_msgs) return streamStoreFailed(storeError('max_msgs').message);
    if (cfg.max_bytes > 0 && st.bytes + f.bytes + this.storeSize(subject, hdr, data) >= cfg.max_bytes) {
      return streamStoreFailed(storeError('max_bytes').message);
    }
    return null;
  }

  private storeSize(subject: string, hdr: Buffer | null, data: Buffer): number {
    const hdrLen = hdr === null ? 0 : hdr.length;
    return this.store.kind === 'memory' ? memStoreMsgSize(subject.length, hdrLen, data.length) : fileStoreMsgSize(subject.length, hdrLen, data.length);
  }

  /** Proposes a checked message at the next sequence; its PubAck goes out once it is applied here. */
  private propose(flags: number, subject: string, reply: string | null, hdr: Buffer | null, data: Buffer, msgId: string | null, rollup: string | null): number {
    const seq = this.projectedLastSeq() + 1;
    const entry = encodeMsgEntry(flags, seq, nowMs(), subject, hdr, data);
    if (!(this.proposer as StreamProposer).proposeMsg(entry, reply)) return 0;
    (this.inflight as InFlight).proposed(seq, subject, this.storeSize(subject, hdr, data), msgId, rollup === 'all', (flags & FLAG_SKIP) !== 0);
    return seq;
  }

  /**
   * A committed message entry, on every replica in log order: stored at the
   * leader's sequence and timestamp with the stream's limits, so every
   * replica holds the same. `reply` is set on the leader that proposed it.
   */
  applyMsg(e: MsgEntry, reply: string | null): void {
    // Already stored before a restart: the log replays what the last snapshot does not cover.
    if (e.seq <= this.lseq) return;
    const mirror = (e.flags & FLAG_MIRROR) !== 0;
    const skip = (e.flags & FLAG_SKIP) !== 0;
    let msgId: string | null = null;
    let rollup: string | null = null;
    if (e.hdr !== null && !mirror) {
      const h = readPublishHeaders(e.hdr, e.hdr.length);
      msgId = h.msgId;
      rollup = h.rollup === 'all' || h.rollup === 'sub' ? h.rollup : null;
    }
    const inflight = this.inflight;
    if (inflight !== null && !inflight.empty) {
      const dups = inflight.takeDuplicates(e.seq);
      if (dups !== null) for (const r of dups) this.queueReply(r, this.ackPrefix + e.seq + ',"duplicate": true}', false);
      inflight.applied(e.seq, e.subject, this.storeSize(e.subject, e.hdr, e.data), msgId, skip);
    }
    if (mirror) {
      try {
        this.writeMirrored(e.seq, e.subject, e.hdr, e.data, e.ts);
      } catch (err) {
        if (!(err instanceof StoreError)) throw err;
        this.skipTo(e.seq);
      }
      return;
    }
    if (skip) {
      this.skipTo(e.seq);
      this.lastMsgId = msgId ?? '';
      if (msgId !== null) this.dedupe.record(msgId, e.seq, e.ts);
      if (reply !== null) this.queueReply(reply, this.ackPrefix + e.seq + '}', true);
      return;
    }
    const lastForSubject = this.republishTransform !== null && this.capturing ? this.store.loadLastMsg(e.subject)?.seq ?? 0 : 0;
    try {
      this.store.storeMsgAt(e.seq, e.subject, e.hdr, e.data, e.ts);
    } catch (err) {
      if (!(err instanceof StoreError)) throw err;
      // Refused here (a limit, a full disk): the sequence is used anyway, so every replica keeps numbering alike.
      this.skipTo(e.seq);
      this.refuse(reply, streamStoreFailed(err.message));
      return;
    }
    this.afterStore(e.seq, e.ts, e.subject, e.hdr, e.data, msgId, rollup, reply, lastForSubject, e.subject.length + (e.hdr?.length ?? 0) + e.data.length);
  }

  private skipTo(seq: number): void {
    let s = this.lseq;
    while (s < seq) s = this.store.skipMsg();
    this.lseq = s;
  }

  /**
   * A committed purge, in slices (the group applies nothing else meanwhile);
   * 0 when it is a replay of one that already ran.
   */
  async applyPurge(p: PurgeEntry): Promise<number> {
    if (p.last < this.lseq) return 0;
    const opts: PurgeOptions = {};
    if (typeof p.subject === 'string' && p.subject !== '') opts.subject = p.subject;
    if (typeof p.seq === 'number' && p.seq > 0) opts.seq = p.seq;
    if (typeof p.keep === 'number' && p.keep > 0) opts.keep = p.keep;
    const purged = await runInSlices(this.store.purgeSteps(opts));
    this.lseq = this.store.state().lastSeq;
    this.queueRemovals();
    return purged;
  }

  applyDelete(d: DeleteEntry): boolean {
    const removed = d.erase ? this.store.eraseMsg(d.seq) : this.store.removeMsg(d.seq);
    if (removed) this.queueRemovals();
    return removed;
  }

  /** The purge API on the active leader of a replicated stream: answered once applied; null when leadership was lost. */
  async proposePurge(opts: PurgeOptions): Promise<number | null> {
    const r = await (this.proposer as StreamProposer).proposeOp(encodePurgeEntry({ last: this.projectedLastSeq(), ...opts }));
    return typeof r === 'number' ? r : null;
  }

  /** The message delete API on the active leader: null when leadership was lost. */
  async proposeDelete(seq: number, erase: boolean): Promise<boolean | null> {
    const r = await (this.proposer as StreamProposer).proposeOp(encodeDeleteEntry({ seq, erase }));
    return typeof r === 'boolean' ? r : null;
  }

  /** After a catch-up (restore) replaced the stored state: the sequence, last Nats-Msg-Id and dedupe window follow the store. */
  resetFromStore(): void {
    this.lseq = this.store.state().lastSeq;
    this.lastMsgId = '';
    this.dedupe.clear();
    this.rebuildDedupe();
    this.inflight?.reset(this.lseq);
    this.queueRemovals();
  }

  /** Stores a message at the origin's sequence (mirrors). */
  storeMirrored(seq: number, subject: string, hdr: Buffer | null, data: Buffer, ts: number): void {
    if (this.proposer === null) {
      this.writeMirrored(seq, subject, hdr, data, ts);
      return;
    }
    if (!this.proposer.active || !this.proposer.proposeMsg(encodeMsgEntry(FLAG_MIRROR, seq, ts, subject, hdr, data), null)) return;
    (this.inflight as InFlight).proposed(seq, subject, this.storeSize(subject, hdr, data), null, false, false);
  }

  private writeMirrored(seq: number, subject: string, hdr: Buffer | null, data: Buffer, ts: number): void {
    const st = this.store.state();
    // A mirror starting from a later origin sequence begins its own numbering there.
    if (st.msgs === 0 && st.lastSeq < seq - 1) this.store.compact(seq);
    this.store.storeMsgAt(seq, subject, hdr, data, ts);
    this.lseq = seq;
    this.js.noteStored(this.cfg.storage, subject.length + (hdr?.length ?? 0) + data.length);
    this.consumers.messageStored(seq, subject);
    if (this.followers.size > 0) for (const wake of this.followers) wake();
  }

  private refuse(reply: string | null, err: JsApiError): number {
    noteStreamRefusal(err);
    if (reply !== null) {
      this.queueReply(reply, '{"error":' + JSON.stringify(err.toJSON()) + ',"stream":' + JSON.stringify(this.name) + ',"seq":0}', false);
    }
    return 0;
  }

  private queueReply(reply: string, body: string, ack: boolean): void {
    this.pendingReplies.push({ reply, body, ack });
    this.queueFlush();
  }

  private queueRepublish(subject: string, seq: number, ts: number, last: number, hdr: Buffer | null, data: Buffer): void {
    const dest = (this.republishTransform as SubjectTransform).apply(subject);
    if (dest === null) return;
    const headersOnly = this.cfg.republish?.headers_only === true;
    let lines = `Nats-Stream: ${this.name}\r\nNats-Subject: ${subject}\r\nNats-Sequence: ${seq}\r\nNats-Time-Stamp: ${msToTimeString(ts)}\r\nNats-Last-Sequence: ${last}\r\n`;
    if (headersOnly) lines += `Nats-Msg-Size: ${data.length}\r\n`;
    const base = hdr === null ? 'NATS/1.0\r\n' : hdr.toString('latin1', 0, hdr.length - 2);
    this.pendingRepublish.push({ subject: dest, hdr: base + lines + '\r\n', data: headersOnly ? Buffer.alloc(0) : Buffer.from(data) });
    this.queueFlush();
  }

  private queueFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(this.flush);
  }

  /** Sends what this turn's messages produced once the store confirms they are durable. */
  private readonly flush = (): void => {
    this.flushQueued = false;
    const replies = this.pendingReplies;
    const republish = this.pendingRepublish;
    this.pendingReplies = [];
    this.pendingRepublish = [];
    this.store.whenDurable((err) => {
      if (this.core.shuttingDown && this.closed) return;
      for (const r of republish) this.core.publishInternal(this.account, r.subject, null, r.data, r.hdr);
      for (const r of replies) {
        const body = err !== null && r.ack
          ? '{"error":' + JSON.stringify(streamStoreFailed(err.message).toJSON()) + ',"stream":' + JSON.stringify(this.name) + ',"seq":0}'
          : r.body;
        // An empty (not absent) reply field, as nats-server sends PubAcks: `MSG <inbox> <sid>  <size>`.
        this.core.publishInternal(this.account, r.reply, '', body);
      }
    });
  };

  private readonly onStoreRemoval = (seq: number, subject: string, expired: boolean): void => {
    this.consumers.messageRemoved(seq, subject);
    this.queueRemovals();
    if (expired && (this.cfg.subject_delete_marker_ttl ?? 0) > 0) this.markers.noteExpired(subject);
  };

  /** Consumers hear about removals once per turn, however many messages went. */
  queueRemovals(): void {
    if (this.removalsQueued) return;
    this.removalsQueued = true;
    queueMicrotask(() => {
      this.removalsQueued = false;
      if (!this.closed) this.consumers.messagesRemoved();
    });
  }

  // ---- ConsumerHost ---------------------------------------------------------

  acked(seq: number): void {
    if (this.cfg.retention === 'limits') return;
    const m = this.store.loadMsg(seq);
    if (m === null || this.consumers.wants(seq, m.subject)) return;
    if (this.store.removeMsg(seq)) this.queueRemovals();
  }

  advisory(subject: string, body: Record<string, unknown>): void {
    this.js.advisory(this.account, subject, body);
  }

  // ---- info -----------------------------------------------------------------

  /** `state` as the API reports it, with per-subject counts and interior deletes when asked for. */
  stateJson(opts: { subjects?: Record<string, number>; deletedDetails?: boolean } = {}): Record<string, unknown> {
    const st = this.store.state();
    const empty = st.msgs === 0;
    const o: Record<string, unknown> = {
      messages: st.msgs,
      bytes: st.bytes,
      first_seq: empty && st.lastSeq === 0 ? 0 : st.firstSeq,
      first_ts: empty ? ZERO_TIME : msToTimeString(st.firstTs),
      last_seq: st.lastSeq,
      last_ts: st.lastTs === 0 ? ZERO_TIME : msToTimeString(st.lastTs),
    };
    if (st.numSubjects > 0) o.num_subjects = st.numSubjects;
    if (opts.subjects !== undefined) o.subjects = opts.subjects;
    if (opts.deletedDetails === true) {
      const d = this.store.deletedSeqs();
      if (d.length > 0) o.deleted = d;
    }
    if (st.numDeleted > 0) o.num_deleted = st.numDeleted;
    o.consumer_count = this.consumers.count();
    return o;
  }

  // ---- lifecycle ------------------------------------------------------------

  /** Server shutdown: stop capturing, stop consumers and sources, close the store. */
  async stop(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.markers.clear();
    this.sources.stop();
    await this.unsubscribeAll();
    await this.consumers.stop();
    await new Promise<void>((resolve) => this.store.whenDurable(() => resolve()));
    await this.store.stop();
  }

  /** Stream deletion: like stop, then every stored byte goes. */
  async delete(): Promise<void> {
    this.closed = true;
    this.sources.stop();
    await this.unsubscribeAll();
    await this.consumers.delete();
    await this.store.delete();
  }
}
