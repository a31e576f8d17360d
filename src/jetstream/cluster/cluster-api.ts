/**
 * Stream and consumer creates, updates and deletes in a cluster, on the meta
 * leader (the gate sends them nowhere else).
 *
 * The meta leader checks a request as one server would (the same
 * validators), counts the account's limits from the assignments (every
 * replica reserves max_bytes), places the group and proposes the
 * assignment with the request's reply subject in it. Then:
 * - a create is answered by the group's first leader, once it is elected
 *   and holds the new stream or consumer (so the answer carries the real
 *   `cluster` block); every member notes the fresh assignment when it is
 *   applied, and the one elected answers;
 * - an update or a delete is answered by the meta leader once its entry is
 *   applied (an update with the info of the asset's leader, asked over
 *   `$JSC.SI` / `$JSC.CI`).
 * Creating what exists with the same config answers its info, as one server
 * does.
 */
import { randomBytes } from 'node:crypto';
import type { Account } from '../../accounts/account.js';
import { clientInfo } from '../../accounts/client-info.js';
import type { Unregister } from '../../server/core.js';
import type { ApiRequest, ApiResponse } from '../api/context.js';
import {
  type JsApiError, consumerNotFound, maximumStreamsLimit, notEmptyRequest, streamInvalidConfig, streamMismatch, streamNameContainsPathSeparators,
  streamCreate, streamNameExist, streamNotFound, streamSubjectOverlap,
} from '../api/errors.js';
import * as CE from '../api/consumer-errors.js';
import { checkStreamReservation } from '../account-limits.js';
import { applyDefaults, checkConfig, checkUpdate, configJson, sameConfig as sameConsumerConfig } from '../consumer/config.js';
import type { JetStream } from '../jetstream.js';
import type { JsAccount } from '../js-account.js';
import { isEmptyRequest } from '../api/request.js';
import { runInSlices } from '../slices.js';
import {
  checkStreamConfig, checkStreamUpdate, checkSubjectList, decodeStreamConfig, isConfig, sameConfig, streamConfigJson, type StreamConfigEnv,
} from '../stream-config.js';
import { anyCollision, MAX_OVERLAP_WORK, SubjectOverlapIndex } from '../subject-overlap.js';
import { nowTimeString } from '../time.js';
import type { ConsumerConfig, StreamConfig } from '../types.js';
import { clusterNotAvailable, noSuitablePeers } from './cluster-errors.js';
import { askLeaders, consumerInfoSubject, localConsumerInfo, localStreamInfo, streamInfoSubject } from './cluster-list.js';
import { parseConsumerCreate } from './consumer-request.js';
import { placeConsumerGroup, placeGroup } from './placement.js';
import type { ConsumerAssignment, MetaOp, MetaView, RaftGroupSpec, StreamAssignment } from './types.js';

const STREAM_TYPE = 'io.nats.jetstream.api.v1.stream_';
const CONSUMER_TYPE = 'io.nats.jetstream.api.v1.consumer_';
/** An assignment this recent, applied here with a reply subject, is a create still to be answered (older ones are replays). */
const FRESH_MS = 30_000;
/** How long the meta leader waits for its own entry to be applied before it gives up on answering. */
const APPLY_WAIT_MS = 10_000;
/** How long an elected leader waits for its new stream or consumer to open before it answers the create. */
const OPEN_WAIT_MS = 5_000;
/** When the preferred server of a new group, whose replica did not open, answers the create with an error. */
const FAILED_OPEN_AFTER_MS = 10_000;
/** How long an idempotent create or an update waits for the asset's leader to tell its info. */
const INFO_WAIT_MS = 2_000;

/** A clustered API family's answer for one request. */
export type ClusterHandler = (req: ApiRequest, jsa: JsAccount) => ApiResponse | Promise<ApiResponse>;

interface PendingCreate {
  readonly account: string;
  readonly stream: string;
  /** null for a stream. */
  readonly consumer: string | null;
  readonly reply: string;
  readonly noted: number;
}

