/**
 * The consumers of one stream. The Stream creates one (which recovers the
 * consumers its store holds) and tells it about stored and removed
 * messages; the consumer API creates, looks up and deletes consumers in it.
 */
import { randomBytes } from 'node:crypto';
import type { Account } from '../../accounts/account.js';
import type { InterestListener, Unregister } from '../../server/core.js';
import type { Subscription } from '../../server/subscription.js';
import type { RoutedInterestListener } from '../../server/routed-interest.js';
import { anyCollision, MAX_OVERLAP_WORK, SubjectOverlapIndex, type CollisionSearch } from '../subject-overlap.js';
import { runInSlices, yieldIfBusy } from '../slices.js';
import { subjectMatches } from '../../subjects/validate.js';
import { msToNanos, nowNanos, type EpochNanos } from '../../text/go-format.js';
import type { JsApiError } from '../api/errors.js';
import * as E from '../api/consumer-errors.js';
import type { ConsumerConfig } from '../types.js';
import type { ConsumerStore } from '../store/types.js';
import type { ConsumerHost } from './host.js';
import { listensOn } from './push-delivery.js';
import { Consumer, type ConsumerOwner } from './consumer.js';
import { applyDefaults, checkConfig, checkFilterList, checkUpdate, decodeConsumerConfig, filtersOf, isDurable, MAX_NAME_LEN, sameConfig } from './config.js';
import { consumerAdvisory } from './advisories.js';
import type { ConsumerReplication } from './replication.js';

/** The account's consumer limit (-1 = unlimited) and how many consumers it has across its streams. */
export interface ConsumerLimit {
  readonly max: number;
  readonly used: number;
}

/** How a create request treats an existing consumer of the same name (the request's `action`). */
export type CreateAction = 'create' | 'update' | 'create_or_update';

const NAME_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** Ephemeral names as nats-server makes them: 8 random letters and digits. */
function randomName(): string {
  const b = randomBytes(8);
  let s = '';
  for (let i = 0; i < 8; i++) s += NAME_CHARS[b[i] % NAME_CHARS.length];
  return s;
}

export class ConsumerSet implements ConsumerOwner, InterestListener, RoutedInterestListener {
  readonly host: ConsumerHost;
  private readonly consumers = new Map<string, Consumer>();
  /** Set while some consumer is push: push consumers follow interest in their deliver subjects. */
  private stopListening: Unregister | null = null;
  private closed = false;
  /** The tail of the chain that runs creates one at a time. */
  private creations: Promise<unknown> = Promise.resolve();

  constructor(host: ConsumerHost) {
    this.host = host;
    this.recover();
  }

  /** Brings back the consumers the store kept (config and state). */
  private recover(): void {
    const store = this.host.store;
    for (const name of store.consumerNames()) {
      const cs = store.consumerStore(name);
      const saved = cs.loadConfig();
      if (saved === null) continue;
      const config = decodeConsumerConfig(saved.config);
      if (!isConfig(config)) {
        this.host.core.logger.warn(`JetStream consumer '${this.host.account.name} > ${this.host.name} > ${name}' has an unreadable config: ${config.message}`);
        continue;
      }
      applyDefaults(config, this.host.config());
      this.add(new Consumer(this.host, this, name, config, msToNanos(saved.created), cs, cs.load()));
    }
  }

  private add(c: Consumer): void {
    this.consumers.set(c.name, c);
    if (c.isPush && this.stopListening === null) {
      const local = this.host.core.addInterestListener(this);
      const routed = this.host.core.routedInterest.addListener(this);
      this.stopListening = () => {
        local();
        routed();
      };
    }
  }

  /**
   * Creates a consumer or updates the one of the same name, with nats-server's
   * rules and errors. `limitNow` tells the account's consumer limit and use
   * (asked once the checks are done, so it counts creates finished meanwhile). The
   * filter checks, which grow with the number of filters, run first in
   * slices; creates on one stream then take turns, so none of them sees the
   * set change between its checks and its changes.
   */
  create(config: ConsumerConfig, action: CreateAction, limitNow: () => ConsumerLimit): Promise<Consumer | JsApiError> {
    // Between two creates the event loop runs if the turn's slice is used up (see JsAccount.serially).
    const run = this.creations.then(yieldIfBusy, yieldIfBusy).then(() => this.createInSlices(config, action, limitNow));
    this.creations = run.catch(() => undefined);
    return run;
  }

