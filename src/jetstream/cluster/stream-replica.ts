/**
 * This server's copy of a replicated stream: one Raft group per stream.
 *
 * Every member keeps a local Stream (registered in its account, so the API
 * and consumers find it). Only the active leader subscribes to the stream's
 * subjects: the Stream checks each publish against its projected state and
 * proposes it (stream-entries.ts); every member, leader included, stores it
 * when the entry is applied, at the leader's sequence and timestamp. The
 * leader answers the publisher after that, once its store says the message
 * is durable: an acknowledged message is in a quorum's logs and on the
 * leader's disk.
 *
 * A new leader becomes active only once it has applied its whole log (its
 * own first entry committed): its projections then start from its store. A
 * deposed leader stops capturing at once and forgets its waiting replies;
 * publishers retry and Nats-Msg-Id dedupe makes that safe.
 *
 * A follower behind the leader's compacted log restores from a snapshot of
 * the stream's state and fetches the messages from the leader
 * (stream-catchup.ts).
 */
import type { Account } from '../../accounts/account.js';
import type { Unregister } from '../../server/core.js';
import type { PeerId, RaftNode, RaftStateMachine, Snapshot } from '../../raft/types.js';
import type { JetStream } from '../jetstream.js';
import type { JsAccount } from '../js-account.js';
import type { Stream } from '../stream.js';
import type { GroupContext, StreamAssignment, StreamReplica } from './types.js';
import {
  type DeleteEntry, type PurgeEntry, type StreamProposer, OP_DELETE, OP_MSG, OP_PURGE, readJsonEntry, readMsgEntry,
} from './stream-entries.js';
import { catchUp, decodeSnapshot, serveCatchUp, snapshotOf } from './stream-catchup.js';

/** How often a new leader checks whether it has applied its whole log (only while it has not). */
const ACTIVATION_POLL_MS = 5;
/** After a refused proposal, a node still leading (a handover that may fail) tries to go live again this long after. */
const HANDOVER_RETRY_MS = 500;
/** Membership changes go one at a time: the next is tried this long after the previous. */
const PEER_CHANGE_RETRY_MS = 250;

/**
 * Opens (or, after a restart, re-opens) this server's replica of a stream
 * and starts its Raft node. The account must have JetStream here.
 */
export async function openStreamReplica(ctx: GroupContext, js: JetStream, sa: StreamAssignment): Promise<StreamReplica> {
  const jsa = js.accounts.get(sa.account);
  if (jsa === undefined) throw new Error(`JetStream is not enabled for account '${sa.account}' on this server`);
  const stream = await js.openReplicaStream(jsa, sa.config, sa.created);
  const replica = new StreamGroup(ctx, js, jsa, stream, sa);
  try {
    await replica.raft.start();
  } catch (e) {
    await replica.stop();
    throw e;
  }
  return replica;
}

class StreamGroup implements StreamReplica, StreamProposer, RaftStateMachine {
  readonly raft: RaftNode;
  readonly account: Account;
  readonly name: string;
  private sa: StreamAssignment;
  private readonly ctx: GroupContext;
  private readonly js: JetStream;
  private readonly jsa: JsAccount;
  private readonly stream: Stream;
  /** Leads and has applied its whole log: captures the subjects, takes publishes. */
  private isActive = false;
  /** Leads, but has not applied its whole log yet. */
  private activating = false;
  private activationTimer: NodeJS.Timeout | null = null;
  private peersTimer: NodeJS.Timeout | null = null;
  private handoverTimer: NodeJS.Timeout | null = null;
  /** The active leader's publishers waiting for their PubAck, by Raft index. */
  private readonly replies = new Map<number, string>();
  /** Purge and delete requests waiting for their entry to be applied, by Raft index. */
  private readonly waiters = new Map<number, (result: number | boolean | null) => void>();
  private readonly stopServing: Unregister;
  private stopped = false;