interface AppliedWaiter {
  matches(op: MetaOp): boolean;
  resolve(applied: boolean): void;
}

const NAME_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** 8 random letters and digits: ephemeral consumer names and group name suffixes, as nats-server makes them. */
function randomName(): string {
  const b = randomBytes(8);
  let s = '';
  for (let i = 0; i < 8; i++) s += NAME_CHARS[b[i] % NAME_CHARS.length];
  return s;
}

const keyOf = (account: string, stream: string, consumer: string | null = null): string =>
  consumer === null ? `${account}\u0000${stream}` : `${account}\u0000${stream}\u0000${consumer}`;

function streamFail(name: string, err: JsApiError, extras: Record<string, unknown> = {}): ApiResponse {
  return { type: `${STREAM_TYPE}${name}_response`, error: err.toJSON(), ...extras };
}

function consumerFail(name: string, err: JsApiError): ApiResponse {
  return { type: `${CONSUMER_TYPE}${name}_response`, error: err.toJSON() };
}

export class ClusteredApi {
  /** Streams proposed and not yet applied (a second create must see them), with when they were proposed. */
  private readonly inflight = new Map<string, { config: StreamConfig; at: number }>();
  /** Fresh creates applied here, waiting for their group's first leader. */
  private readonly pendingCreates = new Map<string, PendingCreate>();
  private readonly waiters = new Set<AppliedWaiter>();
  private readonly offApplied: Unregister;

  constructor(private readonly js: JetStream, private readonly meta: MetaView) {
    this.offApplied = meta.onApplied((op) => this.applied(op));
  }

  close(): void {
    this.offApplied();
    for (const w of this.waiters) w.resolve(false);
    this.waiters.clear();
  }

  /** The clustered handler for a meta-leader request; null when the single-server handler serves it as is. */
  handlerFor(t: readonly string[]): ClusterHandler | null {
    if (t[0] === 'STREAM') {
      switch (t[1]) {
        case 'CREATE': return (req, jsa) => jsa.serially(() => this.createStream(req, jsa));
        case 'UPDATE': return (req, jsa) => this.updateStream(req, jsa);
        case 'DELETE': return (req, jsa) => this.deleteStream(req, jsa);
        default: return null;
      }
    }
    if (t[0] === 'CONSUMER') {
      switch (t[1]) {
        case 'CREATE': return (req, jsa) => jsa.serially(() => this.createConsumer(req, false));
        case 'DURABLE': return (req, jsa) => jsa.serially(() => this.createConsumer(req, true));
        case 'DELETE': return (req) => this.deleteConsumer(req);
        default: return null;
      }
    }
    return null;
  }

  // ---- answers from the group's first leader ---------------------------------

  /** A group this server belongs to has a leader (`self`: here): answers the create that made it, if it is fresh. */
  leaderElected(account: Account, stream: string, consumer: string | null, self: boolean): void {
    const key = keyOf(account.name, stream, consumer);
    const pending = this.pendingCreates.get(key);
    if (pending === undefined) return;
    this.pendingCreates.delete(key);
    if (self) void this.answerCreate(account, pending);
  }