  private async createInSlices(config: ConsumerConfig, action: CreateAction, limitNow: () => ConsumerLimit): Promise<Consumer | JsApiError> {
    if (this.closed) return E.streamInvalid();
    const stream = this.host.config();
    applyDefaults(config, stream);
    const filters = filtersOf(config);
    const filterCheck = await runInSlices(checkFilterList(filters));
    const cName = isDurable(config) ? (config.durable_name as string) : (config.name ?? '');
    const wq = stream.retention === 'workqueue';
    // Asked ahead, used where nats-server asks: only workqueue streams partition their consumers' filters.
    const partition = wq && filterCheck.error === null ? await runInSlices(this.partitionConflict(cName, filters)) : 'none';
    if (this.closed) return E.streamInvalid();
    const invalid = checkConfig(config, stream, filterCheck);
    if (invalid !== null) return invalid;
    const existing = cName === '' ? undefined : this.consumers.get(cName);
    if (existing !== undefined) {
      if (action === 'create' && !sameConfig(config, existing.config)) return E.consumerAlreadyExists();
      if (partition !== 'none') return partitionError(partition);
      const ds = existing.config.deliver_subject;
      const bound = ds !== undefined && listensOn(this.host, ds);
      const refused = checkUpdate(existing.config, config, bound);
      if (refused !== null) return refused;
      existing.update(config);
      return existing;
    }
    if (action === 'update') return E.consumerDoesNotExist();
    const limit = limitNow();
    let max = stream.max_consumers;
    if (max <= 0 || (limit.max > 0 && limit.max < max)) max = limit.max;
    if ((max > 0 && this.consumers.size >= max) || (limit.max > 0 && limit.used >= limit.max)) return E.maximumConsumersLimit();
    if (wq) {
      if (config.ack_policy !== 'explicit') return E.consumerWqRequiresExplicitAck();
      if (config.deliver_policy !== 'all') return E.consumerWqConsumerNotDeliverAll();
      if (this.consumers.size > 0) {
        if (filters.length === 0) return E.consumerWqMultipleUnfiltered();
        if (partition !== 'none') return partitionError(partition);
      }
    }
    let name: string;
    if (isDurable(config)) {
      name = config.durable_name as string;
      if (name.length > MAX_NAME_LEN) return E.consumerNameTooLong(MAX_NAME_LEN);
    } else if (config.name !== undefined) {
      name = config.name;
    } else {
      do name = randomName();
      while (this.consumers.has(name));
      config.name = name;
    }
    if (/[.*>\s]/.test(name) || name === '') return E.consumerBadDurableName();
    const created = nowNanos();
    // mem_storage consumers of file streams keep nothing on disk; memory
    // streams keep the config (for names) but their state lives only in the
    // consumer, so no per-turn state copies are made for them.
    // A direct consumer (a source's on another server) keeps nothing anywhere: its source makes it again.
    let store: ConsumerStore | null = null;
    if (config.direct !== true && (config.mem_storage !== true || this.host.store.kind === 'memory')) {
      const cs = this.host.store.consumerStore(name);
      cs.saveConfig(config, Number(created / 1_000_000n));
      if (this.host.store.kind !== 'memory') store = cs;
    }
    const c = new Consumer(this.host, this, name, config, created, store, null);
    this.add(c);
    this.host.advisory(`$JS.EVENT.ADVISORY.CONSUMER.CREATED.${this.host.name}.${name}`, consumerAdvisory('io.nats.jetstream.advisory.v1.consumer_action', c, { action: 'create' }));
    return c;
  }

