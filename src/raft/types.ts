/**
 * The Raft contract: what a consensus group needs from its surroundings
 * (storage, transport, clock, the replicated state machine) and what it
 * offers them. Types only, and free of NATS: the JetStream cluster layer
 * binds these interfaces to internal subjects, files and streams, and the
 * deterministic simulation binds them to a fake network, disk and clock.
 *
 * The safety argument for the implementation is in SAFETY.md next to it.
 */

/** A member of a group, named by the embedder (JetStream uses the server name). Stable across restarts. */
export type PeerId = string;

/** What an entry carries: data for the state machine, or group business. */
export type EntryKind =
  /** State machine data, handed to `apply`. */
  | 'normal'
  /** Appended by every new leader; commits everything before it (leader completeness for the new term). */
  | 'noop'
  /** The full membership (data: JSON array of peer ids); effective as soon as it is appended. */
  | 'peers';

export interface LogEntry {
  readonly index: number;
  readonly term: number;
  readonly kind: EntryKind;
  readonly data: Buffer;
}

/** What must survive a crash besides the log: never acknowledged to anyone before it is durable. */
export interface HardState {
  readonly term: number;
  /** Whom this node voted for in `term`, null when it has not voted. */
  readonly vote: PeerId | null;
}

export interface SnapshotMeta {
  /** The last entry the snapshot covers; the log continues at lastIndex + 1. */
  readonly lastIndex: number;
  readonly lastTerm: number;
  /** The membership in force at lastIndex. */
  readonly peers: readonly PeerId[];
}

export interface Snapshot {
  readonly meta: SnapshotMeta;
  readonly data: Buffer;
}

/** What a storage hands back when a node opens it. */
export interface LoadedState {
  readonly hard: HardState;
  readonly snapshot: Snapshot | null;
  /** The entries after the snapshot (or from index 1), contiguous. */
  readonly entries: readonly LogEntry[];
  /**
   * True when the storage found damage (a checksum mismatch, a torn or cut
   * record) and dropped the entries from there on. A damaged node may have
   * acknowledged entries it no longer holds: it must not vote or campaign
   * until a leader has brought it up to that leader's commit index.
   */
  readonly damaged: boolean;
}

/**
 * Durable state of one node. Each promise resolves only once the change is
 * on stable storage (fsynced when the storage was opened durable); a node
 * acknowledges nothing (an append, a vote) before that. Operations run in
 * the order they were called.
 */
export interface RaftStorage {
  load(): Promise<LoadedState>;
  saveHardState(state: HardState): Promise<void>;
  /** Appends entries that follow the current last entry without a gap. */
  append(entries: readonly LogEntry[]): Promise<void>;
  /** Drops the entries from `index` on (a conflicting suffix). */
  truncateFrom(index: number): Promise<void>;
  /** Stores a snapshot, then drops the log up to its lastIndex (entries after it stay). */
  saveSnapshot(snapshot: Snapshot): Promise<void>;
  /**
   * Drops the snapshot and every entry, keeping the term and vote, and
   * remembers how far the log had reached: until it grows back past that,
   * a load reports it damaged. For a state machine that lost what its
   * snapshot covered (see StateLostError): the node starts over as a
   * damaged one and gets everything again from a leader.
   */
  discardLog(): Promise<void>;
  close(): Promise<void>;
}

export interface VoteRequest {
  readonly type: 'vote';
  readonly term: number;
  readonly candidate: PeerId;
  readonly lastIndex: number;
  readonly lastTerm: number;
  /** A pre-vote asks "would you vote for me at `term`?" without anyone changing term. */
  readonly preVote: boolean;
  /** Set when the leader asked this candidate to take over (TimeoutNow): voters skip the leader-stickiness check. */
  readonly transfer: boolean;
}

export interface VoteResponse {
  readonly type: 'vote-response';
  readonly term: number;
  readonly granted: boolean;
  readonly preVote: boolean;
}

export interface AppendRequest {
  readonly type: 'append';
  readonly term: number;
  readonly leader: PeerId;
  readonly prevIndex: number;
  readonly prevTerm: number;
  readonly entries: readonly LogEntry[];
  readonly commit: number;
}

export interface AppendResponse {
  readonly type: 'append-response';
  readonly term: number;
  readonly success: boolean;
  /** On success, the index the follower now matches up to; on failure, a hint where to retry from. */
  readonly index: number;
}

/** A whole snapshot in one message; the state machine fetches any bulk data itself (see RaftStateMachine.restore). */
export interface SnapshotRequest {
  readonly type: 'snapshot';
  readonly term: number;
  readonly leader: PeerId;
  readonly snapshot: Snapshot;
}

/** Leadership transfer: the leader tells its chosen successor to campaign now. */
export interface TimeoutNow {
  readonly type: 'timeout-now';
  readonly term: number;
}

export type RaftMessage = VoteRequest | VoteResponse | AppendRequest | AppendResponse | SnapshotRequest | TimeoutNow;

/** Unreliable delivery: a message may be lost, delayed, duplicated or reordered. */
export interface RaftTransport {
  send(to: PeerId, message: RaftMessage): void;
}

export type TimerHandle = unknown;

/** Time and chance, injected so the simulation can drive them. */
export interface RaftClock {
  /** Milliseconds, monotonic. */
  now(): number;
  setTimer(ms: number, fn: () => void): TimerHandle;
  clearTimer(handle: TimerHandle): void;
  /** Uniform in [0, 1). */
  random(): number;
}

