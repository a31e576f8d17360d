/**
 * A Raft node (createRaftNode): elections with pre-vote and leader
 * stickiness, replication (leader side in replication.ts), commit and apply,
 * snapshots, single-server membership changes and leadership transfer.
 *
 * Everything runs on the caller's turn: messages, timers and storage
 * completions each mutate the node synchronously. Storage operations are
 * issued in order and only their completion makes anything visible to
 * peers: a vote goes out once its term and vote are durable, and an append
 * is acknowledged (and a leader counts itself) only up to the node's
 * stable index, the end of the log known durable. SAFETY.md argues why this
 * is safe and names the methods that enforce each step.
 */
import { RaftLog } from './log.js';
import { PendingAck, Replicator, type ReplicationHost } from './replication.js';
import { logUpToDate, quorumSize, VoteTally } from './election.js';
import { decodePeers, encodePeers, membershipAt } from './membership.js';
import type {
  AppendRequest, AppendResponse, EntryKind, LogEntry, PeerId, PeerStatus, RaftClock, RaftLogger, RaftMessage,
  RaftNode, RaftOptions, RaftRole, RaftStateMachine, RaftStatus, RaftStorage, RaftTiming, RaftTransport, Snapshot,
  SnapshotRequest, TimeoutNow, TimerHandle, VoteRequest, VoteResponse,
} from './types.js';
import { StateLostError } from './state-lost.js';

export const DEFAULT_RAFT_TIMING: RaftTiming = {
  heartbeatMs: 250,
  electionMinMs: 1000,
  electionMaxMs: 2000,
  quorumLossMs: 5000,
  snapshotEntries: 8192,
  maxAppendBytes: 1024 * 1024,
};

/** How soon the preferred peer of a new group campaigns. */
const PREFERRED_CAMPAIGN_MS = 50;
const EMPTY = Buffer.alloc(0);

const silentLogger: RaftLogger = { info() {}, warn() {} };

export function createRaftNode(options: RaftOptions): RaftNode {
  return new RaftNodeImpl(options);
}

class RaftNodeImpl implements RaftNode, ReplicationHost {
  readonly id: PeerId;
  readonly group: string;
  readonly clock: RaftClock;
  readonly transport: RaftTransport;
  readonly timing: RaftTiming;
  log = new RaftLog(0, 0, []);

  private readonly storage: RaftStorage;
  private readonly stateMachine: RaftStateMachine;
  private readonly logger: RaftLogger;
  private readonly expectedSize: number;
  private readonly observer: boolean;
  private readonly preferred: boolean;
  private readonly initialPeers: readonly PeerId[];

  // Hard state as this node acts on it (saveHardState makes it durable before any vote leaves).
  private currentTermValue = 0;
  private votedFor: PeerId | null = null;
  /** The highest term known saved: acknowledgements wait for their term to be durable. */
  private durableTerm = 0;

  private role: RaftRole = 'follower';
  private leaderId: PeerId | null = null;
  private commit = 0;
  private applied = 0;
  /** The leader's commit index as it last told us. */
  private leaderCommit = 0;
  private members: readonly PeerId[];
  /** Index of the 'peers' entry that set `members` (0: from the snapshot or the options). */
  private configIndex = 0;
  private snapshot: Snapshot | null = null;

  /** End of the log known durable: what may be acknowledged (or counted by a leader for itself). */
  private stable = 0;
  /** Bumped by every truncation, so an append that completes after one cannot raise `stable` past it. */
  private storageEpoch = 0;
  /** Entries the leader appended this turn, handed to storage in one batch by the flush. */
  private unsaved: LogEntry[] = [];

  /** Loaded damaged and not yet caught up by a leader: no votes, no campaigns. */
  private recovering = false;
  /** The leader commit index whose durable, matching presence ends `recovering` (0: none seen yet). */
  private recoverAt = 0;
  private restoring = false;
  /** An apply that returned a promise is under way: later entries wait, and no snapshot or restore starts. */
  private applyWaiting = false;
  private snapshotting = false;
  private started = false;
  private stopped = false;

  private lastLeaderContact = -Infinity;
  private electionDeadline = 0;
  private electionTimer: TimerHandle | null = null;
  private heartbeatTimer: TimerHandle | null = null;
  private flushTimer: TimerHandle | null = null;
  private transferTimer: TimerHandle | null = null;
  private preferredTimer: TimerHandle | null = null;

