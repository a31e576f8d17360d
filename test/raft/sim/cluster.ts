/**
 * One seeded run of a Raft group under faults: a fake network (loss, delay,
 * reordering, duplication, partitions), disks that lose what was not yet
 * fsynced at a crash (and sometimes a durable tail, reported damaged),
 * crashes and restarts, leadership transfers, membership changes, and a
 * client proposing through whoever leads. Safety is checked as it happens;
 * liveness once the faults stop.
 */
import { createRaftNode } from '../../../src/raft/node.js';
import { decodeRaftMessage, encodeRaftMessage } from '../../../src/raft/codec.js';
import type { PeerId, RaftMessage, RaftNode, RaftStateMachine, Snapshot } from '../../../src/raft/types.js';
import { Rng } from '../../helpers/random.js';
import { Scheduler, SimClock } from './scheduler.js';
import { SimDisk, SimStorage } from './storage.js';

export class SafetyViolation extends Error {}

/** What the run exercised, summed over seeds by the test. */
export interface SimStats {
  events: number;
  committed: number;
  elections: number;
  crashes: number;
  damaged: number;
  partitions: number;
  snapshotsInstalled: number;
  snapshotsTaken: number;
  membershipChanges: number;
  transfers: number;
}

interface GlobalEntry {
  readonly value: number;
  /** Chain hash of every normal entry up to and including this one. */
  readonly hash: number;
  /** The index of the normal entry before it (0: none). */
  readonly prev: number;
}

interface Proposal {
  readonly id: PeerId;
  readonly life: number;
  readonly index: number;
}

const TIMING = { heartbeatMs: 50, electionMinMs: 200, electionMaxMs: 400, quorumLossMs: 800 };
const FAULT_MS = 2500;
/** RAFT_SIM_TRACE=1 prints what happens (replaying one seed). */
const TRACE = process.env['RAFT_SIM_TRACE'] === '1';
const RECOVERY_MS = 6000;
/** Add, remove, add back, remove. */
const MEMBERSHIP_CHANGES = 4;

function chain(hash: number, index: number, value: number): number {
  let h = Math.imul(hash ^ index, 0x9e3779b1) >>> 0;
  h = Math.imul(h ^ value, 0x85ebca6b) >>> 0;
  return (h ^ (h >>> 13)) >>> 0;
}

class Member {
  node: RaftNode | null = null;
  clock: SimClock | null = null;
  life = 0;
  up = false;
  readonly disk: SimDisk;

  constructor(readonly id: PeerId, readonly initialPeers: readonly PeerId[], readonly observer: boolean, readonly preferred: boolean, sim: Simulation) {
    this.disk = new SimDisk(sim.scheduler, sim.rng, sim.maxFsyncMs);
  }
}

class SimStateMachine implements RaftStateMachine {
  index = 0;
  hash = 0;

  constructor(private readonly sim: Simulation, private readonly member: Member, private readonly life: number) {}

  apply(index: number, data: Buffer): void {
    const value = data.readUInt32LE(0);
    const prev = this.index;
    const hash = chain(this.hash, index, value);
    if (TRACE) this.sim.trace(`${this.member.id} apply ${index}=${value}`);
    this.sim.checkApply(this.member.id, prev, index, value, hash);
    this.index = index;
    this.hash = hash;
    this.sim.onApplied(this.member, this.life, index, value);
  }

  snapshot(): Promise<Buffer> {
    this.sim.stats.snapshotsTaken++;
    this.sim.scheduler.promisesPending = true;
    const data = Buffer.alloc(12);
    data.writeUIntLE(this.index, 0, 6);
    data.writeUInt32LE(this.hash, 8);
    return Promise.resolve(data);
  }

  restore(snapshot: Snapshot): Promise<void> {
    this.sim.scheduler.promisesPending = true;
    this.index = snapshot.data.readUIntLE(0, 6);
    this.hash = snapshot.data.readUInt32LE(8);
    if (this.index > snapshot.meta.lastIndex) throw new SafetyViolation(`snapshot state ${this.index} beyond its meta ${snapshot.meta.lastIndex}`);
    this.sim.checkSnapshotState(this.member.id, this.index, this.hash);
    if (this.member.node?.leader() !== null) this.sim.stats.snapshotsInstalled++;
    return Promise.resolve();
  }

  leaderChanged(leader: PeerId | null, self: boolean): void {
    if (self && this.member.node) this.sim.recordLeader(this.member.node.term(), this.member.id);
  }
}

