/**
 * The contract inside clustered JetStream. Types only.
 *
 * Three parts meet here:
 * - the cluster layer (meta group, placement, API routing, transport):
 *   `meta.ts`, `placement.ts`, `transport.ts`, `peers.ts`, `api-gate.ts`;
 * - stream replicas (`stream-replica.ts`): one Raft group per stream, whose
 *   leader captures the stream's subjects, proposes each message and
 *   answers the publisher once the entry is committed and stored;
 * - consumer replicas (`consumer-replica.ts`): one Raft group per
 *   consumer, on the stream's peers, replicating the delivery and ack state.
 *
 * The cluster layer owns every Raft node (it makes them through
 * `GroupContext.createRaftNode`, on the transport and storage it chose);
 * replicas only give them a state machine.
 */
import type { Account } from '../../accounts/account.js';
import type { ClientInfoJson } from '../../accounts/client-info.js';
import type { ServerCore, Unregister } from '../../server/core.js';
import type { RaftNode, RaftStateMachine, PeerId } from '../../raft/types.js';
import type { ConsumerConfig, StorageType, StreamConfig } from '../types.js';
import type { ConsumerState } from '../store/types.js';

/** Where a group lives: nats-server's raft group JSON (`group` of an assignment). */
export interface RaftGroupSpec {
  /** `_meta_`, `S-R<n><F|M>-<8>` or `C-R<n><F|M>-<8>`, as nats-server names them. */
  readonly name: string;
  /** Peer ids: the first 8 characters of nats-server's base-62 hash of each server name (`GroupContext.peerName` maps back). */
  readonly peers: readonly string[];
  readonly store: StorageType;
  readonly cluster: string;
  /** The peer id that should campaign first in a new group. */
  readonly preferred?: string;
}

/** The meta group's record of a stream (replicated to every JetStream server). */
export interface StreamAssignment {
  readonly account: string;
  readonly config: StreamConfig;
  readonly group: RaftGroupSpec;
  /** RFC 3339 with nanoseconds, as stream info `created`. */
  readonly created: string;
  readonly client?: ClientInfoJson;
  /** Where the create (or update) request wants its answer; the group's first leader answers it. */
  readonly reply?: string;
  /** The API subject of that request (for the audit advisory). */
  readonly subject?: string;
}

/** The meta group's record of a consumer. */
export interface ConsumerAssignment {
  readonly account: string;
  readonly stream: string;
  readonly name: string;
  readonly config: ConsumerConfig;
  readonly group: RaftGroupSpec;
  readonly created: string;
  readonly client?: ClientInfoJson;
  readonly reply?: string;
  readonly subject?: string;
}

/** A replica as stream and consumer info show it (`cluster.replicas[]`). */
export interface ReplicaInfoJson {
  name: string;
  current: boolean;
  offline?: boolean;
  /** Nanoseconds since last seen. */
  active: number;
  lag?: number;
  peer?: string;
}

/** `cluster` of stream info, consumer info and `$JS.API.INFO`-level answers. */
export interface ClusterInfoJson {
  name?: string;
  raft_group?: string;
  leader?: string;
  leader_since?: string;
  replicas?: ReplicaInfoJson[];
}

/** What the cluster layer offers stream and consumer replicas. */
export interface GroupContext {
  readonly core: ServerCore;
  /** This server's cluster name (`cluster.name`). */
  readonly clusterName: string;
  /**
   * A Raft node for `spec` on this server, not started: file groups keep
   * their log under the store directory, memory groups in memory.
   */
  createRaftNode(spec: RaftGroupSpec, stateMachine: RaftStateMachine): RaftNode;
  /** Removes what createRaftNode stored for a group (after its node stopped). */
  deleteRaftGroup(spec: RaftGroupSpec): Promise<void>;
  /** This server's peer id. */
  readonly selfId: PeerId;
  /** The server name behind a peer id ('' when unknown). */
  peerName(id: PeerId): string;
  /** `cluster` for info responses, from a node's status. */
  clusterInfo(node: RaftNode): ClusterInfoJson;
  /** Server-to-server messages (catch-up) in the system account. */
  subscribeSystem(subject: string, handler: (subject: string, reply: string | null, payload: Buffer) => void): Unregister;
  publishSystem(subject: string, reply: string | null, payload: Buffer | string): void;
  /** A group this server belongs to elected a leader here (the cluster layer answers pending creates, sends advisories). */
  leaderElected(kind: 'stream' | 'consumer', account: Account, stream: string, consumer: string | null, self: boolean): void;
}