  private tally: VoteTally | null = null;
  private replicator: Replicator | null = null;
  private leaderSince = 0;
  private transferTarget: PeerId | null = null;

  private readonly ack = new PendingAck();

  constructor(options: RaftOptions) {
    this.id = options.id;
    this.group = options.group;
    this.clock = options.clock;
    this.transport = options.transport;
    this.storage = options.storage;
    this.stateMachine = options.stateMachine;
    this.timing = { ...DEFAULT_RAFT_TIMING, ...options.timing };
    this.logger = options.logger ?? silentLogger;
    // Without one, the quorum follows the membership as it changes (the configured list only seeds it).
    this.expectedSize = options.expectedSize ?? 0;
    this.observer = options.observer ?? false;
    this.preferred = options.preferred ?? false;
    this.initialPeers = options.peers.slice();
    this.members = this.initialPeers;
  }

  // ---- lifecycle -------------------------------------------------------

  async start(): Promise<void> {
    let loaded = await this.storage.load();
    this.currentTermValue = loaded.hard.term;
    this.votedFor = loaded.hard.vote;
    let snap = loaded.snapshot;
    // No leader yet: `leader` is this node, the state comes from its own storage.
    const lost = snap === null ? null : await this.stateMachine.restore(snap, this.id).then(() => null, (e: unknown) => {
      if (e instanceof StateLostError) return e;
      throw e;
    });
    if (lost !== null) {
      // Its log is no use without the state the snapshot stood for: recover all of it, as a damaged node.
      this.logger.warn(`raft ${this.group}: ${lost.message}; starting over from a leader`);
      await this.storage.discardLog();
      loaded = { ...loaded, snapshot: null, entries: [], damaged: true };
      snap = null;
    }
    if (snap) {
      this.snapshot = snap;
      this.commit = this.applied = snap.meta.lastIndex;
    }
    this.log = new RaftLog(snap?.meta.lastIndex ?? 0, snap?.meta.lastTerm ?? 0, loaded.entries);
    this.stable = this.log.lastIndex();
    this.recomputeMembers();
    // Alone in its group, a node has nobody to recover from: what it lost is lost, waiting would only block it.
    this.recovering = loaded.damaged && (this.members.length > 1 || this.expectedSize > 1);
    if (loaded.damaged && !this.recovering) this.logger.warn(`raft ${this.group}: log damaged on load, continuing alone`);
    if (this.recovering) {
      this.logger.warn(`raft ${this.group}: log damaged on load, recovering from a leader`);
      // Every acknowledgement this node gave before the damage was in a term up to the stored one. Moving past
      // it makes every append it accepts from now on come from a leader that never counted those (now false)
      // acknowledgements: so the commit point that ends recovery is one a quorum of intact logs really holds.
      this.currentTermValue++;
      this.votedFor = null;
      await this.storage.saveHardState({ term: this.currentTermValue, vote: null });
    }
    this.durableTerm = this.currentTermValue;
    this.started = true;
    if (this.stopped) return;
    this.resetElectionTimer();
    if (this.preferred && this.log.lastIndex() === 0) {
      this.preferredTimer = this.clock.setTimer(PREFERRED_CAMPAIGN_MS, () => {
        this.preferredTimer = null;
        if (this.leaderId === null && this.role === 'follower' && this.log.lastIndex() === 0) this.campaign();
      });
    }
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.flushUnsaved();
    this.stopped = true;
    this.clearTimers();
    await this.storage.close();
  }

  private clearTimers(): void {
    for (const t of [this.electionTimer, this.heartbeatTimer, this.flushTimer, this.transferTimer, this.preferredTimer]) {
      if (t !== null) this.clock.clearTimer(t);
    }
    this.electionTimer = this.heartbeatTimer = this.flushTimer = this.transferTimer = this.preferredTimer = null;
  }

  /** A storage failure: the node can no longer promise durability, so it stops taking part. */
  private fail(err: unknown): void {
    if (this.stopped) return;
    this.logger.warn(`raft ${this.group}: storage failed, node stops: ${err instanceof Error ? err.message : String(err)}`);
    this.stopped = true;
    this.clearTimers();
    this.setLeader(null);
  }