export class Simulation {
  readonly scheduler = new Scheduler();
  readonly rng: Rng;
  readonly maxFsyncMs: number;
  readonly stats: SimStats = {
    events: 0, committed: 0, elections: 0, crashes: 0, damaged: 0, partitions: 0,
    snapshotsInstalled: 0, snapshotsTaken: 0, membershipChanges: 0, transfers: 0,
  };
  private readonly members = new Map<PeerId, Member>();
  private readonly leaders = new Map<number, PeerId>();
  private readonly global = new Map<number, GlobalEntry>();
  private maxGlobal = 0;
  private readonly proposals = new Map<number, Proposal>();
  private readonly committed = new Map<number, number>();
  private nextValue = 1;
  private maxCommitted = 0;
  private violation: SafetyViolation | null = null;

  private loss: number;
  private dup: number;
  private maxDelayMs: number;
  private partition = new Map<PeerId, number>();
  private faultsOn = true;
  private readonly snapshotEntries: number;
  private readonly maxAppendBytes: number;
  private readonly withMembership: boolean;
  private readonly withDamage: boolean;
  private readonly spare: PeerId | null;
  /** The member removed last, added back by the next change. */
  private removed: PeerId | null = null;
  /** Values from this one on were proposed after the faults stopped (0: faults still on). */
  private firstCalmValue = 0;
  /** Index of the first of those to commit: liveness wants it applied on every member. */
  private calmIndex = 0;

  constructor(readonly seed: number) {
    this.rng = new Rng(seed);
    const rng = this.rng;
    const size = rng.pick([3, 3, 5]);
    this.maxFsyncMs = rng.pick([0.5, 3, 10]);
    this.loss = rng.pick([0, 0.02, 0.1]);
    this.dup = rng.pick([0, 0.02]);
    this.maxDelayMs = rng.pick([2, 10, 30]);
    this.snapshotEntries = rng.pick([8, 30, 100_000]);
    this.maxAppendBytes = rng.pick([40, 300, 65536]);
    this.withMembership = rng.chance(0.3);
    this.withDamage = rng.chance(0.3);
    const ids = Array.from({ length: size }, (_, i) => `n${i + 1}`);
    const observer = size === 5 && rng.chance(0.5);
    const preferred = rng.chance(0.5);
    ids.forEach((id, i) => this.members.set(id, new Member(id, ids, observer && i === size - 1, preferred && i === 0, this)));
    // A spare starts outside the membership (so it cannot campaign) until the leader adds it.
    this.spare = this.withMembership ? `n${size + 1}` : null;
    if (this.spare) this.members.set(this.spare, new Member(this.spare, ids, false, false, this));
  }

  trace(line: string): void {
    console.log(`${this.scheduler.now.toFixed(1)} ${line}`);
  }

  // ---- safety checks ---------------------------------------------------------

  fail(message: string): void {
    this.violation ??= new SafetyViolation(message);
  }

  recordLeader(term: number, id: PeerId): void {
    if (TRACE) this.trace(`${id} leads term ${term}`);
    this.stats.elections++;
    const other = this.leaders.get(term);
    if (other !== undefined && other !== id) this.fail(`two leaders in term ${term}: ${other} and ${id}`);
    this.leaders.set(term, id);
  }

  /** Every node's applies walk one global sequence: same value and same history at each index, nothing skipped. */
  checkApply(id: PeerId, prev: number, index: number, value: number, hash: number): void {
    if (index <= prev) return this.fail(`${id} applied ${index} after ${prev}`);
    const known = this.global.get(index);
    if (known) {
      if (known.value !== value || known.hash !== hash || known.prev !== prev) {
        this.fail(`${id} applied ${value} at ${index} after ${prev}; the group applied ${known.value} after ${known.prev}`);
      }
      return;
    }
    if (index < this.maxGlobal || prev !== this.maxGlobal) {
      return this.fail(`${id} applied ${index} after ${prev}, but the group's sequence ends at ${this.maxGlobal}`);
    }
    this.global.set(index, { value, hash, prev });
    this.maxGlobal = index;
  }

  checkSnapshotState(id: PeerId, index: number, hash: number): void {
    if (index === 0) return;
    const known = this.global.get(index);
    if (!known || known.hash !== hash) this.fail(`${id} restored a snapshot at ${index} the group never applied`);
  }

