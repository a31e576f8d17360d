/**
 * GroupContext: what the cluster layer gives the groups of this server (the
 * meta group, stream and consumer replicas). Raft nodes are made here, on
 * the cluster's transport and on storage chosen by the group's store type:
 * file groups keep their log under `<store_dir>/jetstream/<system account>/_js_/<group>/`
 * (fsynced before anything is acknowledged unless the configuration asks for
 * interval syncing), memory groups in memory, as nats-server does.
 *
 * Each node is wrapped so that it receives messages only while started and
 * remembers when its current leader took over (`leader_since`).
 */
import { mkdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Account } from '../../accounts/account.js';
import type { ServerCore, Unregister } from '../../server/core.js';
import { createRaftNode } from '../../raft/node.js';
import { MemoryRaftStorage } from '../../raft/memory-storage.js';
import { openFileRaftStorage } from '../../raft/file-storage.js';
import { systemClock } from '../../raft/system-clock.js';
import type { PeerId, RaftLogger, RaftMessage, RaftNode, RaftOptions, RaftStateMachine, RaftStatus, RaftStorage, Snapshot } from '../../raft/types.js';
import { formatDate } from '../../text/go-format.js';
import type { ClusterInfoJson, GroupContext, RaftGroupSpec, ReplicaInfoJson } from './types.js';
import type { PeerDirectory } from './peers.js';
import type { RaftNetwork } from './transport.js';

/** A replica is current when caught up and heard from within this long (nats-server's rule). */
const REPLICA_CURRENT_MS = 10_000;

export type LeaderElectedListener = (kind: 'stream' | 'consumer', account: Account, stream: string, consumer: string | null, self: boolean) => void;

/** Remembers when the group's current leader took over, then lets the replica's state machine know. */
class LeaderTracking implements RaftStateMachine {
  leaderSince: Date | null = null;

  constructor(private readonly inner: RaftStateMachine) {}

  apply(index: number, data: Buffer): void {
    this.inner.apply(index, data);
  }

  snapshot(): Promise<Buffer> {
    return this.inner.snapshot();
  }

  restore(snapshot: Snapshot, leader: PeerId): Promise<void> {
    return this.inner.restore(snapshot, leader);
  }

  leaderChanged(leader: PeerId | null, self: boolean): void {
    this.leaderSince = leader === null ? null : new Date();
    this.inner.leaderChanged(leader, self);
  }
}

/** A node that is on the network only between start and stop. */
export class ManagedRaftNode implements RaftNode {
  constructor(
    private readonly inner: RaftNode,
    private readonly tracking: LeaderTracking,
    private readonly network: RaftNetwork,
  ) {}

  get id(): PeerId {
    return this.inner.id;
  }

  get group(): string {
    return this.inner.group;
  }

  /** When the current leader took over, as this node learnt it; null without a leader. */
  get leaderSince(): Date | null {
    return this.tracking.leaderSince;
  }

  async start(): Promise<void> {
    await this.inner.start();
    this.network.attach(this.inner);
  }

  async stop(): Promise<void> {
    this.network.detach(this.inner);
    await this.inner.stop();
  }

  receive(from: PeerId, message: RaftMessage): void {
    this.inner.receive(from, message);
  }

  propose(data: Buffer): number {
    return this.inner.propose(data);
  }

  isLeader(): boolean {
    return this.inner.isLeader();
  }

  leader(): PeerId | null {
    return this.inner.leader();
  }

  term(): number {
    return this.inner.term();
  }

  stepDown(preferred?: PeerId): boolean {
    return this.inner.stepDown(preferred);
  }

  addPeer(id: PeerId): boolean {
    return this.inner.addPeer(id);
  }

  removePeer(id: PeerId): boolean {
    return this.inner.removePeer(id);
  }

  peers(): readonly PeerId[] {
    return this.inner.peers();
  }

  isCurrent(): boolean {
    return this.inner.isCurrent();
  }

  status(): RaftStatus {
    return this.inner.status();
  }
}

export interface GroupContextOptions {
  readonly core: ServerCore;
  readonly sys: Account;
  readonly clusterName: string;
  /** `<store_dir>/jetstream/<system account>/_js_`: where file groups keep their logs. */
  readonly groupsDir: string;
  /** fsync the Raft logs before acknowledging (the durable default). */
  readonly sync: boolean;
  readonly network: RaftNetwork;
  readonly peers: PeerDirectory;
}

export class ClusterGroupContext implements GroupContext {
  readonly core: ServerCore;
  readonly clusterName: string;
  readonly selfId: PeerId;
  private readonly sys: Account;
  private readonly groupsDir: string;
  private readonly sync: boolean;
  private readonly network: RaftNetwork;
  private readonly directory: PeerDirectory;
  private readonly leaderListeners: LeaderElectedListener[] = [];
  private readonly raftLogger: RaftLogger;