  // ---- queries ---------------------------------------------------------

  currentTerm(): number { return this.currentTermValue; }
  commitIndex(): number { return this.commit; }
  latestSnapshot(): Snapshot | null { return this.snapshot; }
  isLeader(): boolean { return this.role === 'leader' && !this.stopped; }
  leader(): PeerId | null { return this.leaderId; }
  term(): number { return this.currentTermValue; }
  peers(): readonly PeerId[] { return this.members; }

  isCurrent(): boolean {
    if (this.stopped || this.recovering || this.leaderId === null) return false;
    return this.applied >= (this.role === 'leader' ? this.commit : this.leaderCommit);
  }

  status(): RaftStatus {
    const peers = this.replicator?.peerStatus(this.members, this.commit, this.stable)
      ?? this.members.map((id): PeerStatus => ({ id, match: 0, lastSeenMs: -1, current: false }));
    return {
      id: this.id, group: this.group, role: this.role, term: this.currentTermValue, leader: this.leaderId,
      commit: this.commit, applied: this.applied, lastIndex: this.log.lastIndex(), peers, recovering: this.recovering,
    };
  }

  private quorum(): number {
    return quorumSize(this.members, this.expectedSize);
  }

  // ---- proposals and membership ----------------------------------------

  propose(data: Buffer): number {
    if (!this.isLeader() || this.transferTarget !== null) return 0;
    return this.appendLocal('normal', data);
  }

  addPeer(id: PeerId): boolean {
    if (!this.canChangeMembership() || this.members.includes(id)) return false;
    this.appendLocal('peers', encodePeers([...this.members, id]));
    return true;
  }

  removePeer(id: PeerId): boolean {
    if (!this.canChangeMembership() || !this.members.includes(id) || this.members.length === 1) return false;
    this.appendLocal('peers', encodePeers(this.members.filter((p) => p !== id)));
    return true;
  }

  /** One change at a time: the previous one must have committed, so old and new majorities always overlap. */
  private canChangeMembership(): boolean {
    return this.isLeader() && this.transferTarget === null && this.configIndex <= this.commit;
  }

  /** The leader appends to its log now; storage and followers get the turn's batch in the flush. */
  private appendLocal(kind: EntryKind, data: Buffer): number {
    const entry: LogEntry = { index: this.log.lastIndex() + 1, term: this.currentTermValue, kind, data };
    this.log.append(entry);
    this.unsaved.push(entry);
    if (kind === 'peers') this.applyMembership(entry);
    this.scheduleFlush();
    return entry.index;
  }

  private scheduleFlush(): void {
    if (this.flushTimer === null && !this.stopped) this.flushTimer = this.clock.setTimer(0, this.onFlush);
  }

  private readonly onFlush = (): void => {
    this.flushTimer = null;
    if (this.stopped) return;
    this.flushUnsaved();
    if (this.role === 'leader') {
      this.replicator!.broadcast(false);
      // A group of one (or a quorum reached by this node alone) commits on its own durability.
      this.advanceCommit();
    }
  };

  private flushUnsaved(): void {
    if (this.unsaved.length === 0) return;
    const batch = this.unsaved;
    this.unsaved = [];
    this.storageAppend(batch);
  }

  /** The membership a 'peers' entry sets takes effect as soon as it is in the log (§4.1 of the Raft thesis). */
  private applyMembership(entry: LogEntry): void {
    const peers = decodePeers(entry.data);
    if (!peers) {
      this.logger.warn(`raft ${this.group}: ignoring malformed membership entry ${entry.index}`);
      return;
    }
    this.members = peers;
    this.configIndex = entry.index;
    this.replicator?.setPeers(peers);
  }

  private recomputeMembers(): void {
    const { peers, index } = membershipAt(this.log, this.log.lastIndex(), this.snapshot?.meta.peers ?? this.initialPeers);
    this.members = peers;
    this.configIndex = index;
    this.replicator?.setPeers(peers);
  }

  // ---- storage ------------------------------------------------------------