  constructor(ctx: GroupContext, js: JetStream, jsa: JsAccount, stream: Stream, sa: StreamAssignment) {
    this.ctx = ctx;
    this.js = js;
    this.jsa = jsa;
    this.stream = stream;
    this.sa = sa;
    this.account = jsa.account;
    this.name = sa.config.name;
    stream.replicate(this);
    this.raft = ctx.createRaftNode(sa.group, this);
    this.stopServing = serveCatchUp(ctx, sa.group.name, () => (this.stream.closed ? null : this.stream.store));
  }

  get active(): boolean {
    return this.isActive;
  }

  isActiveLeader(): boolean {
    return this.isActive && this.raft.isLeader();
  }

  // ---- StreamProposer -------------------------------------------------------

  proposeMsg(entry: Buffer, reply: string | null): boolean {
    const index = this.raft.propose(entry);
    if (index === 0) {
      this.proposalRefused();
      return false;
    }
    if (reply !== null) this.replies.set(index, reply);
    return true;
  }

  proposeOp(entry: Buffer): Promise<number | boolean | null> {
    if (!this.isActive) return Promise.resolve(null);
    const index = this.raft.propose(entry);
    if (index === 0) {
      this.proposalRefused();
      return Promise.resolve(null);
    }
    return new Promise((resolve) => this.waiters.set(index, resolve));
  }

  // ---- RaftStateMachine -----------------------------------------------------

  apply(index: number, data: Buffer): void | Promise<void> {
    if (this.stream.closed) return;
    switch (data[0]) {
      case OP_MSG: {
        const r = readMsgEntry(data, 0);
        if (r === null) break;
        let reply: string | null = null;
        if (this.replies.size > 0) {
          reply = this.replies.get(index) ?? null;
          if (reply !== null) this.replies.delete(index);
        }
        this.stream.applyMsg(r.entry, reply);
        break;
      }
      case OP_PURGE: {
        const p = readJsonEntry<PurgeEntry>(data);
        if (p === null) {
          this.settle(index, 0);
          break;
        }
        // Millions of messages may go: in slices, with the next entries waiting (RaftStateMachine.apply).
        return this.stream.applyPurge(p).then((purged) => {
          this.settle(index, purged);
          if (this.activating) this.checkActivation();
        });
      }
      case OP_DELETE: {
        const d = readJsonEntry<DeleteEntry>(data);
        this.settle(index, d === null ? false : this.stream.applyDelete(d));
        break;
      }
      default:
        this.ctx.core.logger.warn(`JetStream: stream '${this.account.name} > ${this.name}' skipped an unknown entry (op ${data[0]}) at index ${index}`);
    }
    if (this.activating) this.checkActivation();
  }

  private settle(index: number, result: number | boolean): void {
    const w = this.waiters.get(index);
    if (w === undefined) return;
    this.waiters.delete(index);
    w(result);
  }

  /**
   * The stream's state once everything stored so far is on disk: the log
   * the snapshot replaces is all that held the messages written since the
   * store's last fsync (replica stores sync on an interval).
   */
  snapshot(): Promise<Buffer> {
    const state = Buffer.from(JSON.stringify(snapshotOf(this.stream.store)));
    // A store that could not write or fsync must not let the log go (the Raft node stops instead).
    return new Promise((resolve, reject) => this.stream.store.whenSynced((err) => (err === null ? resolve(state) : reject(err))));
  }

  async restore(snapshot: Snapshot, leader: PeerId): Promise<void> {
    const snap = decodeSnapshot(snapshot.data);
    if (snap === null) throw new Error(`stream '${this.account.name} > ${this.name}': unreadable snapshot`);
    const stream = this.stream;
    try {
      await catchUp(this.ctx, this.sa.group.name, leader, {
        store: stream.store,
        stored: (seq, subject) => stream.consumers.messageStored(seq, subject),
        alive: () => !this.stopped,
        replicated: this.sa.group.peers.length > 1,
      }, snap);
    } finally {
      // Also after a failed catch-up: what was fetched is stored, and the next attempt goes on from there.
      if (!stream.closed) stream.resetFromStore();
    }
  }

  leaderChanged(_leader: PeerId | null, self: boolean): void {
    if (!self) {
      this.deactivate();
      return;
    }
    if (this.isActive) return;
    this.activating = true;
    this.checkActivation();
  }

