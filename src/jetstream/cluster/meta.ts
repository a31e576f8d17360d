/**
 * The meta group `_meta_`: every JetStream server of the cluster is a
 * member; its replicated state is every stream and consumer assignment
 * (meta-state.ts), its entries are nats-server's ops (assignment-codec.ts).
 * Applying an op here also opens, updates or removes this server's replicas
 * (replicas.ts), without holding up the group.
 *
 * Membership: a fresh group starts with the JetStream servers discovered so
 * far and an expected size of max(2, configured routes + 1), so a lone node
 * never elects itself. Until the group has a log, each newly discovered
 * server restarts the (empty) node with the larger membership, as the node
 * takes its initial peers only at creation; once there is a leader, it adds
 * newly discovered servers itself, one at a time, and never removes any
 * (`$JS.API.SERVER.REMOVE` does that).
 */
import type { Unregister } from '../../server/core.js';
import type { PeerId, RaftNode, RaftStateMachine, Snapshot } from '../../raft/types.js';
import type { JetStream } from '../jetstream.js';
import { decodeMetaOp, decodeMetaSnapshot, encodeMetaOp, encodeMetaSnapshot } from './assignment-codec.js';
import { MetaState } from './meta-state.js';
import { ReplicaSet } from './replicas.js';
import type { ClusterGroupContext, LeaderElectedListener, ManagedRaftNode } from './group-context.js';
import type { PeerDirectory } from './peers.js';
import type { ConsumerAssignment, ConsumerReplica, JsPeer, MetaOp, MetaView, RaftGroupSpec, StreamAssignment, StreamReplica } from './types.js';

export const META_GROUP = '_meta_';

/** Where a consumer leader reports an ephemeral consumer whose inactive_threshold passed; the meta leader removes it. */
export const CONSUMER_EXPIRED_SUBJECT = '$NATTER.JSC.CONSUMER.EXPIRED';

/** How often the meta leader looks for discovered servers that are not members yet. */
const MEMBERSHIP_CHECK_MS = 1000;
/** Lame duck: how long to leave the new leaders before going on with the shutdown (nats-server waits 1 s). */
const LAME_DUCK_HANDOVER_MS = 1000;

export interface MetaLayerOptions {
  readonly js: JetStream;
  readonly context: ClusterGroupContext;
  readonly directory: PeerDirectory;
  /** The quorum floor while members are discovered: max(2, configured routes + 1). */
  readonly expectedSize: number;
}

export class MetaLayer implements MetaView, RaftStateMachine {
  readonly context: ClusterGroupContext;
  private readonly directory: PeerDirectory;
  private readonly expectedSize: number;
  private readonly state = new MetaState();
  private readonly replicas: ReplicaSet;
  private readonly appliedListeners: Array<(op: MetaOp) => void> = [];
  private node: ManagedRaftNode;
  /** Node restarts while the group is still empty (a larger initial membership), one at a time. */
  private restarting: Promise<void> = Promise.resolve();
  private stopPeerWatch: Unregister | null = null;
  private stopExpiredWatch: Unregister | null = null;
  private membershipTimer: NodeJS.Timeout | null = null;
  private lastLeader: PeerId | null = null;
  /** Members as last seen by the leader's membership check: one that disappears was removed (SERVER.REMOVE). */
  private lastMembers: readonly PeerId[] = [];
  /** Removed servers are not added back while they stay up; only a restart (offline, then seen again) makes them eligible. */
  private readonly removed = new Set<PeerId>();
  private stopped = false;
  /** haAssets(), counted once per change of the assignments (every peer listing asks for it). */
  private haAssetsHere: number | null = null;

  constructor(o: MetaLayerOptions) {
    this.context = o.context;
    this.directory = o.directory;
    this.expectedSize = o.expectedSize;
    this.replicas = new ReplicaSet(o.context, o.js);
    this.node = this.makeNode();
  }

  /** The meta group's node. A fresh group's node may be replaced while members are discovered: read this each time. */
  get raft(): RaftNode {
    return this.node;
  }

  async start(): Promise<void> {
    await this.node.start();
    this.stopPeerWatch = this.directory.onPeerSeen((p) => this.peerSeen(p));
    // Anyone heard from while the node was starting counts as seen now.
    for (const p of this.directory.peers()) if (p.id !== this.context.selfId && !p.offline) this.peerSeen(p);
    this.stopExpiredWatch = this.context.subscribeSystem(CONSUMER_EXPIRED_SUBJECT, (_s, _r, payload) => this.consumerExpired(payload));
    this.membershipTimer = setInterval(() => this.addMissingMembers(), MEMBERSHIP_CHECK_MS);
    this.membershipTimer.unref();
  }