  private persistHardState(): Promise<void> {
    const term = this.currentTermValue;
    const saved = this.storage.saveHardState({ term, vote: this.votedFor });
    saved.then(() => {
      if (term <= this.durableTerm) return;
      this.durableTerm = term;
      if (!this.stopped && this.role === 'follower') this.flushAck(false);
    }, (err: unknown) => this.fail(err));
    return saved;
  }

  private storageAppend(entries: readonly LogEntry[]): void {
    const epoch = this.storageEpoch;
    const last = entries[entries.length - 1]!.index;
    this.storage.append(entries).then(() => this.onStable(epoch, last), (err: unknown) => this.fail(err));
  }

  private storageTruncate(index: number): void {
    this.storageEpoch++;
    if (this.stable >= index) this.stable = index - 1;
    this.log.truncateFrom(index);
    this.storage.truncateFrom(index).catch((err: unknown) => this.fail(err));
    if (this.configIndex >= index) this.recomputeMembers();
  }

  /** Storage finished an append (or snapshot install) ending at `last`: everything issued before it is durable too. */
  private onStable(epoch: number, last: number): void {
    if (this.stopped || epoch !== this.storageEpoch || last <= this.stable) return;
    this.stable = last;
    if (this.role === 'leader') this.advanceCommit();
    else this.flushAck(false);
  }

  // ---- commit, apply, snapshots ------------------------------------------

  /** The leader: the highest index on a quorum commits, if it is of this term (§5.4.2); earlier ones commit with it. */
  private advanceCommit(): void {
    if (this.role !== 'leader') return;
    const index = this.replicator!.quorumIndex(this.members, this.stable, this.quorum());
    if (index <= this.commit || this.log.termAt(index) !== this.currentTermValue) return;
    this.commit = index;
    this.applyCommitted();
    if (this.role !== 'leader') return;
    if (!this.members.includes(this.id) && this.commit >= this.configIndex) {
      // Our own removal committed: the remaining members carry on without us.
      this.logger.info(`raft ${this.group}: removed from the group, stepping down`);
      this.becomeFollower(this.currentTermValue, null);
      return;
    }
    this.scheduleFlush();
  }

  private applyCommitted(): void {
    while (this.applied < this.commit && !this.restoring && !this.applyWaiting && !this.stopped) {
      const entry = this.log.entry(this.applied + 1);
      if (!entry) break;
      this.applied = entry.index;
      if (entry.kind !== 'normal') continue;
      try {
        const pending = this.stateMachine.apply(entry.index, entry.data);
        if (pending !== undefined) {
          // Long work in slices (a purge of millions): the next entries wait; replication and commits go on.
          this.applyWaiting = true;
          pending.catch((err: unknown) => this.applyFailed(entry.index, err)).finally(this.resumeApply);
        }
      } catch (err) {
        this.applyFailed(entry.index, err);
      }
    }
    this.maybeSnapshot();
  }

  private readonly resumeApply = (): void => {
    this.applyWaiting = false;
    this.applyCommitted();
  };

  private applyFailed(index: number, err: unknown): void {
    this.logger.warn(`raft ${this.group}: apply of ${index} failed: ${err instanceof Error ? err.message : String(err)}`);
  }

  private maybeSnapshot(): void {
    if (this.snapshotting || this.restoring || this.applyWaiting || this.stopped) return;
    if (this.applied - this.log.snapshotIndex() < this.timing.snapshotEntries) return;
    this.snapshotting = true;
    const index = this.applied;
    const term = this.log.termAt(index);
    const peers = membershipAt(this.log, index, this.snapshot?.meta.peers ?? this.initialPeers).peers;
    this.stateMachine.snapshot()
      .then(async (data) => {
        if (this.stopped) return;
        const snap: Snapshot = { meta: { lastIndex: index, lastTerm: term, peers }, data };
        await this.storage.saveSnapshot(snap);
        this.snapshotting = false;
        if (this.stopped) return;
        // A snapshot installed from the leader meanwhile may already cover more.
        if (index > this.log.snapshotIndex()) {
          this.log.compact(index, term);
          this.snapshot = snap;
        }
        this.maybeSnapshot();
      })
      .catch((err: unknown) => this.fail(err));
  }

  // ---- timers and elections ------------------------------------------------

