import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryRaftStorage } from '../../src/raft/memory-storage.js';
import type { LoadedState, PeerId, Snapshot, VoteResponse } from '../../src/raft/types.js';
import { StateLostError } from '../../src/raft/state-lost.js';
import { RecordingStateMachine, TestGroup } from './sim/group.js';

const ids = ['a', 'b', 'c'];

class DamagedStorage extends MemoryRaftStorage {
  override async load(): Promise<LoadedState> {
    return { ...(await super.load()), damaged: true };
  }
}

async function proposeAll(group: TestGroup, values: string[]): Promise<number> {
  let last = 0;
  for (const v of values) {
    const leader = group.leaders()[0]!;
    last = leader.node.propose(Buffer.from(v));
    assert.ok(last > 0, 'the leader takes proposals');
  }
  const members = group.leaders()[0]!.node.peers();
  const ok = await group.run(3000, () => members.every((id) => group.member(id).node.status().applied >= last));
  assert.ok(ok, 'every member applies the proposals');
  return last;
}

test('a group elects one leader, replicates in order, and followers refuse proposals', async () => {
  const group = new TestGroup(ids);
  await group.start();
  const leader = await group.electLeader();
  const follower = [...group.members.values()].find((m) => m !== leader)!;
  assert.equal(follower.node.propose(Buffer.from('x')), 0);
  await proposeAll(group, ['1', '2', '3']);
  for (const m of group.members.values()) {
    assert.deepEqual(m.sm.values(), ['1', '2', '3']);
    assert.equal(m.node.leader(), leader.id);
    assert.ok(m.node.isCurrent());
    // The first leader recorded the membership it was elected with.
    assert.deepEqual(m.node.peers(), ids);
  }
  const status = leader.node.status();
  assert.equal(status.role, 'leader');
  assert.ok(status.peers.every((p) => p.current && p.match === status.lastIndex));
});

test('a single-node group commits on its own', async () => {
  const group = new TestGroup(['solo'], () => ({ preferred: true }));
  await group.start();
  const leader = await group.electLeader(500);
  assert.ok(group.scheduler.now < 100, 'the preferred node campaigns after about 50 ms');
  await proposeAll(group, ['only']);
  assert.deepEqual(leader.sm.values(), ['only']);
});

test('pre-vote and stickiness: a node rejoining after a partition does not depose a healthy leader', async () => {
  const group = new TestGroup(ids);
  await group.start();
  const leader = await group.electLeader();
  const term = leader.node.term();
  const outsider = [...group.members.values()].find((m) => m !== leader)!;
  group.isolated.add(outsider.id);
  await group.run(3000);
  // It kept campaigning, but only with pre-votes: its term never moved.
  assert.equal(outsider.node.term(), term);
  assert.equal(outsider.node.leader(), null);
  assert.equal(outsider.node.isCurrent(), false);
  assert.ok(group.sent.some((s) => s.from === outsider.id && s.message.type === 'vote' && s.message.preVote));
  assert.ok(!group.sent.some((s) => s.from === outsider.id && s.message.type === 'vote' && !s.message.preVote));
  group.isolated.delete(outsider.id);
  await group.run(1000);
  assert.ok(leader.node.isLeader());
  assert.equal(leader.node.term(), term);
  assert.equal(outsider.node.leader(), leader.id);

  // Even a real vote request at a higher term is refused, and does not raise a follower's term, while the leader is alive.
  const follower = [...group.members.values()].find((m) => m !== leader && m !== outsider)!;
  const before = group.sent.length;
  follower.node.receive(outsider.id, { type: 'vote', term: term + 5, candidate: outsider.id, lastIndex: 1000, lastTerm: term, preVote: false, transfer: false });
  await group.run(5);
  const answer = group.sent.slice(before).find((s) => s.from === follower.id && s.message.type === 'vote-response')?.message as VoteResponse;
  assert.equal(answer.granted, false);
  assert.equal(follower.node.term(), term);
  // The same request marked as a leadership transfer is granted.
  follower.node.receive(outsider.id, { type: 'vote', term: term + 5, candidate: outsider.id, lastIndex: 1000, lastTerm: term, preVote: false, transfer: true });
  await group.run(20);
  assert.equal(follower.node.term(), term + 5);
});