  constructor(o: GroupContextOptions) {
    this.core = o.core;
    this.sys = o.sys;
    this.clusterName = o.clusterName;
    this.groupsDir = o.groupsDir;
    this.sync = o.sync;
    this.network = o.network;
    this.directory = o.peers;
    this.selfId = o.peers.selfId;
    const log = o.core.logger;
    // Raft's routine news (elections, catch-ups) is debug noise for an operator; its warnings are not.
    this.raftLogger = { info: (m) => log.debug(`RAFT ${m}`), warn: (m) => log.warn(`RAFT ${m}`) };
  }

  createRaftNode(spec: RaftGroupSpec, stateMachine: RaftStateMachine): ManagedRaftNode {
    return this.createNode(spec, stateMachine, {});
  }

  /** createRaftNode with options only the meta group uses (its expected size while peers are discovered). */
  createNode(spec: RaftGroupSpec, stateMachine: RaftStateMachine, extra: Pick<RaftOptions, 'expectedSize'>): ManagedRaftNode {
    let storage: RaftStorage;
    if (spec.store === 'memory') {
      storage = new MemoryRaftStorage();
    } else {
      const dir = this.groupDir(spec.name);
      mkdirSync(dir, { recursive: true });
      storage = openFileRaftStorage(dir, { sync: this.sync });
    }
    const tracking = new LeaderTracking(stateMachine);
    const inner = createRaftNode({
      id: this.selfId,
      group: spec.name,
      peers: spec.peers,
      ...extra,
      storage,
      transport: this.network.transportFor(spec.name),
      clock: systemClock,
      stateMachine: tracking,
      preferred: spec.preferred === this.selfId,
      logger: this.raftLogger,
    });
    return new ManagedRaftNode(inner, tracking, this.network);
  }

  async deleteRaftGroup(spec: RaftGroupSpec): Promise<void> {
    if (spec.store === 'file') await rm(this.groupDir(spec.name), { recursive: true, force: true });
  }

  private groupDir(group: string): string {
    return join(this.groupsDir, group);
  }

  peerName(id: PeerId): string {
    return this.directory.nameOf(id);
  }

  clusterInfo(node: RaftNode): ClusterInfoJson {
    const selfName = this.core.name;
    const peers = node.peers();
    if (peers.length <= 1) return { name: this.clusterName, leader: selfName };
    const st = node.status();
    const out: ClusterInfoJson = { name: this.clusterName, raft_group: node.group };
    if (st.leader !== null) out.leader = this.peerName(st.leader);
    const since = node instanceof ManagedRaftNode ? node.leaderSince : null;
    if (st.leader !== null && since !== null) out.leader_since = formatDate(since);
    const leading = st.role === 'leader';
    const statusOf = new Map(st.peers.map((p) => [p.id, p]));
    const replicas: ReplicaInfoJson[] = [];
    for (const id of peers) {
      if (id === this.selfId) continue;
      const known = this.directory.peer(id);
      const ps = leading ? statusOf.get(id) : undefined;
      const lag = ps === undefined ? 0 : Math.max(0, st.commit - ps.match);
      const seenMs = ps !== undefined && ps.lastSeenMs >= 0 ? ps.lastSeenMs : (known?.lastSeenMs ?? -1);
      const current = ps !== undefined ? ps.current && lag === 0 && seenMs >= 0 && seenMs < REPLICA_CURRENT_MS : id === st.leader && node.isCurrent();
      const offline = known === null || known.offline;
      // Key order as nats-server writes it: name, current, offline, active, lag, peer.
      replicas.push({
        name: known?.name ?? '',
        current,
        ...(offline ? { offline: true } : {}),
        active: seenMs < 0 ? 0 : Math.round(seenMs * 1e6),
        ...(lag > 0 ? { lag } : {}),
        peer: id,
      });
    }
    out.replicas = replicas;
    return out;
  }

  subscribeSystem(subject: string, handler: (subject: string, reply: string | null, payload: Buffer) => void): Unregister {
    const sub = this.core.subscribeInternal(this.sys, subject, null, (s, reply, hdrLen, msg) => {
      handler(s, reply, hdrLen > 0 ? msg.subarray(hdrLen) : msg);
    });
    return () => this.core.unsubscribeInternal(this.sys, sub);
  }

  publishSystem(subject: string, reply: string | null, payload: Buffer | string): void {
    this.core.publishInternal(this.sys, subject, reply, payload);
  }

  /** Registers the listener for group leader elections (the clustered API answers pending creates there). */
  onLeaderElected(listener: LeaderElectedListener): Unregister {
    this.leaderListeners.push(listener);
    return () => {
      const i = this.leaderListeners.indexOf(listener);
      if (i >= 0) this.leaderListeners.splice(i, 1);
    };
  }

  leaderElected(kind: 'stream' | 'consumer', account: Account, stream: string, consumer: string | null, self: boolean): void {
    for (const l of [...this.leaderListeners]) {
      try {
        l(kind, account, stream, consumer, self);
      } catch (e) {
        this.core.logger.error(`JetStream cluster: leader election listener failed: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }
}