  private resetElectionTimer(): void {
    const { electionMinMs, electionMaxMs } = this.timing;
    this.electionDeadline = this.clock.now() + electionMinMs + this.clock.random() * (electionMaxMs - electionMinMs);
    if (this.electionTimer === null && !this.stopped) {
      this.electionTimer = this.clock.setTimer(this.electionDeadline - this.clock.now(), this.onElectionTimer);
    }
  }

  /** Armed once per deadline, not per message: contact only moves the deadline, the timer re-arms itself for the rest. */
  private readonly onElectionTimer = (): void => {
    this.electionTimer = null;
    if (this.stopped) return;
    const now = this.clock.now();
    if (now < this.electionDeadline) {
      this.electionTimer = this.clock.setTimer(this.electionDeadline - now, this.onElectionTimer);
      return;
    }
    this.resetElectionTimer();
    if (this.role === 'leader') return;
    // Silent for a whole election timeout: whoever led is no longer known to (isCurrent turns false).
    this.setLeader(null);
    this.campaign();
  };

  /**
   * Members campaign; so does a node whose own removal is not known
   * committed: it may hold the longest log (a leader that crashed while
   * removing itself), and without it the others could be stuck. Elected, it
   * commits the removal without counting itself and steps down.
   */
  private canCampaign(): boolean {
    if (this.observer || this.recovering || this.stopped) return false;
    return this.members.includes(this.id) || this.configIndex > this.commit;
  }

  /** Pre-vote first: a node that cannot win (partitioned, behind) never raises its term and so never deposes a leader. */
  private campaign(): void {
    if (!this.canCampaign() || this.role === 'leader') return;
    const tally = new VoteTally(this.currentTermValue + 1, true);
    this.tally = tally;
    tally.grant(this.id, this.members);
    this.requestVotes(tally.term, true, false);
    if (tally.count() >= this.quorum()) this.startElection(false);
  }

  private startElection(transfer: boolean): void {
    this.currentTermValue++;
    this.votedFor = this.id;
    this.role = 'candidate';
    this.setLeader(null);
    const tally = new VoteTally(this.currentTermValue, false);
    this.tally = tally;
    this.resetElectionTimer();
    const term = this.currentTermValue;
    this.persistHardState().then(() => {
      if (this.stopped || this.currentTermValue !== term || this.tally !== tally) return;
      tally.grant(this.id, this.members);
      this.requestVotes(term, false, transfer);
      if (tally.count() >= this.quorum()) this.becomeLeader();
    }, () => {});
  }

  private requestVotes(term: number, preVote: boolean, transfer: boolean): void {
    const request: VoteRequest = {
      type: 'vote', term, candidate: this.id, lastIndex: this.log.lastIndex(), lastTerm: this.log.lastTerm(), preVote, transfer,
    };
    for (const peer of this.members) if (peer !== this.id) this.transport.send(peer, request);
  }

  private becomeLeader(): void {
    this.role = 'leader';
    this.tally = null;
    this.leaderSince = this.clock.now();
    this.replicator = new Replicator(this);
    this.replicator.setPeers(this.members);
    // Commits everything before it once it commits (a leader only counts entries of its own term).
    this.appendLocal('noop', EMPTY);
    // A fresh log: record the membership this leader was elected with, so every member adopts the same one.
    if (this.configIndex === 0 && this.snapshot === null) this.appendLocal('peers', encodePeers(this.members));
    this.heartbeatTimer = this.clock.setTimer(this.timing.heartbeatMs, this.onHeartbeat);
    this.logger.info(`raft ${this.group}: leader for term ${this.currentTermValue}`);
    this.setLeader(this.id);
  }

  private readonly onHeartbeat = (): void => {
    this.heartbeatTimer = null;
    if (this.stopped || this.role !== 'leader') return;
    const now = this.clock.now();
    const { quorumLossMs } = this.timing;
    if (now - this.leaderSince >= quorumLossMs && this.replicator!.recentlySeen(this.members, quorumLossMs) < this.quorum()) {
      this.logger.warn(`raft ${this.group}: no quorum heard for ${quorumLossMs} ms, stepping down`);
      this.becomeFollower(this.currentTermValue, null);
      return;
    }
    this.replicator!.broadcast(true);
    this.heartbeatTimer = this.clock.setTimer(this.timing.heartbeatMs, this.onHeartbeat);
  };