  private async answerCreate(account: Account, p: PendingCreate): Promise<void> {
    const deadline = Date.now() + OPEN_WAIT_MS;
    for (;;) {
      const info = p.consumer === null
        ? this.leading(p) ? localStreamInfo(this.js, this.meta, p.account, p.stream) : null
        : this.leading(p) ? localConsumerInfo(this.js, this.meta, p.account, p.stream, p.consumer) : null;
      if (info !== null) {
        const res = p.consumer === null
          ? { type: `${STREAM_TYPE}create_response`, ...info, did_create: true }
          : { type: `${CONSUMER_TYPE}create_response`, ...info };
        if (!this.js.core.shuttingDown) this.js.core.publishInternal(account, p.reply, null, JSON.stringify(res));
        return;
      }
      if (Date.now() > deadline) {
        this.js.core.logger.warn(`JetStream cluster: the create of '${p.account} > ${p.stream}${p.consumer === null ? '' : ` > ${p.consumer}`}' was not answered: its replica did not open here in time`);
        return;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  private leading(p: PendingCreate): boolean {
    const replica = p.consumer === null
      ? this.meta.streamReplica(p.account, p.stream)
      : this.meta.consumerReplica(p.account, p.stream, p.consumer);
    return replica !== null && replica.isActiveLeader();
  }

  private applied(op: MetaOp): void {
    const now = Date.now();
    if (op.op === 'add-stream' || op.op === 'update-stream') this.inflight.delete(keyOf(op.sa.account, op.sa.config.name));
    if (op.op === 'add-stream') this.notePending(op.sa, op.sa.config.name, null, now);
    if (op.op === 'add-consumer') this.notePending(op.ca, op.ca.stream, op.ca.name, now);
    for (const w of this.waiters) {
      if (!w.matches(op)) continue;
      this.waiters.delete(w);
      w.resolve(true);
    }
  }

  private notePending(a: StreamAssignment | ConsumerAssignment, stream: string, consumer: string | null, now: number): void {
    if (a.reply === undefined || a.reply === '' || !a.group.peers.includes(this.meta.context.selfId)) return;
    if (now - (Date.parse(a.created) || 0) > FRESH_MS) return;
    // Entries of groups whose leader was elected elsewhere, long ago: dropped as new ones come.
    for (const [k, p] of this.pendingCreates) if (now - p.noted > FRESH_MS) this.pendingCreates.delete(k);
    const pending: PendingCreate = { account: a.account, stream, consumer, reply: a.reply, noted: now };
    this.pendingCreates.set(keyOf(a.account, stream, consumer), pending);
    if (a.group.preferred === this.meta.context.selfId) {
      const timer = setTimeout(() => void this.reportFailedOpen(pending), FAILED_OPEN_AFTER_MS);
      timer.unref();
    }
  }

  /**
   * The group's preferred server, whose replica never opened (the store
   * could not be created: disk full, permissions): unless some member leads
   * the new group after all, it answers the create with an error, so the
   * client is not left to time out (nats-server has its members report to
   * the meta leader, which answers).
   */
  private async reportFailedOpen(p: PendingCreate): Promise<void> {
    const key = keyOf(p.account, p.stream, p.consumer);
    if (this.pendingCreates.get(key) !== p) return;
    const opened = p.consumer === null ? this.meta.streamReplica(p.account, p.stream) : this.meta.consumerReplica(p.account, p.stream, p.consumer);
    if (opened !== null) return;
    const subject = p.consumer === null ? streamInfoSubject(p.account, p.stream) : consumerInfoSubject(p.account, p.stream, p.consumer);
    if (await this.leaderInfo(subject) !== null || this.pendingCreates.get(key) !== p) return;
    this.pendingCreates.delete(key);
    const account = this.js.core.accounts.get(p.account);
    if (account === undefined || this.js.core.shuttingDown) return;
    const why = `replica could not be started on server '${this.js.core.name}'`;
    const res = p.consumer === null
      ? { type: `${STREAM_TYPE}create_response`, error: streamCreate(why).toJSON() }
      : { type: `${CONSUMER_TYPE}create_response`, error: CE.consumerCreate(why).toJSON() };
    this.js.core.publishInternal(account, p.reply, null, JSON.stringify(res));
  }

  /** Resolves true once an op matching `matches` is applied here, false after APPLY_WAIT_MS. */
  private whenApplied(matches: (op: MetaOp) => boolean): Promise<boolean> {
    return new Promise((resolve) => {
      const waiter: AppliedWaiter = {
        matches,
        resolve: (applied) => {
          clearTimeout(timer);
          resolve(applied);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        resolve(false);
      }, APPLY_WAIT_MS);
      this.waiters.add(waiter);
    });
  }

  // ---- streams -----------------------------------------------------------------

  private env(account: string): StreamConfigEnv {
    return { lookup: (n) => this.meta.stream(account, n)?.config ?? this.liveInflight(account, n), clustered: true };
  }

  private liveInflight(account: string, name: string): StreamConfig | null {
    const f = this.inflight.get(keyOf(account, name));
    return f !== undefined && Date.now() - f.at < APPLY_WAIT_MS ? f.config : null;
  }

  private async createStream(req: ApiRequest, jsa: JsAccount): Promise<ApiResponse> {
    const account = req.account.name;
    const input = decodeStreamConfig(req.body, this.js.config.strict);
    if (input instanceof Error) return streamFail('create', input);
    const name = req.tokens[2];
    if ((input.name ?? '') !== name) return streamFail('create', streamMismatch());
    if (/[\\/]/.test(name)) return streamFail('create', streamNameContainsPathSeparators());
    if (input.sealed === true) return streamFail('create', streamInvalidConfig('stream configuration for create can not be sealed'));
    const existing = this.meta.stream(account, name)?.config ?? this.liveInflight(account, name);
    const others = this.meta.streams(account).filter((sa) => sa.config.name !== name);
    if (existing === null && jsa.limits.maxStreams > 0 && others.length >= jsa.limits.maxStreams) return streamFail('create', maximumStreamsLimit());
    const checked = await runInSlices(checkSubjectList(input.subjects ?? [], input.no_ack === true));
    const cfg = checkStreamConfig(input, this.env(account), checked);
    if (!isConfig(cfg)) return streamFail('create', cfg);
    if (existing !== null) {
      if (!sameConfig(existing, cfg)) return streamFail('create', streamNameExist());
      // nats-server passes this on to the stream's leader as an info request: its answer has the info's paging fields and no did_create.
      const info = await this.leaderInfo(streamInfoSubject(account, name));
      return info === null ? streamFail('create', clusterNotAvailable()) : { type: `${STREAM_TYPE}create_response`, total: 0, offset: 0, limit: 0, ...info };
    }
    const refused = await this.overlapOrReservation(jsa, cfg, others);
    if (refused !== null) return streamFail('create', refused);
    const group = placeGroup(this.meta, 'stream', cfg.num_replicas, cfg.storage, cfg.placement, this.meta.context.clusterName, cfg.max_bytes);
    if (group instanceof Error) return streamFail('create', group);
    const sa: StreamAssignment = {
      account, config: cfg, group, created: nowTimeString(), ...this.origin(req),
    };
    if (!this.meta.propose({ op: 'add-stream', sa })) return streamFail('create', clusterNotAvailable());
    this.inflight.set(keyOf(account, name), { config: cfg, at: Date.now() });
    // The group's first leader answers.
    return null;
  }

  private async updateStream(req: ApiRequest, jsa: JsAccount): Promise<ApiResponse> {
    const account = req.account.name;
    const input = decodeStreamConfig(req.body, this.js.config.strict);
    if (input instanceof Error) return streamFail('update', input);
    const subjectCheck = await runInSlices(checkSubjectList(input.subjects ?? [], input.no_ack === true));
    const env = this.env(account);
    const valid = checkStreamConfig(input, env, subjectCheck);
    if (!isConfig(valid)) return streamFail('update', valid);
    const name = req.tokens[2];
    if (valid.name !== name) return streamFail('update', streamMismatch());
    const proposed = await jsa.serially(async (): Promise<StreamConfig | JsApiError> => {
      const sa = this.meta.stream(account, name);
      if (sa === null) return streamNotFound();
      const cfg = checkStreamUpdate(sa.config, input, env, subjectCheck);
      if (!isConfig(cfg)) return cfg;
      const others = this.meta.streams(account).filter((o) => o.config.name !== name);
      const refused = await this.overlapOrReservation(jsa, cfg, others);
      if (refused !== null) return refused;
      const group = cfg.num_replicas === sa.group.peers.length ? sa.group : this.regroup(sa.group, cfg.num_replicas);
      if (group instanceof Error) return group;
      const next: StreamAssignment = { ...sa, config: cfg, group, ...this.origin(req) };
      if (!this.meta.propose({ op: 'update-stream', sa: next })) return clusterNotAvailable();
      if (group !== sa.group) this.consumersFollow(sa, group.peers);
      return cfg;
    });
    if (proposed instanceof Error) return streamFail('update', proposed);
    const applied = await this.whenApplied((op) => op.op === 'update-stream' && op.sa.account === account && op.sa.config.name === name);
    if (!applied) return streamFail('update', clusterNotAvailable());
    const info = await this.leaderInfo(streamInfoSubject(account, name));
    if (info === null) return streamFail('update', clusterNotAvailable());
    // The leader may not have taken the new config in yet: what was applied is what the answer shows.
    return { type: `${STREAM_TYPE}update_response`, ...info, config: streamConfigJson(proposed) };
  }

  /**
   * A stream's group for a new replica count: fewer keeps the online members
   * first; more adds the online servers of its cluster with the most free
   * storage. The stream's leader then changes the Raft membership (one peer
   * at a time), as the members apply the new assignment.
   */
  private regroup(group: RaftGroupSpec, replicas: number): RaftGroupSpec | JsApiError {
    const known = new Map(this.meta.peers().map((p) => [p.id, p]));
    const online = (id: string): boolean => known.get(id)?.offline === false;
    let peers: string[];
    if (replicas < group.peers.length) {
      peers = [...group.peers.filter(online), ...group.peers.filter((id) => !online(id))].slice(0, replicas);
    } else {
      const extra = this.meta.peers()
        .filter((p) => !p.offline && p.cluster === group.cluster && !group.peers.includes(p.id) && !p.tags.includes('!jetstream'))
        .sort((a, b) => b.available[group.store] - a.available[group.store]);
      if (group.peers.length + extra.length < replicas) return noSuitablePeers();
      peers = [...group.peers, ...extra.slice(0, replicas - group.peers.length).map((p) => p.id)];
    }
    return { ...group, peers, preferred: peers.find(online) ?? peers[0] };
  }

  /**
   * The stream's consumers follow its new peers: durables without their own
   * replica count take the stream's; the others keep theirs (at most the
   * stream's), on peers the stream still has.
   */
  private consumersFollow(sa: StreamAssignment, streamPeers: readonly string[]): void {
    for (const ca of this.meta.consumers(sa.account, sa.config.name)) {
      const own = ca.config.num_replicas ?? 0;
      const durable = (ca.config.durable_name ?? '') !== '';
      const target = Math.min(own > 0 ? own : durable ? streamPeers.length : ca.group.peers.length, streamPeers.length);
      const kept = ca.group.peers.filter((p) => streamPeers.includes(p));
      const peers = [...kept, ...streamPeers.filter((p) => !kept.includes(p))].slice(0, target);
      if (peers.length === ca.group.peers.length && peers.every((p, i) => p === ca.group.peers[i])) continue;
      const moved: ConsumerAssignment = { ...ca, group: { ...ca.group, peers, preferred: peers[0] } };
      this.meta.propose({ op: 'add-consumer', ca: moved });
    }
  }

  private async deleteStream(req: ApiRequest, jsa: JsAccount): Promise<ApiResponse> {
    if (!isEmptyRequest(req.body)) return streamFail('delete', notEmptyRequest());
    const account = req.account.name;
    const name = req.tokens[2];
    const proposed = await jsa.serially((): JsApiError | null => {
      if (this.meta.stream(account, name) === null) return streamNotFound();
      return this.meta.propose({ op: 'remove-stream', account, stream: name }) ? null : clusterNotAvailable();
    });
    if (proposed !== null) return streamFail('delete', proposed);
    const applied = await this.whenApplied((op) => op.op === 'remove-stream' && op.account === account && op.stream === name);
    return applied ? { type: `${STREAM_TYPE}delete_response`, success: true } : streamFail('delete', clusterNotAvailable());
  }

  /** The subject overlap with the account's other streams, then the storage the account may still reserve. */
  private async overlapOrReservation(jsa: JsAccount, cfg: StreamConfig, others: readonly StreamAssignment[]): Promise<JsApiError | null> {
    const index = new SubjectOverlapIndex();
    const subjects = cfg.subjects ?? [];
    for (let i = 0; i < subjects.length; i++) index.insert(subjects[i], i);
    switch (await runInSlices(anyCollision(index, others.map((sa) => sa.config.subjects ?? [])))) {
      case 'found': return streamSubjectOverlap();
      case 'over-budget': return streamInvalidConfig(`stream subjects need more than ${MAX_OVERLAP_WORK} steps to check against other streams`);
      case 'none': break;
    }
    let reservedOthers = 0;
    for (const sa of others) {
      if (sa.config.storage === cfg.storage && sa.config.max_bytes > 0) reservedOthers += sa.config.max_bytes * sa.config.num_replicas;
    }
    // Every replica reserves max_bytes: the new stream's other replicas count with the others'.
    const extraReplicas = cfg.max_bytes > 0 ? cfg.max_bytes * (cfg.num_replicas - 1) : 0;
    return checkStreamReservation(jsa.limits, cfg, reservedOthers + extraReplicas, Number.MAX_SAFE_INTEGER, 0);
  }

  /** Where the answer goes, and who asked (for the assignment). */
  private origin(req: ApiRequest): Pick<StreamAssignment, 'client' | 'reply' | 'subject'> {
    const o: { client?: StreamAssignment['client']; reply?: string; subject: string } = { subject: req.subject };
    if (req.reply !== null) o.reply = req.reply;
    if (req.client !== null) o.client = clientInfo(req.client, null);
    return o;
  }

  private async leaderInfo(subject: string): Promise<Record<string, unknown> | null> {
    return (await askLeaders(this.meta, [subject], INFO_WAIT_MS)).get(subject) ?? null;
  }

  // ---- consumers -----------------------------------------------------------------

  private async createConsumer(req: ApiRequest, legacyDurable: boolean): Promise<ApiResponse> {
    const parsed = parseConsumerCreate(req, legacyDurable);
    if (parsed instanceof Error) return consumerFail('create', parsed);
    const account = req.account.name;
    const { stream, config, action } = parsed;
    const sa = this.meta.stream(account, stream);
    if (sa === null) return consumerFail('create', streamNotFound());
    applyDefaults(config, sa.config);
    const invalid = checkConfig(config, sa.config);
    if (invalid !== null) return consumerFail('create', invalid);
    const name = parsed.name;
    const existing = name === '' ? null : this.meta.consumer(account, stream, name);
    if (existing !== null) return this.updateConsumer(req, existing, config, action);
    if (action === 'update') return consumerFail('create', CE.consumerDoesNotExist());
    const refused = this.consumerLimitReached(req.account, sa);
    if (refused !== null) return consumerFail('create', refused);
    const wq = this.workqueueProblem(sa, config);
    if (wq !== null) return consumerFail('create', wq);
    let consumer = name;
    if (consumer === '') {
      do consumer = randomName();
      while (this.meta.consumer(account, stream, consumer) !== null);
      config.name = consumer;
    }
    if (/[.*>\s]/.test(consumer)) return consumerFail('create', CE.consumerBadDurableName());
    // Ephemerals are R1 unless they ask for more; durables default to the stream's replicas.
    const asked = config.num_replicas ?? 0;
    const replicas = asked > 0 ? asked : (config.durable_name ?? '') !== '' ? 0 : 1;
    const group = placeConsumerGroup(this.meta, sa, replicas, config.mem_storage === true ? 'memory' : sa.config.storage);
    if (group instanceof Error) return consumerFail('create', group);
    const ca: ConsumerAssignment = {
      account, stream, name: consumer, config, group, created: nowTimeString(), ...this.origin(req),
    };
    if (!this.meta.propose({ op: 'add-consumer', ca })) return consumerFail('create', clusterNotAvailable());
    // The consumer group's first leader answers.
    return null;
  }

  private async updateConsumer(req: ApiRequest, old: ConsumerAssignment, config: ConsumerConfig, action: string): Promise<ApiResponse> {
    const subject = consumerInfoSubject(old.account, old.stream, old.name);
    if (sameConsumerConfig(old.config, config)) {
      const info = await this.leaderInfo(subject);
      return info === null ? consumerFail('create', clusterNotAvailable()) : { type: `${CONSUMER_TYPE}create_response`, ...info };
    }
    if (action === 'create') return consumerFail('create', CE.consumerAlreadyExists());
    // Whether a push consumer's deliver subject has interest is known to its leader only; a clustered update may not change it.
    const refused = checkUpdate(old.config, config, old.config.deliver_subject !== undefined);
    if (refused !== null) return consumerFail('create', refused);
    const ca: ConsumerAssignment = { ...old, config, ...this.origin(req) };
    if (!this.meta.propose({ op: 'add-consumer', ca })) return consumerFail('create', clusterNotAvailable());
    const applied = await this.whenApplied((op) => op.op === 'add-consumer' && op.ca.account === old.account && op.ca.stream === old.stream && op.ca.name === old.name);
    const info = applied ? await this.leaderInfo(subject) : null;
    if (info === null) return consumerFail('create', clusterNotAvailable());
    return { type: `${CONSUMER_TYPE}create_response`, ...info, config: configJson(config) };
  }

  private consumerLimitReached(account: Account, sa: StreamAssignment): JsApiError | null {
    const max = this.js.accounts.get(account.name)?.limits.maxConsumers ?? -1;
    const ofStream = this.meta.consumers(account.name, sa.config.name).length;
    if (sa.config.max_consumers > 0 && ofStream >= sa.config.max_consumers) return CE.maximumConsumersLimit();
    if (max <= 0) return null;
    let used = 0;
    for (const s of this.meta.streams(account.name)) used += this.meta.consumers(account.name, s.config.name).length;
    return used >= max ? CE.maximumConsumersLimit() : null;
  }

  /** A workqueue stream's consumers partition it (the overlap of filters is checked by the consumer set on each replica). */
  private workqueueProblem(sa: StreamAssignment, config: ConsumerConfig): JsApiError | null {
    if (sa.config.retention !== 'workqueue') return null;
    if (config.ack_policy !== 'explicit') return CE.consumerWqRequiresExplicitAck();
    if (config.deliver_policy !== 'all') return CE.consumerWqConsumerNotDeliverAll();
    const unfiltered = (c: ConsumerConfig): boolean => (c.filter_subject ?? '') === '' && (c.filter_subjects ?? []).length === 0;
    const others = this.meta.consumers(sa.account, sa.config.name);
    if (others.length > 0 && (unfiltered(config) || others.some((o) => unfiltered(o.config)))) return CE.consumerWqMultipleUnfiltered();
    return null;
  }

  private async deleteConsumer(req: ApiRequest): Promise<ApiResponse> {
    const account = req.account.name;
    const [, , stream, consumer] = req.tokens;
    if (this.meta.stream(account, stream) === null) return consumerFail('delete', streamNotFound());
    if (this.meta.consumer(account, stream, consumer) === null) return consumerFail('delete', consumerNotFound());
    if (!this.meta.propose({ op: 'remove-consumer', account, stream, consumer })) return consumerFail('delete', clusterNotAvailable());
    const applied = await this.whenApplied((op) => op.op === 'remove-consumer' && op.account === account && op.stream === stream && op.consumer === consumer);
    return applied ? { type: `${CONSUMER_TYPE}delete_response`, success: true } : consumerFail('delete', clusterNotAvailable());
  }
}
