/**
 * A small deterministic group for unit tests: simulated clock and disks,
 * a lossless network with a fixed delay that can isolate nodes, and a
 * recording state machine per node.
 */
import { createRaftNode } from '../../../src/raft/node.js';
import type { PeerId, RaftMessage, RaftNode, RaftOptions, RaftStateMachine, RaftTiming, Snapshot } from '../../../src/raft/types.js';
import { Rng } from '../../helpers/random.js';
import { Scheduler, SimClock } from './scheduler.js';
import { SimDisk, SimStorage } from './storage.js';

const FAST_TIMING: Partial<RaftTiming> = { heartbeatMs: 50, electionMinMs: 200, electionMaxMs: 400, quorumLossMs: 800 };

export class RecordingStateMachine implements RaftStateMachine {
  readonly applied: { index: number; data: string }[] = [];
  readonly restored: { lastIndex: number; leader: PeerId }[] = [];

  apply(index: number, data: Buffer): void {
    this.applied.push({ index, data: data.toString() });
  }
  snapshot(): Promise<Buffer> {
    return Promise.resolve(Buffer.from(JSON.stringify(this.applied)));
  }
  restore(snapshot: Snapshot, leader: PeerId): Promise<void> {
    this.restored.push({ lastIndex: snapshot.meta.lastIndex, leader });
    this.applied.length = 0;
    this.applied.push(...(JSON.parse(snapshot.data.toString()) as { index: number; data: string }[]));
    return Promise.resolve();
  }
  leaderChanged(): void {}
  values(): string[] {
    return this.applied.map((a) => a.data);
  }
}

export interface GroupMember {
  readonly id: PeerId;
  node: RaftNode;
  sm: RecordingStateMachine;
  clock: SimClock;
  readonly disk: SimDisk;
}

export class TestGroup {
  readonly scheduler = new Scheduler(true);
  readonly members = new Map<PeerId, GroupMember>();
  /** Nodes cut off from everyone. */
  readonly isolated = new Set<PeerId>();
  /** Every message sent, for tests that look at the traffic. */
  readonly sent: { from: PeerId; to: PeerId; message: RaftMessage }[] = [];
  private readonly rng = new Rng(42);

  constructor(
    ids: readonly PeerId[],
    private readonly extra: (id: PeerId) => Partial<RaftOptions> = () => ({}),
  ) {
    for (const id of ids) {
      const disk = new SimDisk(this.scheduler, this.rng, 1);
      this.members.set(id, this.makeMember(id, disk, ids));
    }
  }

  private makeMember(id: PeerId, disk: SimDisk, peers: readonly PeerId[], options: Partial<RaftOptions> = {}): GroupMember {
    const clock = new SimClock(this.scheduler, new Rng(id.charCodeAt(id.length - 1) * 977 + this.scheduler.now));
    const sm = new RecordingStateMachine();
    const node = createRaftNode({
      id, group: 'test', peers, storage: new SimStorage(disk), clock, stateMachine: sm, timing: FAST_TIMING,
      transport: { send: (to, message) => { if (clock.alive) this.deliver(id, to, message); } },
      ...this.extra(id),
      ...options,
    });
    return { id, node, sm, clock, disk };
  }

  private deliver(from: PeerId, to: PeerId, message: RaftMessage): void {
    this.sent.push({ from, to, message });
    if (this.isolated.has(from) || this.isolated.has(to)) return;
    this.scheduler.after(1, () => this.members.get(to)?.node.receive(from, message));
  }

  member(id: PeerId): GroupMember {
    return this.members.get(id)!;
  }

  async start(): Promise<void> {
    for (const m of this.members.values()) {
      this.scheduler.promisesPending = true;
      await m.node.start();
    }
  }

  /** Crashes `id` (unsynced writes lost) and starts it again on the same disk, with `options` added. */
  async restart(id: PeerId, options: Partial<RaftOptions> = {}): Promise<GroupMember> {
    const old = this.member(id);
    old.clock.alive = false;
    old.disk.crash();
    const fresh = this.makeMember(id, old.disk, old.node.peers(), options);
    this.members.set(id, fresh);
    this.scheduler.promisesPending = true;
    await fresh.node.start();
    return fresh;
  }

  /** Runs simulated time for `ms`, or until `done` holds (checked after each event). */
  async run(ms: number, done?: () => boolean): Promise<boolean> {
    await this.scheduler.run(this.scheduler.now + ms, done);
    return done ? done() : true;
  }

  leaders(): GroupMember[] {
    return [...this.members.values()].filter((m) => m.node.isLeader());
  }

  async electLeader(ms = 3000): Promise<GroupMember> {
    const ok = await this.run(ms, () => this.leaders().length === 1);
    if (!ok) throw new Error('no single leader elected');
    return this.leaders()[0]!;
  }
}