  // ---- MetaView --------------------------------------------------------------

  isLeader(): boolean {
    return this.node.isLeader();
  }

  isCurrent(): boolean {
    return this.node.isCurrent();
  }

  leaderName(): string {
    const leader = this.node.leader();
    return leader === null ? '' : this.context.peerName(leader);
  }

  peers(): readonly JsPeer[] {
    return this.directory.peers();
  }

  streams(account: string): readonly StreamAssignment[] {
    return this.state.streams(account);
  }

  stream(account: string, name: string): StreamAssignment | null {
    return this.state.stream(account, name);
  }

  consumers(account: string, stream: string): readonly ConsumerAssignment[] {
    return this.state.consumers(account, stream);
  }

  consumer(account: string, stream: string, name: string): ConsumerAssignment | null {
    return this.state.consumer(account, stream, name);
  }

  propose(op: MetaOp): boolean {
    if (this.stopped || !this.node.isLeader()) return false;
    return this.node.propose(encodeMetaOp(op)) > 0;
  }

  onApplied(listener: (op: MetaOp) => void): Unregister {
    this.appliedListeners.push(listener);
    return () => {
      const i = this.appliedListeners.indexOf(listener);
      if (i >= 0) this.appliedListeners.splice(i, 1);
    };
  }

  streamReplica(account: string, stream: string): StreamReplica | null {
    return this.replicas.stream(account, stream);
  }

  consumerReplica(account: string, stream: string, consumer: string): ConsumerReplica | null {
    return this.replicas.consumer(account, stream, consumer);
  }

  // ---- beyond MetaView: for the clustered API and monitoring ---------------

  /** Stream and consumer group leaders elected on this server's groups (the API answers pending creates). */
  onLeaderElected(listener: LeaderElectedListener): Unregister {
    return this.context.onLeaderElected(listener);
  }

  /** Why the cluster is unhealthy beyond Raft (a JetStream nats-server in it), or null: for /healthz. */
  healthProblem(): string | null {
    return this.directory.healthProblem();
  }

  /** Replicated (R>1) streams and consumers placed on this server, for its announcements. */
  haAssets(): number {
    this.haAssetsHere ??= this.state.haAssetsOn(this.context.selfId);
    return this.haAssetsHere;
  }

  /**
   * A consumer leader here saw its consumer expire (inactive_threshold):
   * the meta leader, wherever it is, proposes the removal, and every replica
   * deletes its copy when that applies. A report made while there is no
   * meta leader is lost: the consumer then stays until it is deleted.
   */
  reportConsumerExpired(account: string, stream: string, consumer: string): void {
    this.context.publishSystem(CONSUMER_EXPIRED_SUBJECT, null, JSON.stringify({ account, stream, consumer }));
  }

  private consumerExpired(payload: Buffer): void {
    if (!this.node.isLeader()) return;
    let report: { account?: unknown; stream?: unknown; consumer?: unknown };
    try {
      report = JSON.parse(payload.toString('utf8')) as typeof report;
    } catch {
      return;
    }
    const { account, stream, consumer } = report;
    if (typeof account !== 'string' || typeof stream !== 'string' || typeof consumer !== 'string') return;
    if (this.state.consumer(account, stream, consumer) === null) return;
    this.propose({ op: 'remove-consumer', account, stream, consumer });
  }

  // ---- RaftStateMachine --------------------------------------------------------

