/**
 * Consumer replicas tested directly, without the meta layer: three single
 * JetStream servers, each with the same stream (the test stores the same
 * messages in each, standing in for the stream's replication), and a
 * GroupContext per server whose Raft nodes talk over the replica harness's
 * in-process bus (messages go through the real codec, on a later turn; a
 * server can be cut off).
 */
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamManager, type StreamConfig } from '@nats-io/jetstream';
import type { Account } from '../../../src/accounts/account.js';
import { createRaftNode } from '../../../src/raft/node.js';
import { MemoryRaftStorage } from '../../../src/raft/memory-storage.js';
import { systemClock } from '../../../src/raft/system-clock.js';
import { encodeRaftMessage } from '../../../src/raft/codec.js';
import type { PeerId, RaftNode, RaftStateMachine, RaftTiming } from '../../../src/raft/types.js';
import type { JetStream } from '../../../src/jetstream/jetstream.js';
import type { Stream } from '../../../src/jetstream/stream.js';
import type { ConsumerConfig } from '../../../src/jetstream/types.js';
import type { ConsumerAssignment, ConsumerReplica, GroupContext, RaftGroupSpec, StreamReplica } from '../../../src/jetstream/cluster/types.js';
import { openConsumerReplica } from '../../../src/jetstream/cluster/consumer-replica.js';
import { startJsNatter, type JsServer } from '../../helpers/jetstream.js';
import { waitUntil } from '../../helpers/wait.js';
import { Bus, TEST_TIMING } from './replica-harness.js';

/** A node that is on the bus only between start and stop (so a stopped replica hears nothing). */
function networkedNode(bus: Bus, id: PeerId, spec: RaftGroupSpec, sm: RaftStateMachine, storage: MemoryRaftStorage, timing: Partial<RaftTiming>): RaftNode {
  const inner = createRaftNode({
    id, group: spec.name, peers: spec.peers, storage, clock: systemClock, stateMachine: sm, timing,
    preferred: spec.preferred === id,
    transport: { send: (to, msg) => bus.sendRaft(spec.name, id, to, encodeRaftMessage(msg)) },
  });
  const start = inner.start.bind(inner);
  const stop = inner.stop.bind(inner);
  return Object.assign(inner, {
    start: async () => {
      await start();
      bus.attach(spec.name, id, inner);
    },
    stop: async () => {
      bus.detach(spec.name, id, inner);
      await stop();
    },
  });
}

export interface TestMember {
  readonly id: PeerId;
  readonly js: JsServer;
  readonly engine: JetStream;
  readonly ctx: GroupContext;
  readonly nc: NatsConnection;
  readonly jsm: JetStreamManager;
  /** Raft storages by group name: kept across a replica's stop and reopen (a restart). */
  readonly storages: Map<string, MemoryRaftStorage>;
  /** Leader elections reported to the cluster layer. */
  readonly elected: Array<{ consumer: string | null; self: boolean }>;
  stream(name: string): Stream;
}

export interface ConsumerCluster {
  /** The in-process network; `bus.down` cuts a member off. */
  readonly bus: Bus;
  readonly members: TestMember[];
  close(): Promise<void>;
}

/** `timing`: Raft timing on top of TEST_TIMING (e.g. a small snapshotEntries). */
export async function startConsumerCluster(size = 3, timing: Partial<RaftTiming> = {}): Promise<ConsumerCluster> {
  const bus = new Bus();
  const members: TestMember[] = [];
  for (let i = 0; i < size; i++) {
    const js = await startJsNatter({ server_name: `n${i + 1}` });
    const engine = js.srv.server.jetstream as JetStream;
    const id = `P${i + 1}`;
    const storages = new Map<string, MemoryRaftStorage>();
    const elected: TestMember['elected'] = [];
    const ctx: GroupContext = {
      core: js.srv.server,
      clusterName: 'test',
      selfId: id,
      createRaftNode(spec, sm) {
        let storage = storages.get(spec.name);
        if (storage === undefined) {
          storage = new MemoryRaftStorage();
          storages.set(spec.name, storage);
        }
        return networkedNode(bus, id, spec, sm, storage, { ...TEST_TIMING, ...timing });
      },
      async deleteRaftGroup(spec) {
        storages.delete(spec.name);
      },
      peerName: (peer) => peer,
      clusterInfo: (node) => ({ name: 'test', leader: node.leader() ?? undefined }),
      subscribeSystem: () => () => {},
      publishSystem: () => {},
      leaderElected: (_kind, _acc: Account, _stream, consumer, self) => {
        elected.push({ consumer, self });
      },
    };
    const nc = await connect({ servers: js.srv.url });
    const jsm = await jetstreamManager(nc);
    members.push({
      id, js, engine, ctx, nc, jsm, storages, elected,
      stream(name) {
        const s = engine.findStream(js.srv.server.accounts.get('$G') as Account, name);
        if (s === null) throw new Error(`no stream ${name} on ${id}`);
        return s;
      },
    });
  }
  return {
    bus,
    members,
    close: async () => {
      for (const m of members) {
        await m.nc.close();
        await m.js.stop();
      }
    },
  };
}

/** The same stream on every member (each a single server: the test keeps their messages alike). */
export async function addStreamEverywhere(c: ConsumerCluster, config: Partial<StreamConfig> & { name: string }): Promise<void> {
  for (const m of c.members) await m.jsm.streams.add(config);
}

/** Publishes the same messages to every member's stream, so each holds them at the same sequences. */
export async function publishEverywhere(c: ConsumerCluster, subject: string, count: number, body = 'x'): Promise<void> {
  for (const m of c.members) {
    const js = jetstream(m.nc);
    // In windows: thousands of requests in flight at once outlast the client's request timeout.
    for (let i = 0; i < count; i += 256) {
      const acks: Array<Promise<unknown>> = [];
      for (let j = i; j < Math.min(count, i + 256); j++) acks.push(js.publish(subject, body));
      await Promise.all(acks);
    }
  }
}

/** A consumer assignment as the meta layer would make it (R = members, `preferred` campaigns first). */
export function assignment(c: ConsumerCluster, stream: string, name: string, config: ConsumerConfig, preferred = c.members[0].id): ConsumerAssignment {
  return {
    account: '$G',
    stream,
    name,
    config,
    group: { name: `C-R${c.members.length}M-${name}`, peers: c.members.map((m) => m.id), store: 'memory', cluster: 'test', preferred },
    created: new Date().toISOString(),
  };
}

/** Opens the consumer's replica on each member. */
export async function openEverywhere(c: ConsumerCluster, ca: ConsumerAssignment): Promise<ConsumerReplica[]> {
  const out: ConsumerReplica[] = [];
  for (const m of c.members) {
    const stream = { account: m.js.srv.server.accounts.get('$G') as Account, name: ca.stream } as unknown as StreamReplica;
    out.push(await openConsumerReplica(m.ctx, m.engine, stream, ca));
  }
  return out;
}

/** Waits for one replica to be the active leader and returns its index. */
export async function activeLeader(replicas: readonly ConsumerReplica[], timeoutMs = 10_000): Promise<number> {
  let found = -1;
  await waitUntil(() => {
    found = replicas.findIndex((r) => r.isActiveLeader());
    return found >= 0;
  }, timeoutMs, 'an active consumer leader');
  return found;
}
