/**
 * Replicated consumers (one Raft group per consumer) on three servers,
 * driven through their replicas directly: ack state replicated to the
 * followers, a leader change in the middle of consumption (pull, push and
 * last_per_subject: nothing acked comes again, nothing is skipped, unacked
 * messages are redelivered), confirmed acks answered only once a quorum
 * holds them, workqueue removal on every replica (also on one whose stream
 * lags, and one whose acks came by snapshot), a new leader whose stream
 * lags, pull requests ended by a delete, a replica restarted from its log,
 * a far-behind follower brought up by snapshot, and a group moved to
 * another peer.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { jetstream, AckPolicy, RetentionPolicy, type JsMsg } from '@nats-io/jetstream';
import type { ConsumerConfig } from '../../../src/jetstream/types.js';
import { decodeConsumerConfig } from '../../../src/jetstream/consumer/config.js';
import type { ConsumerInfoCounts } from '../../../src/jetstream/consumer/consumer.js';
import { openConsumerReplica } from '../../../src/jetstream/cluster/consumer-replica.js';
import type { Account } from '../../../src/accounts/account.js';
import type { ConsumerReplica, StreamReplica } from '../../../src/jetstream/cluster/types.js';
import { waitUntil } from '../../helpers/wait.js';
import {
  activeLeader, addStreamEverywhere, assignment, openEverywhere, publishEverywhere, startConsumerCluster, type ConsumerCluster, type TestMember,
} from './consumer-harness.js';

const NS_PER_MS = 1_000_000;

function config(raw: Record<string, unknown>): ConsumerConfig {
  const c = decodeConsumerConfig(raw);
  if (c instanceof Error) throw c;
  return c;
}

/** The consumer's counts on one member (a passive one reports the replicated state). */
function counts(m: TestMember, stream: string, name: string): ConsumerInfoCounts {
  const c = m.stream(stream).consumers.get(name);
  if (c === undefined) throw new Error(`no consumer ${name} on ${m.id}`);
  return c.info();
}

/** Fetches from the consumer through `m`; `ack`: each message is acked as it arrives (not after the fetch ends). */
async function fetchSeqs(m: TestMember, stream: string, name: string, max: number, expires = 2000, ack = false): Promise<JsMsg[]> {
  const c = await jetstream(m.nc).consumers.get(stream, name);
  const out: JsMsg[] = [];
  for await (const msg of await c.fetch({ max_messages: max, expires })) {
    if (ack) msg.ack();
    out.push(msg);
  }
  return out;
}

