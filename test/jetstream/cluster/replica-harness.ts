/**
 * Replicas of one stream (and its consumers) on single JetStream servers in
 * this process, without the meta layer: each server gets a test
 * GroupContext whose Raft nodes talk over an in-process bus (messages go
 * through the Raft codec, delivered on a later turn) and whose system
 * subjects are a plain in-process pub/sub. Raft storage is in memory and
 * kept per server and group, so a replica closed and opened again keeps its
 * log, as a file group would. A server can be cut off the bus.
 */
import { encodeRaftMessage, decodeRaftMessage } from '../../../src/raft/codec.js';
import { createRaftNode } from '../../../src/raft/node.js';
import { MemoryRaftStorage } from '../../../src/raft/memory-storage.js';
import { systemClock } from '../../../src/raft/system-clock.js';
import type { PeerId, RaftNode, RaftStateMachine, RaftTiming } from '../../../src/raft/types.js';
import type { ClusterInfoJson, GroupContext, RaftGroupSpec, StreamAssignment, StreamReplica } from '../../../src/jetstream/cluster/types.js';
import { openStreamReplica } from '../../../src/jetstream/cluster/stream-replica.js';
import type { JetStream } from '../../../src/jetstream/jetstream.js';
import type { Stream } from '../../../src/jetstream/stream.js';
import type { StreamConfig } from '../../../src/jetstream/types.js';
import { checkStreamConfig, isConfig } from '../../../src/jetstream/stream-config.js';
import { GLOBAL_ACCOUNT } from '../../../src/accounts/names.js';
import { startJsNatter, type JsServer } from '../../helpers/jetstream.js';
import { waitUntil } from '../../helpers/wait.js';

/** Quick elections so tests of leader changes stay short; heartbeats frequent enough for a loaded machine. */
export const TEST_TIMING: Partial<RaftTiming> = { heartbeatMs: 50, electionMinMs: 300, electionMaxMs: 600, quorumLossMs: 2000 };

type SystemHandler = (subject: string, reply: string | null, payload: Buffer) => void;

/** The network between the servers: Raft messages and system subjects. */
export class Bus {
  private readonly nodes = new Map<string, RaftNode>();
  private readonly subs = new Map<string, Set<{ peer: PeerId; handler: SystemHandler }>>();
  /** Peers cut off: nothing to or from them is delivered. */
  readonly down = new Set<PeerId>();

  attach(group: string, peer: PeerId, node: RaftNode): void {
    this.nodes.set(`${group}/${peer}`, node);
  }

  detach(group: string, peer: PeerId, node: RaftNode): void {
    if (this.nodes.get(`${group}/${peer}`) === node) this.nodes.delete(`${group}/${peer}`);
  }

  sendRaft(group: string, from: PeerId, to: PeerId, buf: Buffer): void {
    setImmediate(() => {
      if (this.down.has(from) || this.down.has(to)) return;
      const node = this.nodes.get(`${group}/${to}`);
      const msg = decodeRaftMessage(buf);
      if (node !== undefined && msg !== null) node.receive(from, msg);
    });
  }

  subscribe(peer: PeerId, subject: string, handler: SystemHandler): () => void {
    let set = this.subs.get(subject);
    if (set === undefined) this.subs.set(subject, (set = new Set()));
    const entry = { peer, handler };
    set.add(entry);
    return () => set.delete(entry);
  }

  publish(from: PeerId, subject: string, reply: string | null, payload: Buffer | string): void {
    const buf = typeof payload === 'string' ? Buffer.from(payload) : Buffer.from(payload);
    setImmediate(() => {
      if (this.down.has(from)) return;
      for (const s of this.subs.get(subject) ?? []) if (!this.down.has(s.peer)) s.handler(subject, reply, buf);
    });
  }
}

export interface HarnessOptions {
  timing?: Partial<RaftTiming>;
  /** Runs on each new server before its replica opens (e.g. to create origin streams). */
  prepare?: (m: Member) => Promise<void>;
}

/** One server of the harness. */
export class Member {
  readonly peer: PeerId;
  readonly server: JsServer;
  readonly ctx: GroupContext;
  /** Raft logs by group, kept across replica restarts. */
  readonly storages = new Map<string, MemoryRaftStorage>();
  replica: StreamReplica | null = null;

  constructor(peer: PeerId, server: JsServer, bus: Bus, opts: HarnessOptions) {
    this.peer = peer;
    this.server = server;
    const core = server.srv.server;
    const storages = this.storages;
    this.ctx = {
      core,
      clusterName: 'test',
      selfId: peer,
      createRaftNode(spec: RaftGroupSpec, stateMachine: RaftStateMachine): RaftNode {
        let storage = storages.get(spec.name);
        if (storage === undefined) storages.set(spec.name, (storage = new MemoryRaftStorage()));
        const node = createRaftNode({
          id: peer, group: spec.name, peers: spec.peers, storage, clock: systemClock, stateMachine, timing: opts.timing ?? TEST_TIMING,
          preferred: spec.preferred === peer,
          transport: { send: (to, message) => bus.sendRaft(spec.name, peer, to, encodeRaftMessage(message)) },
        });
        // Attached at once: a node not started yet ignores what it receives, and Raft retries.
        bus.attach(spec.name, peer, node);
        const stop = node.stop.bind(node);
        return Object.assign(node, {
          stop: async () => {
            bus.detach(spec.name, peer, node);
            await stop();
          },
        });
      },
      deleteRaftGroup: async (spec) => {
        storages.delete(spec.name);
      },
      peerName: (id) => id,
      clusterInfo: (): ClusterInfoJson => ({ name: 'test' }),
      subscribeSystem: (subject, handler) => bus.subscribe(peer, subject, handler),
      publishSystem: (subject, reply, payload) => bus.publish(peer, subject, reply, payload),
      // The meta layer answers creates and sends advisories here; no meta layer in this harness.
      leaderElected: () => {},
    };
  }