  onApplied(member: Member, life: number, index: number, value: number): void {
    const p = this.proposals.get(value);
    if (p && p.id === member.id && p.life === life && p.index === index && !this.committed.has(value)) {
      this.committed.set(value, index);
      this.maxCommitted = Math.max(this.maxCommitted, index);
      this.stats.committed++;
      if (this.firstCalmValue > 0 && value >= this.firstCalmValue && this.calmIndex === 0) this.calmIndex = index;
    }
  }

  // ---- nodes -------------------------------------------------------------------

  private startMember(m: Member): void {
    if (TRACE) this.trace(`${m.id} starts`);
    m.life++;
    m.up = true;
    const clock = new SimClock(this.scheduler, new Rng(this.seed * 7919 + m.life * 131 + Number(m.id.slice(1))));
    m.clock = clock;
    const sm = new SimStateMachine(this, m, m.life);
    const node = createRaftNode({
      id: m.id,
      group: 'sim',
      peers: m.initialPeers,
      storage: new SimStorage(m.disk),
      transport: { send: (to, message) => { if (clock.alive) this.send(m.id, to, message); } },
      clock,
      stateMachine: sm,
      timing: { ...TIMING, snapshotEntries: this.snapshotEntries, maxAppendBytes: this.maxAppendBytes },
      observer: m.observer,
      preferred: m.preferred,
      logger: TRACE ? { info: (msg) => this.trace(`${m.id}: ${msg}`), warn: (msg) => this.trace(`${m.id} WARN: ${msg}`) } : undefined,
    });
    m.node = node;
    this.scheduler.promisesPending = true;
    node.start().catch((err: unknown) => this.fail(`start of ${m.id} failed: ${String(err)}`));
  }

  private crash(m: Member): void {
    this.stats.crashes++;
    if (TRACE) this.trace(`${m.id} crashes (disk ends at ${m.disk.lastIndex()})`);
    const groupSize = m.node?.peers().length ?? 0;
    m.up = false;
    m.clock!.alive = false;
    m.node = null;
    m.disk.crash();
    const recovering = [...this.members.values()].some((o) => o !== m && (o.disk.isDamaged() || o.node?.status().recovering));
    // An observer cannot lead either: with one in a group of four or fewer, a damaged node is a second impairment,
    // and the group may rightly wait for one of them (the observer may hold the only up-to-date log).
    const observerLimits = [...this.members.values()].some((o) => o.observer) && groupSize < 5;
    if (this.withDamage && !recovering && !observerLimits && this.rng.chance(0.5)) {
      // One damaged node at a time: two at once can lose a committed entry whatever the algorithm does.
      m.disk.damageNext = this.rng.range(1, 20);
      if (TRACE) this.trace(`${m.id} will lose ${m.disk.damageNext} durable entries`);
      this.stats.damaged++;
    }
  }

  // ---- network ------------------------------------------------------------------