  /**
   * Workqueue streams: does another consumer's filter overlap `filters`
   * ('found'; an unfiltered one overlaps everything)? They are looked up in a
   * trie of `filters`, not pair by pair.
   */
  private *partitionConflict(name: string, filters: readonly string[]): Generator<void, CollisionSearch> {
    const mine = new SubjectOverlapIndex();
    for (let i = 0; i < filters.length; i++) mine.insert(filters[i], i);
    const theirs: Array<readonly string[]> = [];
    for (const c of this.consumers.values()) {
      if (c.name === name) continue;
      const f = filtersOf(c.config);
      if (f.length === 0) return 'found';
      theirs.push(f);
    }
    return yield* anyCollision(mine, theirs);
  }

  get(name: string): Consumer | undefined {
    return this.consumers.get(name);
  }

  /**
   * The stream's leadership left this server: its direct consumers go, as
   * in nats-server (the sources that made them find the new leader and make
   * them again there).
   */
  dropDirect(): void {
    for (const c of [...this.consumers.values()]) {
      if (c.config.direct !== true) continue;
      // Nothing on disk, and the stream's messages are the new leader's to let go.
      this.consumers.delete(c.name);
      c.stop(true);
    }
    this.dropListenerIfIdle();
  }

  /** Consumers sorted by name (the order of LIST and NAMES). */
  sorted(): Consumer[] {
    return [...this.consumers.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /**
   * Clustered JetStream: adds a consumer replicated through its own Raft
   * group (the meta leader checked its config). It starts passive; its
   * replica makes it live where the group's leader is.
   */
  attach(name: string, config: ConsumerConfig, created: EpochNanos, store: ConsumerStore, owner: ConsumerOwner, replication: ConsumerReplication): Consumer {
    applyDefaults(config, this.host.config());
    const c = new Consumer(this.host, owner, name, config, created, store, null, replication);
    this.add(c);
    return c;
  }

  /** Clustered JetStream: a replicated consumer's group stopped here (server shutdown, or it moved away); its state stays with the group. */
  detach(name: string): void {
    const c = this.consumers.get(name);
    if (c === undefined) return;
    this.consumers.delete(name);
    c.stop(false);
    this.dropListenerIfIdle();
  }

  /**
   * Deletes a consumer and its state; false when there is none by that name.
   * `advise`: send the deleted advisory (a replicated consumer's replicas
   * leave that to the one that led the group).
   */
  async remove(name: string, advise = true): Promise<boolean> {
    const c = this.consumers.get(name);
    if (c === undefined) return false;
    this.consumers.delete(name);
    c.stop(true);
    this.dropListenerIfIdle();
    if (advise) this.host.advisory(`$JS.EVENT.ADVISORY.CONSUMER.DELETED.${this.host.name}.${name}`, consumerAdvisory('io.nats.jetstream.advisory.v1.consumer_action', c, { action: 'delete' }));
    this.releaseInterest(c);
    if (this.host.store.consumerNames().includes(name)) await this.host.store.consumerStore(name).delete();
    return true;
  }

  /** Interest/workqueue retention: what only the removed consumer still held may go now. */
  private releaseInterest(c: Consumer): void {
    if (this.host.config().retention === 'limits' || c.config.direct === true) return;
    const store = this.host.store;
    const filters = filtersOf(c.config);
    const fl = filters.length === 0 ? null : filters;
    const last = store.state().lastSeq;
    const floor = c.state().ackFloor.streamSeq;
    for (let m = store.loadNextMsg(fl, floor + 1); m !== null && m.seq <= last; m = store.loadNextMsg(fl, m.seq + 1)) {
      this.host.acked(m.seq);
    }
  }

  /** Inactive threshold passed (ConsumerOwner). */
  expire(c: Consumer): void {
    if (this.consumers.get(c.name) !== c) return;
    this.remove(c.name).catch((e: unknown) => this.host.core.logger.error(`JetStream consumer '${this.host.name} > ${c.name}' delete failed: ${e instanceof Error ? e.message : String(e)}`));
  }

  private dropListenerIfIdle(): void {
    if (this.stopListening === null) return;
    for (const c of this.consumers.values()) if (c.isPush) return;
    this.unlisten();
  }

  private unlisten(): void {
    if (this.stopListening === null) return;
    this.stopListening();
    this.stopListening = null;
  }

  // ---- push interest (InterestListener) -------------------------------------------

  subscriptionAdded(acc: Account, sub: Subscription): void {
    if (acc !== this.host.account) return;
    for (const c of this.consumers.values()) {
      const ds = c.config.deliver_subject;
      if (ds !== undefined && (sub.subject === ds || subjectMatches(sub.subject, ds))) c.setActive(true);
    }
  }

  subscriptionRemoved(acc: Account, sub: Subscription): void {
    if (acc !== this.host.account) return;
    for (const c of this.consumers.values()) {
      const ds = c.config.deliver_subject;
      if (ds !== undefined && (sub.subject === ds || subjectMatches(sub.subject, ds))) c.setActive(listensOn(this.host, ds));
    }
  }

  /** A route's interest came or went (RoutedInterestListener): subscribers elsewhere in the cluster count as well. */
  routedInterestChanged(account: string, subject: string, _queue: string | null, added: boolean): void {
    if (account !== this.host.account.name) return;
    for (const c of this.consumers.values()) {
      const ds = c.config.deliver_subject;
      if (ds !== undefined && (subject === ds || subjectMatches(subject, ds))) c.setActive(added || listensOn(this.host, ds));
    }
  }

  // ---- the stream's side of the contract ------------------------------------------

  /** A message was stored at `seq`: wake pull waiters and push consumers whose filter matches. */
  messageStored(seq: number, subject: string): void {
    for (const c of this.consumers.values()) c.messageStored(seq, subject);
  }

  /** The message at `seq` went (limits, age, purge, delete, acks): consumers count it out of num_pending. */
  messageRemoved(seq: number, subject: string): void {
    for (const c of this.consumers.values()) c.messageRemoved(seq, subject);
  }

  /** Messages went (told once per turn): consumers move past what no longer exists. */
  messagesRemoved(): void {
    for (const c of this.consumers.values()) c.messagesRemoved();
  }

  /** Interest retention: does any consumer's filter match `subject`? */
  interested(subject: string): boolean {
    for (const c of this.consumers.values()) if (c.config.direct !== true && c.matches(subject)) return true;
    return false;
  }

  /** Interest/workqueue retention: does some consumer still need `seq` (matching filter, not yet acked)? */
  wants(seq: number, subject: string): boolean {
    for (const c of this.consumers.values()) if (c.wants(seq, subject)) return true;
    return false;
  }

  count(): number {
    return this.consumers.size;
  }

  names(): string[] {
    return this.sorted().map((c) => c.name);
  }

  /** The stream's configuration changed: consumers re-check what they can deliver. */
  streamUpdated(): void {
    for (const c of this.consumers.values()) c.signal();
  }

  /** Server shutdown: persist state, stop timers. */
  async stop(): Promise<void> {
    this.closed = true;
    this.unlisten();
    const stores: Array<Promise<void>> = [];
    for (const c of this.consumers.values()) {
      c.stop(false);
      if (this.host.store.consumerNames().includes(c.name)) stores.push(this.host.store.consumerStore(c.name).stop());
    }
    this.consumers.clear();
    await Promise.all(stores);
  }

  /** Stream deleted: stop and remove every consumer. */
  async delete(): Promise<void> {
    this.closed = true;
    this.unlisten();
    const stores: Array<Promise<void>> = [];
    for (const c of this.consumers.values()) {
      c.stop(true);
      if (this.host.store.consumerNames().includes(c.name)) stores.push(this.host.store.consumerStore(c.name).delete());
    }
    this.consumers.clear();
    await Promise.all(stores);
  }
}

function partitionError(conflict: Exclude<CollisionSearch, 'none'>): JsApiError {
  if (conflict === 'found') return E.consumerWqConsumerNotUnique();
  return E.streamInvalidConfig(`consumer filter subjects need more than ${MAX_OVERLAP_WORK} steps to check against the other consumers' filters`);
}

function isConfig(c: ConsumerConfig | JsApiError): c is ConsumerConfig {
  return !(c instanceof Error);
}