  get js(): JetStream {
    const js = this.server.srv.server.jetstream;
    if (js === null) throw new Error('JetStream is off');
    return js;
  }

  get stream(): Stream {
    return this.localStream(this.replicaName());
  }

  /** A stream of the global account on this server by name. */
  localStream(name: string): Stream {
    const s = this.js.accounts.get(GLOBAL_ACCOUNT)?.streams.get(name);
    if (s === undefined) throw new Error(`no stream ${name} on ${this.peer}`);
    return s;
  }

  /** Adds a plain (not replicated) stream on this server only. */
  async addLocalStream(cfg: Record<string, unknown>): Promise<Stream> {
    const checked = checkStreamConfig(cfg as Partial<StreamConfig>, { lookup: () => null });
    if (!isConfig(checked)) throw checked;
    const jsa = this.js.accounts.get(GLOBAL_ACCOUNT);
    if (jsa === undefined) throw new Error('no JetStream account');
    const s = await this.js.addStream(jsa, checked, null);
    if (s instanceof Error) throw s;
    return s;
  }

  private replicaName(): string {
    if (this.replica === null) throw new Error(`no replica on ${this.peer}`);
    return this.replica.name;
  }
}

export class Harness {
  readonly bus = new Bus();
  readonly members: Member[];
  sa: StreamAssignment;

  private constructor(members: Member[], sa: StreamAssignment) {
    this.members = members;
    this.sa = sa;
  }

  /** `n` JetStream servers, each with a replica of a stream of `cfg` (validated like a create). */
  static async start(n: number, cfg: Record<string, unknown>, opts: HarnessOptions = {}): Promise<Harness> {
    const checked = checkStreamConfig({ num_replicas: n, ...cfg } as Partial<StreamConfig>, { lookup: () => null, clustered: true });
    if (!isConfig(checked)) throw checked;
    const peers = Array.from({ length: n }, (_, i) => `P${i}`);
    const storage = checked.storage;
    const sa: StreamAssignment = {
      account: GLOBAL_ACCOUNT,
      config: checked,
      group: { name: `S-R${n}${storage === 'memory' ? 'M' : 'F'}-test${Math.floor(Math.random() * 1e6)}`, peers, store: storage, cluster: 'test', preferred: peers[0] },
      created: new Date().toISOString(),
    };
    const h = new Harness([], sa);
    for (const peer of peers) h.members.push(new Member(peer, await startJsNatter(), h.bus, opts));
    if (opts.prepare !== undefined) for (const m of h.members) await opts.prepare(m);
    await Promise.all(h.members.map((m) => h.open(m)));
    return h;
  }

  /** A new server holding a replica of the stream, its peer added to the assignment everywhere (as the meta group would). */
  async addMember(opts: HarnessOptions = {}): Promise<Member> {
    const peer = `P${this.members.length}`;
    const m = new Member(peer, await startJsNatter(), this.bus, opts);
    this.members.push(m);
    this.sa = { ...this.sa, group: { ...this.sa.group, peers: [...this.sa.group.peers, peer] } };
    await this.open(m);
    await Promise.all(this.members.filter((x) => x !== m).map((x) => x.replica?.update(this.sa)));
    return m;
  }

  async open(m: Member): Promise<void> {
    m.replica = await openStreamReplica(m.ctx, m.js, this.sa);
  }

  async closeReplica(m: Member): Promise<void> {
    await m.replica?.stop();
  }

  /** The active leader, once there is exactly one. */
  async leader(timeoutMs = 10_000): Promise<Member> {
    let found: Member | null = null;
    await waitUntil(() => {
      const active = this.members.filter((m) => m.replica !== null && !this.bus.down.has(m.peer) && m.replica.isActiveLeader());
      found = active.length === 1 ? active[0] : null;
      return found !== null;
    }, timeoutMs, 'one active stream leader');
    return found as unknown as Member;
  }

  async stop(): Promise<void> {
    for (const m of this.members) {
      try {
        await m.replica?.stop();
      } catch {
        // Already stopped by the test.
      }
      await m.server.stop();
    }
  }
}

/** Sequences, subjects and payloads a replica's store holds, in order. */
export function contents(s: Stream): Array<{ seq: number; subject: string; data: string }> {
  const out: Array<{ seq: number; subject: string; data: string }> = [];
  for (let m = s.store.loadNextMsg(null, 0); m !== null; m = s.store.loadNextMsg(null, m.seq + 1)) {
    out.push({ seq: m.seq, subject: m.subject, data: m.data.toString() });
  }
  return out;
}