  // ---- leadership ------------------------------------------------------------

  /** A leader goes live once it has applied everything in its log: its own first entry is then committed too. */
  private checkActivation(): void {
    if (!this.activating || this.stopped) return;
    if (!this.raft.isLeader()) {
      this.activating = false;
      return;
    }
    const st = this.raft.status();
    if (st.applied < st.lastIndex || st.commit < st.lastIndex) {
      if (this.activationTimer === null) {
        this.activationTimer = setTimeout(() => {
          this.activationTimer = null;
          this.checkActivation();
        }, ACTIVATION_POLL_MS);
      }
      return;
    }
    this.activating = false;
    this.isActive = true;
    this.replies.clear();
    this.stream.startCapturing().catch((e: unknown) => this.ctx.core.logger.error(`JetStream: stream '${this.account.name} > ${this.name}' failed to start capturing: ${String(e)}`));
    this.ctx.leaderElected('stream', this.account, this.name, null, true);
    this.reconcilePeers();
  }

  /**
   * The leader brings the group's membership to the assignment's peers (a
   * peer removed or moved by the meta group): additions first, so the group
   * never shrinks below what it needs, one change at a time.
   */
  private reconcilePeers(): void {
    if (this.stopped || this.peersTimer !== null || !this.raft.isLeader()) return;
    const want = this.sa.group.peers;
    const have = this.raft.peers();
    const add = want.find((p) => !have.includes(p));
    const remove = add === undefined ? have.find((p) => !want.includes(p)) : undefined;
    if (add === undefined && remove === undefined) return;
    if (add !== undefined) this.raft.addPeer(add);
    else this.raft.removePeer(remove as PeerId);
    this.peersTimer = setTimeout(() => {
      this.peersTimer = null;
      this.reconcilePeers();
    }, PEER_CHANGE_RETRY_MS);
  }

  /**
   * The Raft node took no proposal: deposed, or handing leadership over (a
   * stepdown). A handover that fails (it times out) leaves this node leader
   * with no leadership change to wake it, so it tries to go live again shortly.
   */
  private proposalRefused(): void {
    this.deactivate();
    if (this.handoverTimer !== null || this.stopped) return;
    this.handoverTimer = setTimeout(() => {
      this.handoverTimer = null;
      if (this.stopped || this.isActive || this.activating || !this.raft.isLeader()) return;
      this.activating = true;
      this.checkActivation();
    }, HANDOVER_RETRY_MS);
  }

  private deactivate(): void {
    this.activating = false;
    if (this.activationTimer !== null) clearTimeout(this.activationTimer);
    this.activationTimer = null;
    if (!this.isActive) return;
    this.isActive = false;
    this.stream.consumers.dropDirect();
    this.replies.clear();
    for (const w of this.waiters.values()) w(null);
    this.waiters.clear();
    this.stream.stopCapturing().catch((e: unknown) => this.ctx.core.logger.error(`JetStream: stream '${this.account.name} > ${this.name}' failed to stop capturing: ${String(e)}`));
  }

  stepDown(): boolean {
    return this.raft.stepDown();
  }

  // ---- lifecycle --------------------------------------------------------------

  async update(sa: StreamAssignment): Promise<void> {
    this.sa = sa;
    await this.js.updateReplicaStream(this.stream, sa.config);
    this.reconcilePeers();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.halt();
    await this.raft.stop();
    await this.js.closeReplicaStream(this.jsa, this.stream);
  }

  async delete(): Promise<void> {
    if (!this.stopped) {
      this.halt();
      await this.raft.stop();
    }
    await this.js.removeStream(this.jsa, this.stream);
    await this.ctx.deleteRaftGroup(this.sa.group);
  }

  private halt(): void {
    if (this.peersTimer !== null) clearTimeout(this.peersTimer);
    if (this.handoverTimer !== null) clearTimeout(this.handoverTimer);
    this.peersTimer = this.handoverTimer = null;
    this.deactivate();
    this.stopped = true;
    this.stopServing();
  }
}