  /** Follows `leader` (null: unknown) at `term`, adopting the term (and forgetting the vote) when it is newer. */
  private becomeFollower(term: number, leader: PeerId | null): void {
    this.flushUnsaved();
    const wasLeader = this.role === 'leader';
    if (term > this.currentTermValue) {
      this.currentTermValue = term;
      this.votedFor = null;
      // Recovery needs a commit point of the leader it follows now.
      this.recoverAt = 0;
      this.persistHardState().catch(() => {});
    }
    this.role = 'follower';
    this.tally = null;
    this.replicator = null;
    this.endTransfer();
    if (this.heartbeatTimer !== null) {
      this.clock.clearTimer(this.heartbeatTimer);
      this.heartbeatTimer = null;
    }
    if (wasLeader) this.resetElectionTimer();
    this.setLeader(leader);
  }

  private setLeader(leader: PeerId | null): void {
    if (leader === this.leaderId) return;
    this.leaderId = leader;
    this.stateMachine.leaderChanged(leader, leader !== null && leader === this.id);
  }

  // ---- leadership transfer -------------------------------------------------

  stepDown(preferred?: PeerId): boolean {
    if (!this.isLeader() || this.transferTarget !== null) return false;
    const target = this.replicator!.transferCandidate(this.members, this.timing.electionMinMs, preferred);
    if (target === null) return false;
    this.transferTarget = target;
    this.transferTimer = this.clock.setTimer(this.timing.electionMaxMs, () => {
      this.transferTimer = null;
      this.logger.warn(`raft ${this.group}: leadership transfer to ${target} timed out`);
      this.endTransfer();
    });
    this.flushUnsaved();
    this.continueTransfer();
    return true;
  }

  /** Sends TimeoutNow once the target holds the whole log (else replication keeps feeding it), then steps down. */
  private continueTransfer(): void {
    const target = this.transferTarget;
    if (target === null || this.role !== 'leader') return;
    const p = this.replicator!.progress.get(target);
    if (!p) {
      this.endTransfer();
      return;
    }
    if (p.match < this.log.lastIndex()) {
      this.replicator!.sendTo(target, p, false);
      return;
    }
    const message: TimeoutNow = { type: 'timeout-now', term: this.currentTermValue };
    this.transport.send(target, message);
    this.becomeFollower(this.currentTermValue, null);
  }

  private endTransfer(): void {
    this.transferTarget = null;
    if (this.transferTimer !== null) {
      this.clock.clearTimer(this.transferTimer);
      this.transferTimer = null;
    }
  }

  // ---- messages ------------------------------------------------------------

  receive(from: PeerId, message: RaftMessage): void {
    if (!this.started || this.stopped || from === this.id) return;
    switch (message.type) {
      case 'vote': return this.onVoteRequest(from, message);
      case 'vote-response': return this.onVoteResponse(from, message);
      case 'append': return this.onAppend(from, message);
      case 'append-response': return this.onAppendResponse(from, message);
      case 'snapshot': return this.onSnapshot(from, message);
      case 'timeout-now': return this.onTimeoutNow(message);
    }
  }

  private onVoteRequest(from: PeerId, m: VoteRequest): void {
    if (from !== m.candidate) return;
    const refuse = (): void => {
      const response: VoteResponse = { type: 'vote-response', term: this.currentTermValue, granted: false, preVote: m.preVote };
      this.transport.send(from, response);
    };
    if (m.term < this.currentTermValue) return refuse();
    // Stickiness (§4.2.3 of the Raft thesis): while a leader is alive, neither a pre-vote nor a vote is granted,
    // and a real vote request does not even raise our term, so a rejoining node cannot depose it.
    const leaderAlive = this.role === 'leader'
      || (this.leaderId !== null && this.clock.now() - this.lastLeaderContact < this.timing.electionMinMs);
    if (leaderAlive && !m.transfer) return refuse();
    const upToDate = logUpToDate(m.lastTerm, m.lastIndex, this.log.lastTerm(), this.log.lastIndex());
    if (m.preVote) {
      const couldVote = m.term > this.currentTermValue || this.votedFor === null || this.votedFor === m.candidate;
      if (this.recovering || !upToDate || !couldVote) return refuse();
      this.transport.send(from, { type: 'vote-response', term: m.term, granted: true, preVote: true });
      return;
    }
    if (m.term > this.currentTermValue) this.becomeFollower(m.term, null);
    if (this.recovering || !upToDate || (this.votedFor !== null && this.votedFor !== m.candidate)) return refuse();
    this.votedFor = m.candidate;
    this.resetElectionTimer();
    const term = this.currentTermValue;
    // The vote leaves only once it is durable: a restart cannot make this node vote twice in a term.
    this.persistHardState().then(() => {
      if (this.stopped || this.currentTermValue !== term) return;
      this.transport.send(from, { type: 'vote-response', term, granted: true, preVote: false });
    }, () => {});
  }