describe('replicated consumers', () => {
  let cl: ConsumerCluster;
  before(async () => {
    cl = await startConsumerCluster(3);
  });
  after(async () => {
    await cl.close();
  });

  it('replicates deliveries and acks to the followers; a confirmed ack is answered once a quorum holds it', async () => {
    await addStreamEverywhere(cl, { name: 'A', subjects: ['a.>'] });
    await publishEverywhere(cl, 'a.x', 10);
    const ca = assignment(cl, 'A', 'C1', config({ durable_name: 'C1', ack_policy: 'explicit' }));
    const replicas = await openEverywhere(cl, ca);
    const li = await activeLeader(replicas);
    const leader = cl.members[li];
    const got = await fetchSeqs(leader, 'A', 'C1', 5);
    assert.deepEqual(got.map((m) => m.seq), [1, 2, 3, 4, 5]);
    for (const m of got.slice(0, 3)) assert.ok(await m.ackAck());
    // Answered: the entry holding the ack is committed, so a majority has it in its log.
    const commit = replicas[li].raft.status().commit;
    const holding = replicas.filter((r) => r.raft.status().lastIndex >= commit).length;
    assert.ok(holding >= 2, `a quorum holds the ack (holding ${holding})`);
    for (const m of cl.members) {
      await waitUntil(() => counts(m, 'A', 'C1').ackFloor.stream_seq === 3, 5000, `ack floor replicated to ${m.id}`);
      const n = counts(m, 'A', 'C1');
      assert.equal(n.delivered.stream_seq, 5, m.id);
      assert.equal(n.delivered.consumer_seq, 5, m.id);
      assert.equal(n.numAckPending, 2, m.id);
    }
  });

  it('a leader change in the middle of consumption: nothing acked again, nothing skipped, unacked redelivered', async () => {
    await addStreamEverywhere(cl, { name: 'B', subjects: ['b.>'] });
    await publishEverywhere(cl, 'b.x', 10);
    const ca = assignment(cl, 'B', 'C2', config({ durable_name: 'C2', ack_policy: 'explicit', ack_wait: 500 * NS_PER_MS }));
    const replicas = await openEverywhere(cl, ca);
    const li = await activeLeader(replicas);
    const first = await fetchSeqs(cl.members[li], 'B', 'C2', 5);
    assert.deepEqual(first.map((m) => m.seq), [1, 2, 3, 4, 5]);
    for (const m of first.slice(0, 3)) assert.ok(await m.ackAck());
    assert.ok(replicas[li].stepDown(), 'leader steps down');
    let ni = -1;
    await waitUntil(() => {
      ni = replicas.findIndex((r) => r.isActiveLeader());
      return ni >= 0 && ni !== li;
    }, 10_000, 'a new active leader');
    const seen = new Map<number, number>();
    await waitUntil(async () => {
      for (const m of await fetchSeqs(cl.members[ni], 'B', 'C2', 10, 1000, true)) seen.set(m.seq, m.info.deliveryCount);
      return seen.size >= 7;
    }, 15_000, 'messages 4..10 after the leader change');
    assert.deepEqual([...seen.keys()].sort((a, b) => a - b), [4, 5, 6, 7, 8, 9, 10], 'no acked message again, none skipped');
    assert.equal(seen.get(4), 2, 'unacked 4 redelivered');
    assert.equal(seen.get(5), 2, 'unacked 5 redelivered');
    assert.equal(seen.get(6), 1);
    await waitUntil(() => counts(cl.members[ni], 'B', 'C2').numAckPending === 0, 5000, 'all acked');
    const n = counts(cl.members[ni], 'B', 'C2');
    assert.equal(n.delivered.stream_seq, 10);
    assert.equal(n.delivered.consumer_seq, 12, 'consumer sequence continued (5 + 2 redeliveries + 5 new)');
  });

  it('does not answer a confirmed ack while no quorum can hold it', async () => {
    await addStreamEverywhere(cl, { name: 'Q', subjects: ['q.>'] });
    await publishEverywhere(cl, 'q.x', 3);
    const ca = assignment(cl, 'Q', 'C3', config({ durable_name: 'C3', ack_policy: 'explicit' }));
    const replicas = await openEverywhere(cl, ca);
    const li = await activeLeader(replicas);
    const got = await fetchSeqs(cl.members[li], 'Q', 'C3', 2);
    assert.equal(got.length, 2);
    const followers = cl.members.filter((_, i) => i !== li).map((m) => m.id);
    for (const f of followers) cl.bus.down.add(f);
    try {
      await assert.rejects(got[0].ackAck({ timeout: 700 }), 'no answer without a quorum');
    } finally {
      for (const f of followers) cl.bus.down.delete(f);
    }
    // The cut-off leader may still lead for a moment (then lose its quorum): ask whoever leads until it answers.
    let seqs: number[] = [];
    await waitUntil(async () => {
      try {
        seqs = (await fetchSeqs(cl.members[await activeLeader(replicas)], 'Q', 'C3', 1, 1000)).map((m) => m.seq);
      } catch {
        seqs = [];
      }
      return seqs.length > 0;
    }, 15_000, 'a delivery after the partition healed');
    assert.deepEqual(seqs, [3], 'delivery goes on where it was');
  });

  it('workqueue: every replica removes the acknowledged messages', async () => {
    await addStreamEverywhere(cl, { name: 'W', subjects: ['w.>'], retention: RetentionPolicy.Workqueue });
    await publishEverywhere(cl, 'w.x', 20);
    const ca = assignment(cl, 'W', 'C4', config({ durable_name: 'C4', ack_policy: 'explicit' }));
    const replicas = await openEverywhere(cl, ca);
    const li = await activeLeader(replicas);
    const got = await fetchSeqs(cl.members[li], 'W', 'C4', 20);
    assert.equal(got.length, 20);
    for (const m of got.slice(0, 15)) m.ack();
    assert.ok(await got[15].ackAck());
    for (const m of cl.members) {
      await waitUntil(() => m.stream('W').store.state().msgs === 4, 5000, `16 messages removed on ${m.id}`);
      assert.equal(m.stream('W').store.state().firstSeq, 17, m.id);
    }
  });

  it('a push consumer fails over: the new leader delivers what was not acknowledged, nothing else again', async () => {
    await addStreamEverywhere(cl, { name: 'PU', subjects: ['pu.>'] });
    await publishEverywhere(cl, 'pu.x', 10);
    // Acks of 1..3 only: the rest stays pending until the new leader's ack wait passes.
    const deliveries: Array<{ seq: number; dc: number }> = [];
    const subs = cl.members.map((m) => m.nc.subscribe('push.pu', {
      callback: (_err, msg) => {
        const t = (msg.reply ?? '').split('.');
        const seq = Number(t[5]);
        deliveries.push({ seq, dc: Number(t[4]) });
        if (seq <= 3) msg.respond();
      },
    }));
    for (const m of cl.members) await m.nc.flush();
    const ca = assignment(cl, 'PU', 'P1', config({ durable_name: 'P1', ack_policy: 'explicit', deliver_subject: 'push.pu', ack_wait: 400 * NS_PER_MS }));
    const replicas = await openEverywhere(cl, ca);
    const li = await activeLeader(replicas);
    await waitUntil(() => deliveries.length >= 10, 5000, 'first deliveries');
    await waitUntil(() => cl.members.every((m) => counts(m, 'PU', 'P1').ackFloor.stream_seq === 3), 5000, 'acks 1..3 replicated');
    assert.ok(replicas[li].stepDown());
    await waitUntil(() => replicas.some((r, i) => i !== li && r.isActiveLeader()), 10_000, 'a new leader');
    await waitUntil(() => deliveries.filter((d) => d.dc >= 2).length >= 7, 10_000, 'redeliveries by the new leader');
    for (const s of subs) s.unsubscribe();
    for (let seq = 1; seq <= 3; seq++) assert.equal(deliveries.filter((d) => d.seq === seq).length, 1, `acknowledged ${seq} delivered once`);
    for (let seq = 4; seq <= 10; seq++) assert.ok(deliveries.some((d) => d.seq === seq && d.dc >= 2), `unacknowledged ${seq} redelivered`);
    for (const r of replicas) await r.stop();
  });

  it('last_per_subject: a new leader delivers the remaining last messages, then new ones', async () => {
    await addStreamEverywhere(cl, { name: 'L', subjects: ['l.>'] });
    for (const k of ['a', 'b', 'c']) await publishEverywhere(cl, `l.${k}`, 2);
    const replicas = await openEverywhere(cl, assignment(cl, 'L', 'LP', config({ durable_name: 'LP', ack_policy: 'explicit', deliver_policy: 'last_per_subject' })));
    const li = await activeLeader(replicas);
    const first = await fetchSeqs(cl.members[li], 'L', 'LP', 1);
    assert.deepEqual(first.map((m) => m.seq), [2]);
    assert.ok(await first[0].ackAck());
    assert.ok(replicas[li].stepDown());
    let ni = -1;
    await waitUntil(() => {
      ni = replicas.findIndex((r) => r.isActiveLeader());
      return ni >= 0 && ni !== li;
    }, 10_000, 'a new active leader');
    await publishEverywhere(cl, 'l.d', 1);
    const rest = await fetchSeqs(cl.members[ni], 'L', 'LP', 3, 1500, true);
    assert.deepEqual(rest.map((m) => m.seq), [4, 6, 7], 'the other subjects\' last messages, then the new one');
    for (const r of replicas) await r.stop();
  });

  it('workqueue: a replica whose stream lags drops acknowledged messages when they arrive', async () => {
    await addStreamEverywhere(cl, { name: 'LAG', subjects: ['lag.>'], retention: RetentionPolicy.Workqueue });
    const lagging = cl.members[2];
    const ahead: ConsumerCluster = { ...cl, members: cl.members.slice(0, 2) };
    await publishEverywhere(ahead, 'lag.x', 10);
    const replicas = await openEverywhere(cl, assignment(cl, 'LAG', 'LG', config({ durable_name: 'LG', ack_policy: 'explicit' }), cl.members[0].id));
    const li = await activeLeader(replicas);
    assert.notEqual(li, 2, 'the lagging member does not lead (its stream holds nothing to deliver)');
    const got = await fetchSeqs(cl.members[li], 'LAG', 'LG', 10);
    for (const m of got) assert.ok(await m.ackAck());
    await waitUntil(() => counts(lagging, 'LAG', 'LG').ackFloor.stream_seq === 10, 5000, 'acks applied on the lagging member');
    await publishEverywhere({ ...cl, members: [lagging] }, 'lag.x', 10);
    await waitUntil(() => lagging.stream('LAG').store.state().msgs === 0, 5000, 'the late messages dropped on arrival');
    for (const m of ahead.members) assert.equal(m.stream('LAG').store.state().msgs, 0);
    for (const r of replicas) await r.stop();
  });

  it('a new leader whose stream lags keeps unacknowledged messages pending until they arrive, then redelivers them', async () => {
    await addStreamEverywhere(cl, { name: 'LL', subjects: ['ll.>'] });
    const lagging = cl.members[2];
    await publishEverywhere({ ...cl, members: cl.members.slice(0, 2) }, 'll.x', 10);
    const replicas = await openEverywhere(cl, assignment(cl, 'LL', 'LLC', config({ durable_name: 'LLC', ack_policy: 'explicit', ack_wait: 300 * NS_PER_MS }), cl.members[0].id));
    const li = await activeLeader(replicas);
    assert.notEqual(li, 2);
    const first = await fetchSeqs(cl.members[li], 'LL', 'LLC', 5);
    assert.deepEqual(first.map((m) => m.seq), [1, 2, 3, 4, 5]);
    await waitUntil(() => counts(lagging, 'LL', 'LLC').numAckPending === 5, 5000, 'deliveries replicated to the lagging member');
    assert.ok(replicas[li].raft.stepDown(lagging.id));
    await waitUntil(() => replicas[2].isActiveLeader(), 10_000, 'the lagging member leads');
    // A pull waits while the ack wait passes with none of the pending messages in its stream: they must not be dropped.
    assert.deepEqual(await fetchSeqs(lagging, 'LL', 'LLC', 5, 1000), []);
    assert.equal(counts(lagging, 'LL', 'LLC').numAckPending, 5, 'still pending');
    await publishEverywhere({ ...cl, members: [lagging] }, 'll.x', 10);
    const seen = new Map<number, number>();
    await waitUntil(async () => {
      for (const m of await fetchSeqs(lagging, 'LL', 'LLC', 10, 1000, true)) seen.set(m.seq, m.info.deliveryCount);
      return seen.size >= 10;
    }, 15_000, 'everything once the stream caught up');
    assert.deepEqual([...seen.keys()].sort((a, b) => a - b), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    for (let s = 1; s <= 5; s++) assert.equal(seen.get(s), 2, `pending ${s} redelivered`);
    for (const r of replicas) await r.stop();
  });

  it('deleting the consumer ends the pull requests waiting on its leader', async () => {
    await addStreamEverywhere(cl, { name: 'DEL', subjects: ['del.>'] });
    const replicas = await openEverywhere(cl, assignment(cl, 'DEL', 'DC', config({ durable_name: 'DC', ack_policy: 'explicit' })));
    const li = await activeLeader(replicas);
    const c = await jetstream(cl.members[li].nc).consumers.get('DEL', 'DC');
    const started = Date.now();
    const fetching = (async () => {
      try {
        for await (const m of await c.fetch({ max_messages: 1, expires: 8000 })) void m;
      } catch {
        // nats.js ends the fetch with an error for 409 Consumer Deleted.
      }
    })();
    await waitUntil(() => counts(cl.members[li], 'DEL', 'DC').numWaiting === 1, 5000, 'the pull request waiting');
    for (const r of replicas) await r.delete();
    await fetching;
    assert.ok(Date.now() - started < 6000, 'the fetch ended before its expiry');
    for (const m of cl.members) assert.equal(m.stream('DEL').consumers.get('DC'), undefined, `gone from ${m.id}`);
  });

  it('a replica stopped and reopened catches up from its log', async () => {
    await addStreamEverywhere(cl, { name: 'R', subjects: ['r.>'] });
    await publishEverywhere(cl, 'r.x', 10);
    const ca = assignment(cl, 'R', 'C5', config({ durable_name: 'C5', ack_policy: AckPolicy.Explicit }), cl.members[0].id);
    const replicas: ConsumerReplica[] = await openEverywhere(cl, ca);
    const li = await activeLeader(replicas);
    const oi = (li + 1) % 3;
    await replicas[oi].stop();
    const got = await fetchSeqs(cl.members[li], 'R', 'C5', 6);
    for (const m of got) assert.ok(await m.ackAck());
    const m = cl.members[oi];
    const stream = { account: m.js.srv.server.accounts.get('$G') as Account, name: 'R' } as unknown as StreamReplica;
    replicas[oi] = await openConsumerReplica(m.ctx, m.engine, stream, ca);
    await waitUntil(() => counts(m, 'R', 'C5').ackFloor.stream_seq === 6, 5000, 'reopened replica caught up');
    assert.equal(counts(m, 'R', 'C5').delivered.consumer_seq, 6);
    for (const r of replicas) await r.stop();
  });
});

describe('replicated consumers with snapshots', () => {
  let cl: ConsumerCluster;
  before(async () => {
    cl = await startConsumerCluster(3, { snapshotEntries: 8 });
  });
  after(async () => {
    await cl.close();
  });

  it('a follower far behind gets the state by snapshot, then leads from it', async () => {
    await addStreamEverywhere(cl, { name: 'S', subjects: ['s.>'] });
    await publishEverywhere(cl, 's.x', 40);
    const replicas = await openEverywhere(cl, assignment(cl, 'S', 'SN', config({ durable_name: 'SN', ack_policy: 'explicit' })));
    const li = await activeLeader(replicas);
    const fi = (li + 1) % 3;
    const follower = cl.members[fi];
    cl.bus.down.add(follower.id);
    try {
      // One confirmed ack at a time: every one is its own entry, so the leader's log is compacted many times over.
      for (const m of await fetchSeqs(cl.members[li], 'S', 'SN', 30)) assert.ok(await m.ackAck());
      assert.ok(replicas[li].raft.status().commit > 30);
    } finally {
      cl.bus.down.delete(follower.id);
    }
    await waitUntil(() => counts(follower, 'S', 'SN').ackFloor.stream_seq === 30, 10_000, 'the follower restored to the leader\'s state');
    assert.equal(counts(follower, 'S', 'SN').numAckPending, 0);
    assert.equal(counts(follower, 'S', 'SN').delivered.consumer_seq, 30);
    assert.ok(replicas[li].raft.stepDown(follower.id), 'leadership handed to the restored follower');
    await waitUntil(() => replicas[fi].isActiveLeader(), 10_000, 'the restored follower leads');
    const next = await fetchSeqs(follower, 'S', 'SN', 10);
    assert.deepEqual(next.map((m) => m.seq), [31, 32, 33, 34, 35, 36, 37, 38, 39, 40]);
    assert.equal(next[0].info.deliveryCount, 1);
    for (const r of replicas) await r.stop();
  });
});

describe('replicated consumers with snapshots: retention after a snapshot', () => {
  let cl: ConsumerCluster;
  before(async () => {
    cl = await startConsumerCluster(3, { snapshotEntries: 8 });
  });
  after(async () => {
    await cl.close();
  });

  it('a replica whose acks came by snapshot drops what they acknowledged (then, or at the next leader change)', async () => {
    await addStreamEverywhere(cl, { name: 'TW', subjects: ['tw.>'], retention: RetentionPolicy.Workqueue });
    await publishEverywhere({ ...cl, members: cl.members.slice(0, 2) }, 'tw.x', 10);
    const ca = assignment(cl, 'TW', 'T', config({ durable_name: 'T', ack_policy: 'explicit' }), cl.members[0].id);
    const replicas = await openEverywhere(cl, ca);
    const li = await activeLeader(replicas);
    assert.notEqual(li, 2);
    await replicas[2].stop();
    for (const m of await fetchSeqs(cl.members[li], 'TW', 'T', 10)) assert.ok(await m.ackAck());
    // Meanwhile member 3's stream got the messages, with no consumer there to remove them.
    const late = cl.members[2];
    await publishEverywhere({ ...cl, members: [late] }, 'tw.x', 10);
    const stream = { account: late.js.srv.server.accounts.get('$G') as Account, name: 'TW' } as unknown as StreamReplica;
    replicas[2] = await openConsumerReplica(late.ctx, late.engine, stream, ca);
    await waitUntil(() => counts(late, 'TW', 'T').ackFloor.stream_seq === 10, 10_000, 'the state by snapshot');
    await waitUntil(() => late.stream('TW').store.state().msgs === 0, 10_000, 'the acknowledged messages dropped');
    // The tidying at a leader change leaves what the consumer has not had yet alone.
    await publishEverywhere({ ...cl, members: [late] }, 'tw.x', 3);
    assert.equal(late.stream('TW').store.state().firstSeq, 11);
    assert.ok(replicas[li].stepDown());
    await waitUntil(() => cl.members.some((m, i) => i !== li && replicas[i].isActiveLeader()), 10_000, 'a new leader');
    assert.equal(late.stream('TW').store.state().msgs, 3, 'new messages above the floor stay');
    for (const r of replicas) await r.stop();
  });
});

describe('replicated consumer moved to another peer', () => {
  let cl: ConsumerCluster;
  before(async () => {
    cl = await startConsumerCluster(4);
  });
  after(async () => {
    await cl.close();
  });

  it('the leader brings a new member in and the removed one out; the new member catches up and can lead', async () => {
    await addStreamEverywhere(cl, { name: 'MV', subjects: ['mv.>'] });
    await publishEverywhere(cl, 'mv.x', 10);
    const three: ConsumerCluster = { ...cl, members: cl.members.slice(0, 3) };
    const ca = assignment(three, 'MV', 'M', config({ durable_name: 'M', ack_policy: 'explicit' }), cl.members[0].id);
    const replicas: Array<ConsumerReplica | null> = await openEverywhere(three, ca);
    const li = await activeLeader(replicas as ConsumerReplica[]);
    for (const m of await fetchSeqs(cl.members[li], 'MV', 'M', 4)) assert.ok(await m.ackAck());
    // The meta group moves the consumer off member 3 (index 2) onto member 4 (index 3).
    const gone = li === 2 ? 1 : 2;
    const peers = ca.group.peers.map((p) => (p === cl.members[gone].id ? cl.members[3].id : p));
    const moved = { ...ca, group: { ...ca.group, peers } };
    const newcomer = cl.members[3];
    const stream = { account: newcomer.js.srv.server.accounts.get('$G') as Account, name: 'MV' } as unknown as StreamReplica;
    replicas[3] = await openConsumerReplica(newcomer.ctx, newcomer.engine, stream, moved);
    await (replicas[gone] as ConsumerReplica).delete();
    replicas[gone] = null;
    for (const r of replicas) if (r !== null && r !== replicas[3]) await r.update(moved);
    await waitUntil(() => counts(newcomer, 'MV', 'M').ackFloor.stream_seq === 4, 10_000, 'the new member caught up');
    await waitUntil(() => (replicas[li] as ConsumerReplica).raft.peers().length === 3 && !(replicas[li] as ConsumerReplica).raft.peers().includes(cl.members[gone].id), 10_000, 'the removed member out of the group');
    assert.ok((replicas[li] as ConsumerReplica).raft.stepDown(newcomer.id));
    await waitUntil(() => (replicas[3] as ConsumerReplica).isActiveLeader(), 10_000, 'the new member leads');
    const next = await fetchSeqs(newcomer, 'MV', 'M', 6);
    assert.deepEqual(next.map((m) => m.seq), [5, 6, 7, 8, 9, 10]);
    for (const r of replicas) if (r !== null) await r.stop();
  });
});