test('stepDown hands leadership to the preferred peer via TimeoutNow', async () => {
  const group = new TestGroup(ids);
  await group.start();
  const leader = await group.electLeader();
  await proposeAll(group, ['before']);
  const target = [...group.members.values()].find((m) => m !== leader)!;
  assert.equal(leader.node.stepDown('nobody'), false);
  const term = leader.node.term();
  assert.ok(leader.node.stepDown(target.id));
  assert.equal(leader.node.isLeader(), false);
  assert.equal(leader.node.propose(Buffer.from('late')), 0);
  assert.ok(await group.run(1000, () => target.node.isLeader()));
  assert.equal(target.node.term(), term + 1);
  assert.ok(group.sent.some((s) => s.to === target.id && s.message.type === 'timeout-now'));
  await proposeAll(group, ['after']);
  assert.deepEqual(leader.sm.values(), ['before', 'after']);
  assert.equal(leader.node.stepDown(), false, 'not the leader any more');
});

test('a follower behind the leader\'s snapshot gets it installed, then the entries after it', async () => {
  const group = new TestGroup(ids, () => ({ timing: { heartbeatMs: 50, electionMinMs: 200, electionMaxMs: 400, quorumLossMs: 800, snapshotEntries: 5 } }));
  await group.start();
  const leader = await group.electLeader();
  const lagging = [...group.members.values()].find((m) => m !== leader)!;
  group.isolated.add(lagging.id);
  const values = Array.from({ length: 20 }, (_, i) => `v${i}`);
  for (const v of values) leader.node.propose(Buffer.from(v));
  await group.run(1000);
  assert.ok(leader.node.status().commit >= 20);
  group.isolated.delete(lagging.id);
  assert.ok(await group.run(3000, () => lagging.node.status().applied >= leader.node.status().commit));
  assert.equal(lagging.sm.restored.length, 1);
  assert.equal(lagging.sm.restored[0]!.leader, leader.id);
  assert.ok(group.sent.some((s) => s.to === lagging.id && s.message.type === 'snapshot'));
  await proposeAll(group, ['tail']);
  assert.deepEqual(lagging.sm.values(), [...values, 'tail']);
  // A restart restores from the local snapshot and replays what follows it.
  const restarted = await group.restart(lagging.id);
  assert.ok(await group.run(2000, () => restarted.sm.values().length === 21));
  assert.deepEqual(restarted.sm.values(), [...values, 'tail']);
});

test('a node loaded damaged grants no votes and never campaigns until a leader catches it up', async () => {
  const group = new TestGroup(ids);
  await group.start();
  const leader = await group.electLeader();
  await proposeAll(group, ['1', '2']);
  const victim = [...group.members.values()].find((m) => m !== leader)!;
  // Storage that lost the tail and says so.
  const lossy = new DamagedStorage();
  await lossy.saveHardState(victim.disk.hard);
  await lossy.append(victim.disk.entries.slice(0, 1));
  group.isolated.add(victim.id);
  const damaged = await group.restart(victim.id, { storage: lossy });
  assert.equal(damaged.node.status().recovering, true);
  await group.run(2000);
  assert.ok(!group.sent.some((s) => s.from === victim.id && s.message.type === 'vote'), 'it never campaigns');
  const before = group.sent.length;
  damaged.node.receive('c', { type: 'vote', term: 50, candidate: 'c', lastIndex: 100, lastTerm: 40, preVote: false, transfer: true });
  await group.run(5);
  const answer = group.sent.slice(before).find((s) => s.from === victim.id && s.message.type === 'vote-response')?.message as VoteResponse;
  assert.equal(answer.granted, false);
  assert.equal(damaged.node.isCurrent(), false);
  // Back in touch with a leader (whose term moved past 50 meanwhile), it catches up and recovers.
  group.isolated.delete(victim.id);
  assert.ok(await group.run(5000, () => !damaged.node.status().recovering && damaged.node.isCurrent()));
  await proposeAll(group, ['3']);
  assert.deepEqual(damaged.sm.values(), ['1', '2', '3']);
});