  apply(_index: number, data: Buffer): void {
    const op = decodeMetaOp(data);
    if (op === null) {
      this.context.core.logger.warn('JetStream cluster: skipped a meta entry that could not be decoded');
      return;
    }
    const change = this.state.apply(op);
    this.haAssetsHere = null;
    this.replicas.follow(change);
    for (const l of [...this.appliedListeners]) {
      try {
        l(op);
      } catch (e) {
        this.context.core.logger.error(`JetStream cluster: meta apply listener failed: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }

  async snapshot(): Promise<Buffer> {
    return encodeMetaSnapshot(this.state.snapshot());
  }

  async restore(snapshot: Snapshot): Promise<void> {
    this.state.restore(decodeMetaSnapshot(snapshot.data));
    this.haAssetsHere = null;
    this.replicas.reconcile(this.state);
  }

  leaderChanged(leader: PeerId | null, self: boolean): void {
    if (leader === this.lastLeader) return;
    this.lastLeader = leader;
    const log = this.context.core.logger;
    if (self) {
      log.info('Self is new JetStream cluster metadata leader');
      this.addMissingMembers();
    } else if (leader !== null) {
      const name = this.context.peerName(leader);
      log.info(`JetStream cluster new metadata leader: ${name === '' ? leader : name}/${this.context.clusterName}`);
    } else {
      log.warn('JetStream cluster no metadata leader');
    }
  }

  // ---- membership --------------------------------------------------------------

  private makeNode(): ManagedRaftNode {
    const members = [this.context.selfId];
    for (const p of this.directory.peers()) if (!p.offline && !members.includes(p.id)) members.push(p.id);
    // Once the expected number of servers is known, the one with the lowest id campaigns first (every
    // server picks the same one), instead of all of them waiting out an election timeout. The node
    // campaigns early only while its log is empty.
    const preferred = members.length >= this.expectedSize ? [...members].sort()[0] : undefined;
    const spec: RaftGroupSpec = { name: META_GROUP, peers: members, store: 'file', cluster: this.context.clusterName, ...(preferred !== undefined ? { preferred } : {}) };
    return this.context.createNode(spec, this, { expectedSize: this.expectedSize });
  }

  /** A fresh node (no entries, no leader yet) knows only the peers it was made with. */
  private isFresh(): boolean {
    return this.node.leader() === null && this.node.status().lastIndex === 0;
  }

  private peerSeen(peer: JsPeer): void {
    if (this.stopped) return;
    this.removed.delete(peer.id);
    if (this.node.isLeader()) {
      this.addMissingMembers();
      return;
    }
    if (!this.isFresh() || this.node.peers().includes(peer.id)) return;
    this.restarting = this.restarting.then(() => this.restartFresh()).catch((e: unknown) => {
      this.context.core.logger.error(`JetStream cluster: restarting the meta group with new peers failed: ${e instanceof Error ? e.message : String(e)}`);
    });
  }

  /** Remakes the still-empty node with every peer known now (its term and vote are on disk and carry over). */
  private async restartFresh(): Promise<void> {
    if (this.stopped || !this.isFresh()) return;
    const known = this.directory.peers().filter((p) => !p.offline).map((p) => p.id);
    const members = this.node.peers();
    if (known.every((id) => members.includes(id))) return;
    await this.node.stop();
    if (this.stopped) return;
    this.node = this.makeNode();
    await this.node.start();
  }

  /** The leader adds one discovered, online server that is not a member yet (Raft takes one change at a time). */
  private addMissingMembers(): void {
    if (this.stopped || !this.node.isLeader()) return;
    const members = this.node.peers();
    for (const id of this.lastMembers) if (!members.includes(id)) this.removed.add(id);
    this.lastMembers = members;
    for (const p of this.directory.peers()) {
      if (p.offline || members.includes(p.id) || this.removed.has(p.id)) continue;
      if (this.node.addPeer(p.id)) this.context.core.logger.info(`JetStream cluster: added '${p.name}' (${p.id}) to the metadata group`);
      return;
    }
  }

  // ---- lifecycle -----------------------------------------------------------------

  /** Lame duck: tell the cluster we are leaving, hand over every leadership held here, give the new leaders a moment. */
  async lameDuck(): Promise<void> {
    this.directory.goodbye();
    if (this.handOver()) await new Promise((r) => setTimeout(r, LAME_DUCK_HANDOVER_MS));
  }

  /** Asks a caught-up peer of every group led here to take over now (no election timeout to wait out); true when any did. */
  private handOver(): boolean {
    let handedOver = false;
    for (const r of this.replicas.all()) if (r.raft.isLeader() && r.stepDown()) handedOver = true;
    if (this.node.isLeader() && this.node.stepDown()) handedOver = true;
    return handedOver;
  }

  /** Shutdown: goodbye, replicas stop (data stays), the meta node stops. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.directory.goodbye();
    // Even without lame duck, leaderships are handed over: the transfer messages leave within this turn,
    // before the routes close.
    if (this.handOver()) await new Promise((r) => setImmediate(r));
    this.stopPeerWatch?.();
    this.stopExpiredWatch?.();
    this.stopPeerWatch = this.stopExpiredWatch = null;
    if (this.membershipTimer !== null) clearInterval(this.membershipTimer);
    this.membershipTimer = null;
    await this.restarting;
    await this.replicas.stop();
    await this.node.stop();
  }
}
