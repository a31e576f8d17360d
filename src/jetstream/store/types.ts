/**
 * The contract between streams/consumers and their storage. Two
 * implementations: MemoryStore and FileStore. Index operations are
 * synchronous (the hot path never awaits); disk I/O happens behind them and
 * `whenDurable` tells when what was stored has reached the file system
 * (and the disk, under `sync: always`), so publish acks can wait for it.
 *
 * Sequences start at 1 (or the stream's first_seq); a removed message
 * leaves a gap (interior delete) unless it was the first.
 */

export interface StoreLimits {
  /** -1 = unlimited for every numeric limit. */
  readonly maxMsgs: number;
  readonly maxBytes: number;
  /** Milliseconds; 0 = unlimited. */
  readonly maxAgeMs: number;
  readonly maxMsgsPerSubject: number;
  readonly maxMsgSize: number;
  readonly discard: 'old' | 'new';
  readonly discardNewPerSubject: boolean;
  /** Honour each message's `Nats-TTL` header (allow_msg_ttl); otherwise such messages are kept like any other. */
  readonly msgTtl?: boolean;
}

/** What a purge removes: `subject` (wildcards ok) narrows; `seq` purges below it; `keep` leaves the newest N. */
export interface PurgeOptions {
  subject?: string;
  seq?: number;
  keep?: number;
}

export interface StoredMessage {
  readonly seq: number;
  readonly subject: string;
  /** The full `NATS/1.0…\r\n\r\n` header block, or null. */
  readonly hdr: Buffer | null;
  readonly data: Buffer;
  /** Milliseconds since the epoch with sub-millisecond fraction (µs precision). */
  readonly ts: number;
}

export interface StoreState {
  msgs: number;
  /** Sum of message sizes as nats-server counts them (memStoreMsgSize / fileStoreMsgSize). */
  bytes: number;
  /** first_seq is last_seq + 1 when the store is empty (nats-server's convention). */
  firstSeq: number;
  firstTs: number;
  lastSeq: number;
  lastTs: number;
  numDeleted: number;
  numSubjects: number;
}

export interface FilteredState {
  msgs: number;
  first: number;
  last: number;
}

/** Why a store refused a message; `kind` maps to nats-server's error text. */
export type StoreErrorKind = 'max_msgs' | 'max_bytes' | 'max_msgs_per_subject' | 'msg_too_large' | 'storage_full' | 'closed' | 'io';

export class StoreError extends Error {
  readonly kind: StoreErrorKind;
  constructor(kind: StoreErrorKind, message: string) {
    super(message);
    this.kind = kind;
  }
}

/**
 * Told about messages the store removed on its own (limits, age) or by
 * purge/delete; `expired` is set when the message aged out (max_age or its
 * own TTL), the removals that leave a subject delete marker (never for a
 * marker's own expiry, which leaves none).
 */
export type RemovalListener = (seq: number, subject: string, expired: boolean) => void;