test('membership: add a peer, remove the leader, which steps down once that commits', async () => {
  // 'd' runs from the start but is no member yet (so it cannot campaign) until the leader adds it.
  const group = new TestGroup([...ids, 'd'], () => ({ peers: ids }));
  await group.start();
  const leader = await group.electLeader();
  assert.equal(leader.node.addPeer('d'), false, 'not before the membership the leader was elected with commits');
  await proposeAll(group, ['w']);
  assert.ok(leader.node.addPeer('d'));
  assert.equal(leader.node.addPeer('e'), false, 'one change at a time');
  assert.deepEqual(leader.node.peers(), [...ids, 'd']);
  await proposeAll(group, ['x']);
  assert.deepEqual(group.member('d').node.peers(), [...ids, 'd']);
  assert.deepEqual(group.member('d').sm.values(), ['w', 'x']);
  assert.ok(leader.node.removePeer(leader.id));
  assert.ok(await group.run(3000, () => !leader.node.isLeader() && group.leaders().length === 1));
  const next = group.leaders()[0]!;
  assert.notEqual(next.id, leader.id);
  assert.ok(!next.node.peers().includes(leader.id));
  next.node.propose(Buffer.from('y'));
  assert.ok(await group.run(2000, () => group.member('d').sm.values().includes('y')));
});

test('a leader that hears from no quorum steps down after quorumLossMs', async () => {
  const group = new TestGroup(ids);
  await group.start();
  const leader = await group.electLeader();
  const since = group.scheduler.now;
  group.isolated.add(leader.id);
  assert.ok(await group.run(3000, () => !leader.node.isLeader()));
  const after = group.scheduler.now - since;
  assert.ok(after >= 700 && after <= 1200, `stepped down after ${after} ms`);
  assert.equal(leader.node.leader(), null);
});

test('an observer replicates and votes but never campaigns', async () => {
  const group = new TestGroup(ids, (id) => ({ observer: id !== 'a' }));
  await group.start();
  const leader = await group.electLeader();
  assert.equal(leader.id, 'a');
  await proposeAll(group, ['o']);
  group.isolated.add('a');
  await group.run(3000);
  assert.equal(group.leaders().filter((m) => m.id !== 'a').length, 0);
  assert.ok(!group.sent.some((s) => s.from !== 'a' && s.message.type === 'vote'));
});

test('expectedSize raises the quorum while the membership is still being discovered', async () => {
  const group = new TestGroup(ids, () => ({ expectedSize: 5 }));
  await group.start();
  const leader = await group.electLeader();
  await proposeAll(group, ['1']);
  // Quorum is 3 of max(5, 3): with one of three cut off nothing commits.
  const other = [...group.members.values()].find((m) => m !== leader)!;
  group.isolated.add(other.id);
  const index = leader.node.propose(Buffer.from('2'));
  await group.run(600);
  assert.ok(leader.node.status().commit < index);
  group.isolated.delete(other.id);
  assert.ok(await group.run(1000, () => leader.node.status().commit >= index));
});

test('a stopped leader goes quiet and the others elect a new one', async () => {
  const group = new TestGroup(ids);
  await group.start();
  const leader = await group.electLeader();
  await proposeAll(group, ['1']);
  await leader.node.stop();
  assert.equal(leader.node.isLeader(), false);
  assert.equal(leader.node.propose(Buffer.from('x')), 0);
  const sentBefore = group.sent.filter((s) => s.from === leader.id).length;
  assert.ok(await group.run(3000, () => group.leaders().some((m) => m !== leader)));
  assert.equal(group.sent.filter((s) => s.from === leader.id).length, sentBefore, 'a stopped node sends nothing');
});

