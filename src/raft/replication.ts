/**
 * The leader's side of log replication: what it knows of each follower
 * (next index to send, highest index known replicated, when it was last
 * heard from) and the flow of appends to it.
 *
 * A follower is either probing (the leader does not know where their logs
 * meet: one append at a time, re-sent each heartbeat, backing up on every
 * rejection) or replicating (appends pipelined without waiting for
 * answers, at most MAX_INFLIGHT messages of at most maxAppendBytes each
 * unanswered). A lost append shows up as a rejection of the next one (the
 * follower sees a gap) or as silence, and either sends the follower back
 * to probing from its last acknowledged index.
 */
import type { RaftLog } from './log.js';
import type { PeerId, PeerStatus, RaftClock, RaftTiming, RaftTransport, Snapshot } from './types.js';

/** Unanswered appends per follower while replicating. */
const MAX_INFLIGHT = 8;
/** A peer heard from within this long (and caught up) is `current` in status(). */
const CURRENT_PEER_MS = 10_000;

export class Progress {
  /** The next index to send. */
  next: number;
  /** Highest index known durable on the follower and matching this log. */
  match = 0;
  probing = true;
  /** Last index of each unanswered append while replicating, oldest first. */
  inflight: number[] = [];
  /** When anything was last heard from it (-1: never). */
  lastSeen = -1;
  /** When the last append or snapshot went out while probing (throttles re-sends to one per heartbeat). */
  lastProbeSent = -Infinity;
  /** The commit index the follower was last told. */
  sentCommit = 0;
  /** When a snapshot was last sent (they are large: re-sent only after an election timeout). */
  lastSnapshotSent = -Infinity;

  constructor(next: number) {
    this.next = next;
  }
}

/** What replication needs of the node it runs in. */
export interface ReplicationHost {
  readonly id: PeerId;
  readonly log: RaftLog;
  readonly clock: RaftClock;
  readonly transport: RaftTransport;
  readonly timing: RaftTiming;
  currentTerm(): number;
  commitIndex(): number;
  /** The newest snapshot, for followers behind the log's start. */
  latestSnapshot(): Snapshot | null;
}

export class Replicator {
  readonly progress = new Map<PeerId, Progress>();

  constructor(private readonly host: ReplicationHost) {}

  /** Tracks exactly `peers` (minus this node), keeping what is known of the ones that stay. */
  setPeers(peers: readonly PeerId[]): void {
    for (const id of this.progress.keys()) if (!peers.includes(id)) this.progress.delete(id);
    for (const id of peers) {
      if (id !== this.host.id && !this.progress.has(id)) this.progress.set(id, new Progress(this.host.log.lastIndex() + 1));
    }
  }

  /** Sends each follower what it lacks (new entries, or a newer commit index); `heartbeat` also pings the idle ones and re-probes stuck ones. */
  broadcast(heartbeat: boolean): void {
    for (const [id, p] of this.progress) this.sendTo(id, p, heartbeat);
  }

  sendTo(id: PeerId, p: Progress, heartbeat: boolean): void {
    const { log, clock, timing } = this.host;
    const now = clock.now();
    if (p.next <= log.snapshotIndex()) {
      this.sendSnapshot(id, p, now);
      return;
    }
    if (p.probing) {
      if (!heartbeat && now - p.lastProbeSent < timing.heartbeatMs) return;
      p.lastProbeSent = now;
      this.sendAppend(id, p, log.slice(p.next, timing.maxAppendBytes));
      return;
    }
    if (heartbeat && p.inflight.length > 0 && now - p.lastSeen > 2 * timing.heartbeatMs) {
      // Appends went unanswered for two heartbeats: assume them lost and find the follower again.
      this.startProbing(p, p.match);
      this.sendTo(id, p, true);
      return;
    }
    let sent = false;
    while (p.inflight.length < MAX_INFLIGHT && p.next <= log.lastIndex()) {
      const entries = log.slice(p.next, timing.maxAppendBytes);
      this.sendAppend(id, p, entries);
      const last = entries[entries.length - 1]!.index;
      p.inflight.push(last);
      p.next = last + 1;
      sent = true;
    }
    if (!sent && (heartbeat || p.sentCommit < this.host.commitIndex())) this.sendAppend(id, p, []);
  }

  private sendAppend(id: PeerId, p: Progress, entries: ReturnType<RaftLog['slice']>): void {
    const prevIndex = p.next - 1;
    const commit = this.host.commitIndex();
    p.sentCommit = commit;
    this.host.transport.send(id, {
      type: 'append', term: this.host.currentTerm(), leader: this.host.id,
      prevIndex, prevTerm: this.host.log.termAt(prevIndex), entries, commit,
    });
  }

  private sendSnapshot(id: PeerId, p: Progress, now: number): void {
    const snapshot = this.host.latestSnapshot();
    if (!snapshot || now - p.lastSnapshotSent < this.host.timing.electionMaxMs) return;
    p.lastSnapshotSent = now;
    p.probing = true;
    this.host.transport.send(id, { type: 'snapshot', term: this.host.currentTerm(), leader: this.host.id, snapshot });
  }

