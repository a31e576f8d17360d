/**
 * Raft nodes on the file storage, end to end in one process: a group of
 * three replicates and snapshots through real files, comes back from a full
 * restart with the same state, and a member whose segment file took a
 * flipped bit while it was down loads damaged, recovers from the leader and
 * ends up with the same state as the others.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRaftNode } from '../../src/raft/node.js';
import { decodeRaftMessage, encodeRaftMessage } from '../../src/raft/codec.js';
import { openFileRaftStorage } from '../../src/raft/file-storage.js';
import { systemClock } from '../../src/raft/system-clock.js';
import type { PeerId, RaftNode, RaftStateMachine, Snapshot } from '../../src/raft/types.js';
import { waitUntil } from '../helpers/wait.js';

const PEERS = ['a', 'b', 'c'];
const TIMING = { heartbeatMs: 50, electionMinMs: 300, electionMaxMs: 600, quorumLossMs: 3000, snapshotEntries: 300 };

/** Sums what it applies; the sum and count are its whole state. */
class Summer implements RaftStateMachine {
  count = 0;
  sum = 0;
  apply(_index: number, data: Buffer): void {
    this.count++;
    this.sum += data.readUInt32LE(0);
  }
  async snapshot(): Promise<Buffer> {
    return Buffer.from(JSON.stringify({ count: this.count, sum: this.sum }));
  }
  async restore(snapshot: Snapshot): Promise<void> {
    const state = JSON.parse(snapshot.data.toString()) as { count: number; sum: number };
    this.count = state.count;
    this.sum = state.sum;
  }
  leaderChanged(): void {}
}

class Group {
  readonly nodes = new Map<PeerId, RaftNode>();
  readonly machines = new Map<PeerId, Summer>();
  constructor(private readonly root: string) {}

  async start(): Promise<void> {
    for (const id of PEERS) {
      const machine = new Summer();
      const node = createRaftNode({
        id, group: 'g', peers: PEERS, clock: systemClock, timing: TIMING, stateMachine: machine,
        storage: openFileRaftStorage(join(this.root, id), { sync: true, segmentBytes: 16 * 1024 }),
        transport: {
          // Through the wire codec and a later turn, as a real transport would deliver it.
          send: (to, message) => {
            const bytes = encodeRaftMessage(message);
            setImmediate(() => {
              const decoded = decodeRaftMessage(bytes);
              if (decoded !== null) this.nodes.get(to)?.receive(id, decoded);
            });
          },
        },
      });
      this.nodes.set(id, node);
      this.machines.set(id, machine);
    }
    await Promise.all([...this.nodes.values()].map((n) => n.start()));
  }

  async stop(): Promise<void> {
    const nodes = [...this.nodes.values()];
    this.nodes.clear();
    await Promise.all(nodes.map((n) => n.stop()));
  }

  leader(): RaftNode | undefined {
    return [...this.nodes.values()].find((n) => n.isLeader());
  }

  /**
   * Proposes values until the leader has applied `target` entries. A leader
   * that loses its place may drop proposals: the checks compare members
   * with each other, not with what was proposed.
   */
  async proposeUntil(target: number): Promise<void> {
    let value = 0;
    await waitUntil(() => {
      const leader = this.leader();
      if (leader === undefined) return false;
      if (this.machines.get(leader.id)!.count >= target) return true;
      for (let i = 0; i < 50; i++) {
        const data = Buffer.alloc(64);
        data.writeUInt32LE(++value);
        leader.propose(data);
      }
      return false;
    }, 30_000, `the leader applying ${target} entries`, 1);
  }

  /** Every member holds the same state, with at least `count` entries applied. */
  async converged(count: number): Promise<void> {
    const states = (): string[] => [...this.machines.values()].map((m) => `${m.count}/${m.sum}`);
    await waitUntil(() => {
      const all = [...this.machines.values()];
      return all.every((m) => m.count >= count && m.count === all[0].count && m.sum === all[0].sum);
    }, 30_000, `every member applying the same ${count}+ entries (${states().join(', ')})`);
  }
}

describe('raft nodes on file storage', () => {
  const dirs: string[] = [];
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('replicate, snapshot, restart with the same state, and repair a damaged member', async () => {
    const root = mkdtempSync(join(tmpdir(), 'natter-raft-node-'));
    dirs.push(root);
    const first = new Group(root);
    await first.start();
    await first.proposeUntil(1000);
    await first.converged(1000);
    await first.stop();
    // What any member had applied is committed: it all comes back.
    const applied = Math.max(...[...first.machines.values()].map((m) => m.count));
    for (const id of PEERS) {
      assert.ok(readdirSync(join(root, id)).includes('snapshot'), `${id} took a snapshot`);
    }

    // Everyone back: the state returns from snapshot and log, and goes on.
    const second = new Group(root);
    await second.start();
    await second.converged(applied);
    const count = second.machines.get('a')!.count;
    // A follower whose log holds entries past its snapshot: one that has
    // just snapshotted may have compacted every segment away, so propose a
    // little more until some follower has one.
    const segments = (id: PeerId): string[] => readdirSync(join(root, id, 'log')).filter((f) => statSync(join(root, id, 'log', f)).size > 0);
    let target = count + 200;
    let follower: PeerId | undefined;
    for (let round = 0; follower === undefined; round++) {
      assert.ok(round < 20, 'some follower keeps log segments past its snapshot');
      await second.proposeUntil(target);
      await second.converged(target);
      follower = PEERS.find((id) => !second.nodes.get(id)!.isLeader() && segments(id).length > 0);
      target += 20;
    }
    await second.stop();

    // A bit flips in the follower's newest segment while it is down.
    const logDir = join(root, follower, 'log');
    const newest = segments(follower).sort().at(-1)!;
    const buf = readFileSync(join(logDir, newest));
    buf[Math.floor(buf.length / 2)] ^= 0x40;
    writeFileSync(join(logDir, newest), buf);
    const third = new Group(root);
    await third.start();
    assert.equal(third.nodes.get(follower)!.status().recovering, true, 'the damaged member knows');
    await third.proposeUntil(target + 100);
    await third.converged(target + 100);
    await waitUntil(() => !third.nodes.get(follower)!.status().recovering, 10_000, 'the damaged member recovered');
    await third.stop();
  });
});