/** This server's copy of a replicated stream. */
export interface StreamReplica {
  readonly account: Account;
  readonly name: string;
  readonly raft: RaftNode;
  /** Leader, and caught up with everything in its log: takes publishes and answers the stream's API requests. */
  isActiveLeader(): boolean;
  /** A new configuration from the meta group (an update); leaders and followers alike. */
  update(sa: StreamAssignment): Promise<void>;
  stepDown(): boolean;
  /** Stops the group (server shutdown, or the stream moved away): data stays. */
  stop(): Promise<void>;
  /** Stops and removes the stream's data and its group's log. */
  delete(): Promise<void>;
}

/** This server's copy of a replicated consumer. */
export interface ConsumerReplica {
  readonly stream: string;
  readonly name: string;
  readonly raft: RaftNode;
  /** The group's applied delivery and ack state (what a snapshot records). */
  readonly state: ConsumerState;
  isActiveLeader(): boolean;
  update(ca: ConsumerAssignment): Promise<void>;
  stepDown(): boolean;
  stop(): Promise<void>;
  delete(): Promise<void>;
}

/** A JetStream server of the cluster as the meta layer knows it (from its announcements). */
export interface JsPeer {
  readonly id: PeerId;
  readonly name: string;
  readonly cluster: string;
  readonly tags: readonly string[];
  /** Not heard from lately, or it said it is going away. */
  readonly offline: boolean;
  /** Milliseconds since last heard from. */
  readonly lastSeenMs: number;
  /** Free bytes of each storage type, as it reported them. */
  readonly available: { readonly memory: number; readonly file: number };
  /** Streams and consumers with more than one replica that it holds. */
  readonly haAssets: number;
}

/** What the meta group changes: one op per entry (nats-server's op numbers). */
export type MetaOp =
  | { readonly op: 'add-stream'; readonly sa: StreamAssignment }
  | { readonly op: 'update-stream'; readonly sa: StreamAssignment }
  | { readonly op: 'remove-stream'; readonly account: string; readonly stream: string }
  | { readonly op: 'add-consumer'; readonly ca: ConsumerAssignment }
  | { readonly op: 'remove-consumer'; readonly account: string; readonly stream: string; readonly consumer: string };

/** The meta layer as the clustered API sees it. */
export interface MetaView {
  readonly raft: RaftNode;
  readonly context: GroupContext;
  isLeader(): boolean;
  /** Leader known and this server caught up with it. */
  isCurrent(): boolean;
  /** Server name of the meta leader, '' when none. */
  leaderName(): string;
  peers(): readonly JsPeer[];
  streams(account: string): readonly StreamAssignment[];
  stream(account: string, name: string): StreamAssignment | null;
  consumers(account: string, stream: string): readonly ConsumerAssignment[];
  consumer(account: string, stream: string, name: string): ConsumerAssignment | null;
  /** The leader only: appends the op; false when not leader. The change takes effect everywhere when applied. */
  propose(op: MetaOp): boolean;
  /** Runs `listener` after each applied op (the API answers once its own op is applied). */
  onApplied(listener: (op: MetaOp) => void): Unregister;
  /** This server's replica of a stream or consumer, when it holds one. */
  streamReplica(account: string, stream: string): StreamReplica | null;
  consumerReplica(account: string, stream: string, consumer: string): ConsumerReplica | null;
}