test('a damaged node alone in its group carries on (there is nobody to recover from)', async () => {
  const group = new TestGroup(['solo']);
  await group.start();
  await group.electLeader(1000);
  await proposeAll(group, ['1']);
  const lossy = new DamagedStorage();
  const solo = await group.restart('solo', { storage: lossy });
  assert.equal(solo.node.status().recovering, false);
  await group.electLeader(1000);
  await proposeAll(group, ['2']);
  assert.deepEqual(solo.sm.values(), ['2']);
});

test('a state machine that lost what its own snapshot covers makes the node start over from a leader', async () => {
  const group = new TestGroup(ids, () => ({ timing: { heartbeatMs: 50, electionMinMs: 200, electionMaxMs: 400, quorumLossMs: 800, snapshotEntries: 5 } }));
  await group.start();
  const leader = await group.electLeader();
  const values = Array.from({ length: 20 }, (_, i) => `v${i}`);
  await proposeAll(group, values);
  const victim = [...group.members.values()].find((m) => m !== leader)!;
  assert.ok(await group.run(2000, () => victim.disk.snapshot !== null), 'the victim took a snapshot');

  /** Its storage lost the data: restoring its own snapshot at start fails. */
  class LosingStateMachine extends RecordingStateMachine {
    override restore(snapshot: Snapshot, from: PeerId): Promise<void> {
      if (from === victim.id) return Promise.reject(new StateLostError('the data behind the snapshot is gone'));
      return super.restore(snapshot, from);
    }
  }
  const sm = new LosingStateMachine();
  // The discard is a disk operation: simulated time must run for the start to finish.
  const restarting = group.restart(victim.id, { stateMachine: sm });
  await group.run(20);
  const restarted = await restarting;
  const st = restarted.node.status();
  assert.equal(st.recovering, true, 'it counts as damaged: no votes, no campaign');
  assert.equal(st.lastIndex, 0, 'its log and snapshot were dropped');
  assert.equal(restarted.disk.snapshot, null);
  // The leader installs its snapshot; the node gets everything back and becomes current.
  assert.ok(await group.run(3000, () => sm.values().length === values.length && !restarted.node.status().recovering));
  assert.deepEqual(sm.values(), values);
  assert.ok(sm.restored.some((r) => r.leader === leader.id));
  // A restart now finds a whole log and snapshot again.
  await proposeAll(group, ['tail']);
  assert.deepEqual(sm.values(), [...values, 'tail']);
});

test('an apply that returns a promise holds the later entries back until it settles; commits go on', async () => {
  /** Entry "slow" takes until the test lets it go. */
  class SlowStateMachine extends RecordingStateMachine {
    release: (() => void) | null = null;
    override apply(index: number, data: Buffer): void | Promise<void> {
      super.apply(index, data);
      if (data.toString() !== 'slow') return;
      return new Promise<void>((resolve) => {
        this.release = resolve;
      });
    }
  }
  const machines = new Map<PeerId, SlowStateMachine>();
  const group = new TestGroup(ids, (id) => {
    const sm = new SlowStateMachine();
    machines.set(id, sm);
    return { stateMachine: sm };
  });
  await group.start();
  const leader = await group.electLeader();
  const sm = machines.get(leader.id)!;
  for (const v of ['a', 'slow', 'b', 'c']) leader.node.propose(Buffer.from(v));
  assert.ok(await group.run(2000, () => leader.node.status().commit >= 4 && sm.release !== null));
  await group.run(200);
  assert.deepEqual(sm.values(), ['a', 'slow'], 'nothing after the slow entry is applied meanwhile');
  assert.ok(leader.node.status().commit >= leader.node.status().lastIndex, 'everything committed all the same');
  sm.release?.();
  assert.ok(await group.run(200, () => sm.values().length === 4));
  assert.deepEqual(sm.values(), ['a', 'slow', 'b', 'c']);
});