export interface StreamStore {
  readonly kind: 'file' | 'memory';
  /** Opening found records it could not read (damage, not a torn tail): the messages in them are gone from this copy. */
  readonly damagedOnLoad: boolean;
  /** Appends with the next sequence; enforces limits (discard old drops, discard new throws StoreError). */
  storeMsg(subject: string, hdr: Buffer | null, data: Buffer, ts?: number): { seq: number; ts: number };
  /** Stores at an explicit sequence (mirrors, replication): later than lastSeq; the gap becomes deleted. */
  storeMsgAt(seq: number, subject: string, hdr: Buffer | null, data: Buffer, ts: number): void;
  /** Consumes the next sequence without a message. */
  skipMsg(): number;
  loadMsg(seq: number): StoredMessage | null;
  /** The first message with seq >= start whose subject matches one of `filters` (null or [] = any; wildcards allowed). */
  loadNextMsg(filters: readonly string[] | null, start: number): StoredMessage | null;
  /** The newest message whose subject matches `filter` (wildcards allowed). */
  loadLastMsg(filter: string): StoredMessage | null;
  /** The newest message with seq <= start matching filters. */
  loadPrevMsg(filters: readonly string[] | null, start: number): StoredMessage | null;
  removeMsg(seq: number): boolean;
  /** Removes and overwrites the data on disk (secure delete). */
  eraseMsg(seq: number): boolean;
  /** Returns how many messages went. subject (wildcards ok) narrows; seq purges below it; keep leaves the newest N. */
  purge(opts?: PurgeOptions): number;
  /**
   * The same purge as a generator that yields every few thousand messages
   * (run it with runInSlices): the store stays consistent between steps,
   * and messages stored meanwhile are newer than the purge and stay.
   */
  purgeSteps(opts?: PurgeOptions): Generator<void, number>;
  /** Removes every message with seq < `seq`; the store then starts at `seq`. */
  compact(seq: number): number;
  state(): StoreState;
  filteredState(start: number, filters: readonly string[] | null): FilteredState;
  /** Message count per subject matching `filter` (wildcards ok). */
  subjectsState(filter: string): Map<string, number>;
  /** For each subject matching filters, its last sequence (>= start), ascending. */
  lastSeqsPerSubject(filters: readonly string[] | null, start: number): number[];
  /** Messages with seq >= start matching filters; lastPerSubject counts one per subject. */
  numPending(start: number, filters: readonly string[] | null, lastPerSubject: boolean): number;
  /** Interior deleted sequences (for stream info `deleted`), the first MAX_DELETED_DETAILS of them. */
  deletedSeqs(): number[];
  updateLimits(limits: StoreLimits): void;
  setRemovalListener(listener: RemovalListener | null): void;
  /**
   * Runs `cb` once everything stored so far is written (and fsynced per the
   * sync policy). Synchronous stores call it at once. `err` is set when that
   * write or fsync failed (a StoreError: 'storage_full' or 'io'): the
   * messages stored since the previous confirmation must then not be
   * acknowledged (a failed write also removes them from the store). A
   * callback taking no arguments still fits.
   */
  whenDurable(cb: (err: Error | null) => void): void;
  /**
   * Like whenDurable, but on disk whatever the sync policy (an fsync is
   * forced under an interval policy). A replicated stream's store syncs on
   * an interval, since the Raft log already holds every acknowledged message;
   * before a Raft snapshot lets that log go, the store must hold it on disk.
   */
  whenSynced(cb: (err: Error | null) => void): void;
  /** Consumer state kept next to the stream (file: <dir>/obs/<name>/). */
  consumerStore(name: string): ConsumerStore;
  /** Names of the consumers stored (recovery). */
  consumerNames(): string[];
  /** Flushes and closes. */
  stop(): Promise<void>;
  /** Stops and removes all data. */
  delete(): Promise<void>;
}

/** A consumer's durable state, in stream and consumer sequences. */
export interface ConsumerState {
  delivered: { consumerSeq: number; streamSeq: number };
  ackFloor: { consumerSeq: number; streamSeq: number };
  /** Outstanding (delivered, unacked) stream seq → consumer seq and delivery time (ms). */
  pending: Map<number, { consumerSeq: number; ts: number }>;
  /** Stream seq → delivery count, for messages delivered more than once. */
  redelivered: Map<number, number>;
}

export interface ConsumerStore {
  /** Persists the consumer's config JSON (meta) atomically. */
  saveConfig(config: unknown, created: number): void;
  loadConfig(): { config: unknown; created: number } | null;
  /**
   * Records the state; the file store coalesces writes and syncs per policy.
   * It may read `state` any time until its next write (some milliseconds
   * later), so a caller passes a view of its current state, not a copy that
   * goes stale: what is written is then always one consistent state.
   */
  update(state: ConsumerState): void;
  load(): ConsumerState | null;
  /**
   * Runs `cb` once every update made so far is written (fsynced under
   * `sync: always`): a confirmed ack (an ack with a reply) is answered only
   * then, so it survives a crash.
   */
  whenDurable(cb: (err: Error | null) => void): void;
  stop(): Promise<void>;
  delete(): Promise<void>;
}