  private onVoteResponse(from: PeerId, m: VoteResponse): void {
    // A refused pre-vote also reports the voter's term: adopting it (no one else's term moves) lets a node
    // whose term lags catch up, else voters that already voted in its next term would refuse it forever.
    if (m.term > this.currentTermValue && (!m.preVote || !m.granted)) {
      this.becomeFollower(m.term, null);
      return;
    }
    const tally = this.tally;
    if (!tally || !m.granted || tally.preVote !== m.preVote || tally.term !== m.term) return;
    if (tally.preVote ? this.role === 'leader' : this.role !== 'candidate') return;
    tally.grant(from, this.members);
    if (tally.count() < this.quorum()) return;
    if (tally.preVote) this.startElection(false);
    else this.becomeLeader();
  }

  /** A message from a leader of `term` (not older than ours): follow it. Returns false when it must be ignored. */
  private followLeader(term: number, leader: PeerId): boolean {
    if (term === this.currentTermValue && this.role === 'leader') {
      this.logger.warn(`raft ${this.group}: two leaders claim term ${term} (${leader} and this node); ignoring`);
      return false;
    }
    if (term > this.currentTermValue || this.role !== 'follower') this.becomeFollower(term, leader);
    else this.setLeader(leader);
    this.lastLeaderContact = this.clock.now();
    this.resetElectionTimer();
    return true;
  }

  private reject(to: PeerId, hint: number): void {
    const response: AppendResponse = { type: 'append-response', term: this.currentTermValue, success: false, index: hint };
    this.transport.send(to, response);
  }

  private onAppend(from: PeerId, m: AppendRequest): void {
    if (m.term < this.currentTermValue) return this.reject(from, this.log.lastIndex());
    if (!this.followLeader(m.term, m.leader)) return;
    this.leaderCommit = m.commit;
    if (this.restoring) return;
    let prevIndex = m.prevIndex;
    let prevTerm = m.prevTerm;
    let entries = m.entries;
    const snapIndex = this.log.snapshotIndex();
    if (prevIndex < snapIndex) {
      // Our snapshot covers the start: those entries are committed, hence the same in every log.
      const skip = snapIndex - prevIndex;
      if (skip >= entries.length) return this.requestAck(from, prevIndex + entries.length);
      entries = entries.slice(skip);
      prevIndex = snapIndex;
      prevTerm = this.log.snapshotTerm();
    }
    if (prevIndex > this.log.lastIndex()) return this.reject(from, this.log.lastIndex());
    if (this.log.termAt(prevIndex) !== prevTerm) return this.reject(from, this.conflictHint(prevIndex));
    let fresh = 0;
    for (; fresh < entries.length; fresh++) {
      const entry = entries[fresh]!;
      if (entry.index > this.log.lastIndex()) break;
      if (this.log.termAt(entry.index) === entry.term) continue;
      if (entry.index <= this.commit) {
        this.logger.warn(`raft ${this.group}: leader ${m.leader} contradicts committed entry ${entry.index}; ignoring`);
        return;
      }
      this.storageTruncate(entry.index);
      break;
    }
    if (fresh < entries.length) {
      const added = entries.slice(fresh);
      for (const entry of added) {
        this.log.append(entry);
        if (entry.kind === 'peers') this.applyMembership(entry);
      }
      this.storageAppend(added);
    }
    const matched = prevIndex + entries.length;
    const newCommit = Math.min(m.commit, matched);
    if (newCommit > this.commit) {
      this.commit = newCommit;
      this.applyCommitted();
    }
    // Recovery ends once we durably hold the leader's commit point and it lies in the leader's own term:
    // then every entry committed before this leader's election is among what we hold.
    if (this.recovering && m.commit <= matched && this.log.termAt(m.commit) === m.term) {
      this.recoverAt = Math.max(this.recoverAt, m.commit);
    }
    this.requestAck(from, matched);
  }