  private send(from: PeerId, to: PeerId, message: RaftMessage): void {
    if ((this.partition.get(from) ?? 0) !== (this.partition.get(to) ?? 0)) return;
    if (this.rng.chance(this.loss)) return;
    const buf = encodeRaftMessage(message);
    const copies = this.rng.chance(this.dup) ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      this.scheduler.after(this.rng.next() * this.maxDelayMs, () => {
        const target = this.members.get(to);
        if (!target?.up || !target.node) return;
        const decoded = decodeRaftMessage(buf);
        if (!decoded) return this.fail(`undecodable ${message.type}`);
        target.node.receive(from, decoded);
      });
    }
  }

  // ---- the run --------------------------------------------------------------------

  private upLeaders(): Member[] {
    return [...this.members.values()].filter((m) => m.up && m.node?.isLeader());
  }

  private clientTick = (): void => {
    // Once a value proposed in calm committed, the client stops so every member can catch up with it.
    if (this.calmIndex > 0) return;
    const leaders = this.upLeaders();
    if (leaders.length > 0) {
      const m = this.rng.pick(leaders);
      const value = this.nextValue++;
      const data = Buffer.alloc(4);
      data.writeUInt32LE(value);
      const index = m.node!.propose(data);
      if (index > 0) this.proposals.set(value, { id: m.id, life: m.life, index });
    }
    this.scheduler.after(this.rng.range(5, 30), this.clientTick);
  };

  private faultTick = (): void => {
    if (!this.faultsOn) return;
    const rng = this.rng;
    const all = [...this.members.values()].filter((m) => m.id !== this.spare || m.life > 0);
    const action = rng.int(10);
    if (action < 4) {
      const up = all.filter((m) => m.up);
      if (up.length > 0) {
        const m = rng.pick(up);
        this.crash(m);
        this.scheduler.after(rng.range(20, 1200), () => { if (this.faultsOn && !m.up) this.startMember(m); });
      }
    } else if (action < 7) {
      this.stats.partitions++;
      const next = new Map<PeerId, number>();
      for (const m of all) next.set(m.id, rng.int(2));
      this.partition = next;
      if (TRACE) this.trace(`partition ${JSON.stringify([...next])}`);
      this.scheduler.after(rng.range(50, 1000), () => { if (this.partition === next) this.partition = new Map(); });
    } else if (action < 8) {
      const leader = this.upLeaders()[0];
      if (leader?.node?.stepDown()) this.stats.transfers++;
    }
    this.scheduler.after(rng.range(50, 400), this.faultTick);
  };

  /**
   * Membership changes, alternately adding and removing: first the spare
   * comes in, then someone (possibly the leader) goes, then that one comes
   * back with its stale log, then someone goes again. Each is retried until
   * a leader takes it.
   */
  private membershipTick = (): void => {
    const leader = this.upLeaders()[0]?.node;
    const changes = this.stats.membershipChanges;
    if (leader) {
      const peers = leader.peers();
      const outside = [...this.members.keys()].filter((id) => !peers.includes(id));
      // Removals keep at least three members: one damaged node must stay a minority.
      const adding = changes % 2 === 0;
      if (!adding && peers.length < 4) return this.retryMembership();
      const pick = adding ? (changes === 0 ? this.spare : this.removed) : this.rng.pick(peers.filter((p) => p !== this.spare || changes > 1));
      if (pick && (adding ? outside.includes(pick) && leader.addPeer(pick) : leader.removePeer(pick))) {
        this.stats.membershipChanges++;
        if (!adding) this.removed = pick;
      }
    }
    this.retryMembership();
  };

  private retryMembership(): void {
    if (this.stats.membershipChanges < MEMBERSHIP_CHANGES) this.scheduler.after(this.rng.range(100, 400), this.membershipTick);
  }

  private stopFaults(): void {
    this.faultsOn = false;
    this.firstCalmValue = this.nextValue;
    this.partition = new Map();
    this.loss = 0;
    this.dup = 0;
    for (const m of this.members.values()) if (!m.up && m.life > 0) this.startMember(m);
  }

  /**
   * After the faults: a leader, a value proposed since committed by it, and
   * every member has applied it and everything the client saw committed.
   */
  private settled(): boolean {
    if (this.violation) return true;
    if (this.calmIndex === 0) return false;
    const index = Math.max(this.calmIndex, this.maxCommitted);
    const leader = this.upLeaders()[0]?.node;
    if (!leader) return false;
    return leader.peers().every((id) => {
      const node = this.members.get(id)?.node;
      return node !== null && node !== undefined && node.status().applied >= index && !node.status().recovering;
    });
  }

  async run(): Promise<void> {
    for (const m of this.members.values()) this.startMember(m);
    this.scheduler.after(0, this.clientTick);
    this.scheduler.after(this.rng.range(100, 400), this.faultTick);
    if (this.spare) this.scheduler.after(this.rng.range(300, 1500), this.membershipTick);
    await this.scheduler.run(FAULT_MS, () => this.violation !== null);
    if (this.violation) throw this.violation;
    this.stopFaults();
    let checks = 0;
    await this.scheduler.run(FAULT_MS + RECOVERY_MS, () => ++checks % 16 === 0 && this.settled());
    this.stats.events = this.scheduler.scheduled();
    if (this.violation) throw this.violation;
    if (!this.settled()) {
      const states = [...this.members.values()].map((m) => m.node ? JSON.stringify({ ...m.node.status(), peers: m.node.peers() }) : `${m.id}: down`);
      throw new Error(`no progress ${RECOVERY_MS} ms after the faults stopped (first calm commit at ${this.calmIndex}):\n${states.join('\n')}`);
    }
    // Every proposal the client saw committed is in the group's sequence, which the final leader has applied.
    const leader = this.upLeaders()[0]!.node!;
    for (const [value, index] of this.committed) {
      if (this.global.get(index)?.value !== value) throw new SafetyViolation(`committed value ${value} at ${index} is not in the final log`);
      if (leader.status().applied < index) throw new SafetyViolation(`final leader applied ${leader.status().applied} < committed ${index}`);
    }
  }
}