  private startProbing(p: Progress, from: number): void {
    p.probing = true;
    p.inflight.length = 0;
    p.next = Math.min(from + 1, this.host.log.lastIndex() + 1);
    p.lastProbeSent = -Infinity;
  }

  /**
   * An answer from follower `id` (of this leader's term). Returns true when
   * its match index rose (the commit index may follow).
   */
  onResponse(id: PeerId, success: boolean, index: number): boolean {
    const p = this.progress.get(id);
    if (!p) return false;
    p.lastSeen = this.host.clock.now();
    if (success) {
      const rose = index > p.match;
      if (rose) p.match = index;
      if (p.next <= index) p.next = index + 1;
      while (p.inflight.length > 0 && p.inflight[0]! <= index) p.inflight.shift();
      p.lastSnapshotSent = -Infinity;
      if (p.probing) {
        p.probing = false;
        p.next = p.match + 1;
        p.inflight.length = 0;
      }
      this.sendTo(id, p, false);
      return rose;
    }
    // A genuine rejection of anything sent from `next` on hints below next - 1;
    // anything else answers an append superseded since.
    if (index + 1 >= p.next) return false;
    // The follower holds less than it acknowledged only after losing a damaged tail: believe it.
    if (index < p.match) p.match = index;
    this.startProbing(p, index);
    this.sendTo(id, p, false);
    return false;
  }

  /** Highest index held by a quorum: `self` is the leader's own durable index (counted when it is a member). */
  quorumIndex(peers: readonly PeerId[], selfStable: number, quorum: number): number {
    const matches: number[] = [];
    for (const id of peers) {
      if (id === this.host.id) matches.push(selfStable);
      else matches.push(this.progress.get(id)?.match ?? 0);
    }
    if (matches.length < quorum) return 0;
    matches.sort((a, b) => b - a);
    return matches[quorum - 1]!;
  }

  /** Members heard from within `withinMs` (the leader itself counts when a member). */
  recentlySeen(peers: readonly PeerId[], withinMs: number): number {
    const now = this.host.clock.now();
    let count = 0;
    for (const id of peers) {
      if (id === this.host.id) count++;
      else {
        const p = this.progress.get(id);
        if (p && p.lastSeen >= 0 && now - p.lastSeen <= withinMs) count++;
      }
    }
    return count;
  }

  /** The leader's view of each member for status(); `selfStable` is the leader's own durable index. */
  peerStatus(peers: readonly PeerId[], commit: number, selfStable: number): PeerStatus[] {
    const now = this.host.clock.now();
    return peers.map((id) => {
      if (id === this.host.id) return { id, match: selfStable, lastSeenMs: 0, current: true };
      const p = this.progress.get(id);
      const lastSeenMs = p && p.lastSeen >= 0 ? Math.round(now - p.lastSeen) : -1;
      const current = p !== undefined && p.match >= commit && lastSeenMs >= 0 && lastSeenMs <= CURRENT_PEER_MS;
      return { id, match: p?.match ?? 0, lastSeenMs, current };
    });
  }

  /** `preferred` when it is a member heard from within `withinMs`, else a random such member. */
  transferCandidate(peers: readonly PeerId[], withinMs: number, preferred?: PeerId): PeerId | null {
    const now = this.host.clock.now();
    const live: PeerId[] = [];
    for (const [id, p] of this.progress) {
      if (!peers.includes(id) || p.lastSeen < 0 || now - p.lastSeen > withinMs) continue;
      if (preferred !== undefined) {
        if (id === preferred) return id;
      } else {
        live.push(id);
      }
    }
    // Any live peer will do (the transfer feeds it the rest of the log first); a random one, as
    // nats-server's pick from its peer map, so repeated stepdowns do not bounce between the same two.
    if (live.length === 0) return null;
    return live[Math.floor(this.host.clock.random() * live.length)] ?? null;
  }
}

/**
 * The follower's side: the acknowledgement it owes its leader. Everything
 * it accepted from one leader in one term matches that leader's log, so one
 * running maximum covers every append; it goes out as far as the log is
 * durable.
 */
export class PendingAck {
  to: PeerId | null = null;
  private term = 0;
  private index = 0;
  private sent = -1;

  /** `to`, leading `term`, matches us up to `index`. */
  owe(to: PeerId, term: number, index: number): void {
    if (this.to !== to || this.term !== term) {
      this.to = to;
      this.term = term;
      this.index = index;
      this.sent = -1;
    } else if (index > this.index) {
      this.index = index;
    }
  }

  /** The index to acknowledge now given the durable end `stable` (-1: nothing due); `always` re-sends the current one. */
  due(term: number, stable: number, always: boolean): number {
    if (this.to === null || this.term !== term) return -1;
    const index = Math.min(stable, this.index);
    if (index < 0 || (!always && index <= this.sent)) return -1;
    this.sent = Math.max(this.sent, index);
    return index;
  }
}
