/**
 * The JetStream engine of one server: which accounts have JetStream and
 * with what limits, their streams (created, recovered from the store
 * directory at start, deleted), server-wide storage accounting, and clean
 * shutdown. The API router (api/router.ts) drives it.
 *
 * Layout on disk, as nats-server: `<store_dir>/jetstream/<account>/streams/<stream>/`
 * holding `meta.json` (config and creation time) next to the store's files.
 * Memory streams are not persisted, so they do not survive a restart (as in
 * nats-server).
 */
import { mkdir, readdir, readFile, rename, rm, open } from 'node:fs/promises';
import { join } from 'node:path';
import type { Account } from '../accounts/account.js';
import { GLOBAL_ACCOUNT } from '../accounts/names.js';
import type { ServerCore } from '../server/core.js';
import type { ClientIdentity } from '../server/client-identity.js';
import type { ConsumerSet } from './consumer/consumer-set.js';
import type { ConsumerApiStreams } from './api/consumer.js';
import { DEFAULT_SYNC_INTERVAL_MS, type JetStreamConfig } from './config.js';
import { accountLimitsFrom, accountLimitsFromJwt, checkStreamReservation, UNLIMITED } from './account-limits.js';
import { JsAccount } from './js-account.js';
import { Stream } from './stream.js';
import { openStore } from './store-factory.js';
import type { StreamStore } from './store/types.js';
import type { JetStreamContext } from './engine-context.js';
import type { StorageType, StreamConfig } from './types.js';
import { type JsApiError, maximumStreamsLimit } from './api/errors.js';
import { publishEvent, streamActionAdvisory } from './advisories.js';
import { nowTimeString } from './time.js';
import { checkStreamConfig, isConfig } from './stream-config.js';
import type { MetaView } from './cluster/types.js';
import { isClusteredJetStream } from './cluster/mode.js';

const META_FILE = 'meta.json';

export interface StreamMeta {
  config: StreamConfig;
  created: string;
}

export class JetStream implements JetStreamContext, ConsumerApiStreams {
  readonly core: ServerCore;
  readonly config: JetStreamConfig;
  /** JetStream-enabled accounts by name. */
  readonly accounts = new Map<string, JsAccount>();
  /** Server-wide API counters (the per-account ones are in JsAccount). */
  readonly api = { total: 0, errors: 0 };
  /** The meta layer when this server is part of a JetStream cluster (set by start.ts); null on a single server. */
  cluster: MetaView | null = null;
  private readonly usage: Record<StorageType, number> = { memory: 0, file: 0 };
  private usageFresh = false;
  private stopped = false;
  /** False in a JetStream cluster: the meta group's assignments say which streams this server holds. */
  private recoverStreams = true;

  private constructor(core: ServerCore, config: JetStreamConfig) {
    this.core = core;
    this.config = config;
  }

  /**
   * Enables JetStream for the configured accounts and recovers their
   * streams; in a JetStream cluster the meta layer re-opens them from its
   * assignments instead (as replicas), so nothing is recovered here.
   */
  static async start(core: ServerCore, config: JetStreamConfig): Promise<JetStream> {
    const js = new JetStream(core, config);
    js.recoverStreams = !isClusteredJetStream(core.options);
    await mkdir(join(config.storeDir, 'jetstream'), { recursive: true });
    for (const [name, limits] of enabledAccounts(core)) {
      const acc = core.accounts.get(name);
      if (acc === undefined) continue;
      const jsa = new JsAccount(acc, limits, join(config.storeDir, 'jetstream', name));
      js.accounts.set(name, jsa);
      await js.recover(jsa);
    }
    return js;
  }

  /** Told when accounts were added (the API router subscribes them). */
  onAccountsAdded: (() => void) | null = null;

  /**
   * After a configuration reload or an account JWT update (the server's
   * accounts-changed notice): accounts that now have JetStream get it
   * (their streams recovered), and limits follow the new configuration.
   * An account that lost JetStream keeps its streams until the next restart.
   */
  async accountsChanged(): Promise<void> {
    for (const [name, limits] of enabledAccounts(this.core)) {
      const existing = this.accounts.get(name);
      if (existing !== undefined) {
        existing.limits = limits;
        continue;
      }
      const acc = this.core.accounts.get(name);
      if (acc === undefined) continue;
      const jsa = new JsAccount(acc, limits, join(this.config.storeDir, 'jetstream', name));
      this.accounts.set(name, jsa);
      await this.recover(jsa);
    }
    this.onAccountsAdded?.();
  }