/**
 * The replicated state machine. `apply` sees every committed normal entry
 * once per life of the node, in index order, starting after the snapshot
 * it was restored from; it must be deterministic (same entries, same state
 * on every member). After a restart the node replays entries the state
 * machine may already hold (applied before the crash but after the last
 * snapshot): apply must then recognise and skip them.
 */
export interface RaftStateMachine {
  /**
   * A promise pauses the applying of later entries (not replication or
   * commits) until it settles: long work, a purge of millions of messages,
   * then runs in slices with the event loop free in between.
   */
  apply(index: number, data: Buffer): void | Promise<void>;
  /**
   * The state as of everything applied so far, resolved once that state is
   * durable: the node then drops the log up to that point.
   */
  snapshot(): Promise<Buffer>;
  /**
   * Replaces the state with a snapshot's (a follower too far behind the
   * leader's log). May fetch bulk data from `leader` before it resolves; the
   * node applies nothing meanwhile. At start the node restores its own
   * snapshot (`leader` is the node itself): a state machine that finds it
   * lost part of what that snapshot covers rejects with a StateLostError
   * (state-lost.ts), and the node recovers everything from a leader.
   */
  restore(snapshot: Snapshot, leader: PeerId): Promise<void>;
  /** Leadership changed (null: no known leader). `self` when this node leads now. */
  leaderChanged(leader: PeerId | null, self: boolean): void;
}

export interface RaftTiming {
  /** Leader heartbeat interval. */
  readonly heartbeatMs: number;
  /** Followers campaign after a random time in [electionMinMs, electionMaxMs) without a leader. */
  readonly electionMinMs: number;
  readonly electionMaxMs: number;
  /** A leader that has heard from no quorum for this long steps down. */
  readonly quorumLossMs: number;
  /** A snapshot is taken once this many entries were applied since the last one. */
  readonly snapshotEntries: number;
  /** Most bytes of entries in one append message. */
  readonly maxAppendBytes: number;
}

export interface RaftLogger {
  info(msg: string): void;
  warn(msg: string): void;
}

export interface RaftOptions {
  readonly id: PeerId;
  /** The group's name (for logs and the transport). */
  readonly group: string;
  /** Membership used when the storage holds none yet (a new group). Includes `id`. */
  readonly peers: readonly PeerId[];
  /**
   * The group's expected size when its membership is still being
   * discovered (the meta group): the quorum is a majority of the larger of
   * this and the number of known peers. Defaults to the peers' count.
   */
  readonly expectedSize?: number;
  readonly storage: RaftStorage;
  readonly transport: RaftTransport;
  readonly clock: RaftClock;
  readonly stateMachine: RaftStateMachine;
  readonly timing?: Partial<RaftTiming>;
  /** An observer replicates and votes but never campaigns. */
  readonly observer?: boolean;
  /** Campaign soon after start (about 50 ms) instead of waiting for an election timeout: the peer chosen to lead a new group. */
  readonly preferred?: boolean;
  readonly logger?: RaftLogger;
}

export type RaftRole = 'follower' | 'candidate' | 'leader';

export interface PeerStatus {
  readonly id: PeerId;
  /** Highest index known replicated on it (leader's view; 0 elsewhere). */
  readonly match: number;
  /** Milliseconds since it was last heard from (leader's view), -1 for never. */
  readonly lastSeenMs: number;
  /** Caught up with the leader's commit and heard from within 10 s (leader's view). */
  readonly current: boolean;
}

export interface RaftStatus {
  readonly id: PeerId;
  readonly group: string;
  readonly role: RaftRole;
  readonly term: number;
  readonly leader: PeerId | null;
  readonly commit: number;
  readonly applied: number;
  readonly lastIndex: number;
  readonly peers: readonly PeerStatus[];
  /** Set after a damaged load until a leader has caught the node up. */
  readonly recovering: boolean;
}

export interface RaftNode {
  readonly id: PeerId;
  readonly group: string;
  /** Opens the storage, restores the snapshot, replays committed entries lazily as the commit index is learnt, starts the timers. */
  start(): Promise<void>;
  /** Stops timers and closes the storage; in-flight proposals are abandoned. */
  stop(): Promise<void>;
  /** A message from a peer (the transport calls this). Garbage is ignored. */
  receive(from: PeerId, message: RaftMessage): void;
  /**
   * Appends `data` as a normal entry; the leader only. Returns the entry's
   * index, or 0 when this node is not the leader. The entry is known
   * committed when `apply(index, …)` runs here; an entry proposed by a
   * leader that then lost leadership may commit or vanish.
   */
  propose(data: Buffer): number;
  isLeader(): boolean;
  leader(): PeerId | null;
  term(): number;
  /**
   * The leader only: hands leadership to `preferred` (or the most
   * up-to-date current peer) and steps down. False when not leader or no
   * peer could take over.
   */
  stepDown(preferred?: PeerId): boolean;
  /** The leader only, one membership change at a time (false otherwise); the change is in force once appended. */
  addPeer(id: PeerId): boolean;
  removePeer(id: PeerId): boolean;
  peers(): readonly PeerId[];
  /** A leader is known, this node's applied index has reached that leader's last known commit, and it is not recovering. */
  isCurrent(): boolean;
  status(): RaftStatus;
}