  /** Where the leader should retry after a term mismatch at prevIndex: before the run of our conflicting term (never below commit). */
  private conflictHint(prevIndex: number): number {
    const conflictTerm = this.log.termAt(prevIndex);
    let index = prevIndex - 1;
    while (index > this.commit && index > this.log.snapshotIndex() && this.log.termAt(index) === conflictTerm) index--;
    return Math.min(index, prevIndex - 1);
  }

  /** We match the leader up to `index`: acknowledge as soon as that much is durable. */
  private requestAck(to: PeerId, index: number): void {
    this.ack.owe(to, this.currentTermValue, index);
    // Every append gets an answer when one is due now (the leader tracks liveness by them).
    this.flushAck(this.stable >= index);
  }

  private flushAck(always: boolean): void {
    // An acknowledgement in a term this node could forget in a crash would survive it in the leader's count.
    if (this.durableTerm < this.currentTermValue) return;
    const index = this.ack.due(this.currentTermValue, this.stable, always);
    if (index < 0) return;
    if (this.recovering && this.recoverAt > 0 && index >= this.recoverAt) {
      this.recovering = false;
      this.logger.info(`raft ${this.group}: recovered up to ${index}`);
    }
    this.transport.send(this.ack.to!, { type: 'append-response', term: this.currentTermValue, success: true, index });
  }

  private onAppendResponse(from: PeerId, m: AppendResponse): void {
    if (m.term > this.currentTermValue) {
      this.becomeFollower(m.term, null);
      return;
    }
    if (this.role !== 'leader' || m.term !== this.currentTermValue) return;
    if (this.replicator!.onResponse(from, m.success, m.index)) this.advanceCommit();
    if (this.transferTarget === from) this.continueTransfer();
  }

  private onSnapshot(from: PeerId, m: SnapshotRequest): void {
    if (m.term < this.currentTermValue) return this.reject(from, this.log.lastIndex());
    // While an apply is under way the snapshot waits: the leader sends it again.
    if (!this.followLeader(m.term, m.leader) || this.restoring || this.applyWaiting) return;
    const snap = m.snapshot;
    if (snap.meta.lastIndex <= this.commit) return this.requestAck(from, snap.meta.lastIndex);
    this.restoring = true;
    const term = this.currentTermValue;
    this.stateMachine.restore(snap, m.leader).then(
      () => this.installSnapshot(snap, from, term),
      (err: unknown) => {
        this.restoring = false;
        this.logger.warn(`raft ${this.group}: snapshot restore failed: ${err instanceof Error ? err.message : String(err)}`);
      },
    );
  }

  /** The state machine holds the snapshot's state: make the log start after it and tell the leader once durable. */
  private installSnapshot(snap: Snapshot, from: PeerId, term: number): void {
    this.restoring = false;
    if (this.stopped) return;
    const { lastIndex, lastTerm } = snap.meta;
    if (lastIndex > this.log.snapshotIndex()) {
      if (this.log.termAt(lastIndex) !== lastTerm && this.log.lastIndex() > lastIndex) this.storageTruncate(lastIndex + 1);
      this.log.compact(lastIndex, lastTerm);
      this.snapshot = snap;
      if (lastIndex > this.commit) this.commit = lastIndex;
      this.applied = Math.max(this.applied, lastIndex);
      this.recomputeMembers();
      const epoch = this.storageEpoch;
      this.storage.saveSnapshot(snap).then(() => this.onStable(epoch, lastIndex), (err: unknown) => this.fail(err));
    }
    if (this.currentTermValue === term) this.requestAck(from, lastIndex);
    this.applyCommitted();
  }

  private onTimeoutNow(m: TimeoutNow): void {
    if (m.term < this.currentTermValue || !this.canCampaign() || this.role === 'leader') return;
    if (m.term > this.currentTermValue) this.becomeFollower(m.term, null);
    this.startElection(true);
  }
}