  /** The JetStream side of `acc`, or null when JetStream is not enabled for it. */
  account(acc: Account): JsAccount | null {
    return this.accounts.get(acc.name) ?? null;
  }

  // ---- streams ---------------------------------------------------------------

  /** Recreates every persisted stream of an account. A stream that fails to load is logged and skipped. */
  private async recover(jsa: JsAccount): Promise<void> {
    if (!this.recoverStreams) return;
    const dir = join(jsa.dir, 'streams');
    let names: string[];
    try {
      names = (await readdir(dir, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort();
    } catch {
      return;
    }
    for (const name of names) {
      const sdir = join(dir, name);
      try {
        const meta = JSON.parse(await readFile(join(sdir, META_FILE), 'utf8')) as StreamMeta;
        const cfg = checkStreamConfig(meta.config, { lookup: (n) => jsa.streams.get(n)?.config() ?? null });
        if (!isConfig(cfg)) throw new Error(cfg.message);
        const store = openStore(cfg, { dir: sdir, sync: this.config.sync, logger: this.core.logger });
        const stream = new Stream(this, jsa, cfg, store, meta.created, sdir);
        jsa.streams.set(cfg.name, stream);
        this.core.logger.info(`  Restored ${store.state().msgs} messages for stream '${jsa.account.name} > ${cfg.name}'`);
      } catch (e) {
        this.core.logger.warn(`  Error recovering stream '${jsa.account.name} > ${name}': ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    // Sources and mirrors start once every origin is known.
    for (const s of [...jsa.streams.values()]) await s.start();
  }

  /** Adds a validated config as a new stream (limits checked here); advisory included. */
  async addStream(jsa: JsAccount, cfg: StreamConfig, client: ClientIdentity | null): Promise<Stream | JsApiError> {
    const lim = jsa.limits;
    if (lim.maxStreams > 0 && jsa.streams.size >= lim.maxStreams) return maximumStreamsLimit();
    const refused = this.checkReservation(jsa, cfg, null);
    if (refused !== null) return refused;
    const created = nowTimeString();
    const dir = join(jsa.dir, 'streams', cfg.name);
    let store;
    if (cfg.storage === 'file') {
      await mkdir(dir, { recursive: true });
      await writeMeta(dir, { config: cfg, created });
    }
    try {
      store = openStore(cfg, { dir, sync: this.config.sync, logger: this.core.logger });
    } catch (e) {
      if (cfg.storage === 'file') await rm(dir, { recursive: true, force: true });
      throw e;
    }
    const stream = new Stream(this, jsa, cfg, store, created, cfg.storage === 'file' ? dir : null);
    jsa.streams.set(cfg.name, stream);
    await stream.start();
    streamActionAdvisory(this.core, jsa.account, cfg.name, 'create', this.config.domain, client);
    return stream;
  }

  /**
   * Registers a stream whose store was filled elsewhere (a restore): the
   * account's stream limit and reservations are checked as for a create,
   * the Stream recovers the consumers the store holds, and it starts. A file
   * stream's store must already be in its directory with its meta.json.
   * No advisory: the restore sends its own.
   */
  async adoptStream(jsa: JsAccount, cfg: StreamConfig, store: StreamStore, created: string, dir: string | null): Promise<Stream | JsApiError> {
    const lim = jsa.limits;
    if (lim.maxStreams > 0 && jsa.streams.size >= lim.maxStreams) return maximumStreamsLimit();
    const refused = this.checkReservation(jsa, cfg, null);
    if (refused !== null) return refused;
    const stream = new Stream(this, jsa, cfg, store, created, dir);
    jsa.streams.set(cfg.name, stream);
    this.usageFresh = false;
    await stream.start();
    return stream;
  }

  /** Where a file stream of `jsa` keeps its files. */
  streamDir(jsa: JsAccount, name: string): string {
    return join(jsa.dir, 'streams', name);
  }

  /** Applies a validated config change to a stream of `jsa` and persists it. */
  async updateStream(jsa: JsAccount, stream: Stream, cfg: StreamConfig, client: ClientIdentity | null): Promise<JsApiError | null> {
    const refused = this.checkReservation(jsa, cfg, stream.name);
    if (refused !== null) return refused;
    if (stream.dir !== null) await writeMeta(stream.dir, { config: cfg, created: stream.createdText });
    await stream.update(cfg);
    streamActionAdvisory(this.core, stream.account, stream.name, 'modify', this.config.domain, client);
    return null;
  }

  /** Deletes a stream of `jsa`, its files included. */
  async deleteStream(jsa: JsAccount, stream: Stream, client: ClientIdentity | null): Promise<void> {
    await this.removeStream(jsa, stream);
    streamActionAdvisory(this.core, jsa.account, stream.name, 'delete', this.config.domain, client);
  }

  // ---- replicas (cluster/stream-replica.ts) ---------------------------------------

  /**
   * Opens this server's copy of a replicated stream, where a single server
   * keeps the stream (a file stream finds what it stored before), and
   * registers it in the account so the API and consumers find it. It
   * captures nothing until its replica leads. The config was validated by
   * the meta leader.
   */
  async openReplicaStream(jsa: JsAccount, cfg: StreamConfig, created: string): Promise<Stream> {
    if (jsa.streams.has(cfg.name)) throw new Error(`stream '${jsa.account.name} > ${cfg.name}' is already open on this server`);
    const dir = join(jsa.dir, 'streams', cfg.name);
    if (cfg.storage === 'file') {
      await mkdir(dir, { recursive: true });
      await writeMeta(dir, { config: cfg, created });
    }
    // The Raft log is the write-ahead log of a replica (fsynced before anything is acknowledged under
    // `sync: always` and by default): the store syncs on an interval, and Raft snapshots force an fsync.
    const sync = typeof this.config.sync === 'number' ? this.config.sync : DEFAULT_SYNC_INTERVAL_MS;
    let store = openStore(cfg, { dir, sync, logger: this.core.logger });
    if (store.damagedOnLoad && cfg.num_replicas > 1) {
      // Holes in the middle of this copy could not be filled in place: it starts empty and gets
      // everything again, from its own Raft log or (when that was compacted) from a peer. An R1
      // stream has no peer: it keeps what is left, as a single server does.
      this.core.logger.warn(`JetStream: the store of stream '${jsa.account.name} > ${cfg.name}' was damaged; rebuilding it from the stream's replicas`);
      await store.delete();
      store = openStore(cfg, { dir, sync, logger: this.core.logger });
    }
    const stream = new Stream(this, jsa, cfg, store, created, cfg.storage === 'file' ? dir : null);
    jsa.streams.set(cfg.name, stream);
    this.usageFresh = false;
    return stream;
  }

  /** A new config for a replica's stream, from the meta group. */
  async updateReplicaStream(stream: Stream, cfg: StreamConfig): Promise<void> {
    if (stream.dir !== null) await writeMeta(stream.dir, { config: cfg, created: stream.createdText });
    await stream.update(cfg);
  }

  /** The replica stopped (shutdown, or the stream moved away): the data stays for a later open. */
  async closeReplicaStream(jsa: JsAccount, stream: Stream): Promise<void> {
    if (jsa.streams.get(stream.name) === stream) jsa.streams.delete(stream.name);
    await stream.stop();
    this.usageFresh = false;
  }

  /**
   * A stream and every stored byte of it go, without an advisory (a
   * replica's copy: the meta leader speaks for the cluster).
   */
  async removeStream(jsa: JsAccount, stream: Stream): Promise<void> {
    if (jsa.streams.get(stream.name) === stream) jsa.streams.delete(stream.name);
    // The config goes first: a crash part way leaves no half-deleted stream to recover.
    if (stream.dir !== null) await rm(join(stream.dir, META_FILE), { force: true });
    await stream.delete();
    if (stream.dir !== null) await rm(stream.dir, { recursive: true, force: true });
    this.usageFresh = false;
  }

  private checkReservation(jsa: JsAccount, cfg: StreamConfig, except: string | null): JsApiError | null {
    let serverReserved = 0;
    for (const a of this.accounts.values()) serverReserved += a.reserved(cfg.storage, a === jsa ? except : null);
    const serverMax = cfg.storage === 'memory' ? this.config.maxMemory : this.config.maxStore;
    return checkStreamReservation(jsa.limits, cfg, jsa.reserved(cfg.storage, except), serverMax, serverReserved);
  }

  findStream(account: Account, name: string): Stream | null {
    return this.accounts.get(account.name)?.streams.get(name) ?? null;
  }

  // ---- ConsumerApiStreams ----------------------------------------------------

  consumers(account: Account, stream: string): ConsumerSet | null {
    return this.findStream(account, stream)?.consumers ?? null;
  }

  consumerLimit(account: Account): { max: number; used: number } {
    const jsa = this.accounts.get(account.name);
    if (jsa === undefined) return { max: 0, used: 0 };
    return { max: jsa.limits.maxConsumers, used: jsa.consumerCount() };
  }

  // ---- storage accounting ------------------------------------------------------

  /** Bytes held now by all streams of one storage type. */
  used(storage: StorageType): number {
    if (!this.usageFresh) this.recount();
    return this.usage[storage];
  }

  /** As nats-server checks it: a message is refused once usage is already past the limit, so the last one may cross it. */
  serverLimitExceeded(storage: StorageType): boolean {
    const max = storage === 'memory' ? this.config.maxMemory : this.config.maxStore;
    return this.used(storage) > max;
  }

  noteStored(storage: StorageType, size: number): void {
    this.usage[storage] += size;
  }

  /**
   * Sums the stores' own figures. Between recounts (at most one per
   * event-loop turn) stored messages are added as they come, so a burst is
   * checked without walking every stream per message.
   */
  private recount(): void {
    let mem = 0;
    let file = 0;
    for (const jsa of this.accounts.values()) {
      for (const s of jsa.streams.values()) {
        if (s.storage === 'memory') mem += s.bytes();
        else file += s.bytes();
      }
    }
    this.usage.memory = mem;
    this.usage.file = file;
    this.usageFresh = true;
    setImmediate(() => {
      this.usageFresh = false;
    });
  }

  /** Totals for /jsz, /varz and `$JS.API.INFO`. */
  totals(): { streams: number; consumers: number; messages: number; bytes: number; memory: number; storage: number } {
    let streams = 0;
    let consumers = 0;
    let messages = 0;
    let bytes = 0;
    let memory = 0;
    let storage = 0;
    for (const jsa of this.accounts.values()) {
      for (const s of jsa.streams.values()) {
        const st = s.store.state();
        streams++;
        consumers += s.consumers.count();
        messages += st.msgs;
        bytes += st.bytes;
        if (s.storage === 'memory') memory += st.bytes;
        else storage += st.bytes;
      }
    }
    return { streams, consumers, messages, bytes, memory, storage };
  }

  advisory(account: Account, subject: string, body: Record<string, unknown>): void {
    publishEvent(this.core, account, subject, body);
  }

  // ---- lifecycle ---------------------------------------------------------------

  /** Stops every stream (consumers persist, stores flush and close). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const jsa of this.accounts.values()) {
      for (const s of jsa.streams.values()) {
        try {
          await s.stop();
        } catch (e) {
          this.core.logger.error(`JetStream: stopping stream '${jsa.account.name} > ${s.name}' failed: ${e instanceof Error ? e.message : String(e)}`);
        }
      }
    }
  }
}

/**
 * Accounts that get JetStream: with configured accounts, those whose config
 * enables it; without any, the global account. Never the system account.
 */
function enabledAccounts(core: ServerCore): Map<string, ReturnType<typeof accountLimitsFrom>> {
  const out = new Map<string, ReturnType<typeof accountLimitsFrom>>();
  const system = core.systemAccountName;
  if (core.operatorMode) {
    for (const acc of core.accounts.values()) {
      const limits = acc.name === system || acc.jwtLimits === null ? null : accountLimitsFromJwt(acc.jwtLimits);
      if (limits !== null) out.set(acc.name, limits);
    }
    return out;
  }
  const configured = core.security.accounts.filter((a) => a.name !== system);
  if (configured.length === 0) {
    out.set(GLOBAL_ACCOUNT, { ...UNLIMITED });
    return out;
  }
  for (const a of configured) {
    if (a.jetstream?.enabled === true) out.set(a.name, accountLimitsFrom(a.jetstream.limits));
  }
  return out;
}

/** Writes meta.json so that a crash leaves either the old or the new file, never a torn one. */
export async function writeMeta(dir: string, meta: StreamMeta): Promise<void> {
  const tmp = join(dir, META_FILE + '.tmp');
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(JSON.stringify(meta));
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, join(dir, META_FILE));
}
