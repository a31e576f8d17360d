/**
 * Replicated streams, one Raft group per stream, on three JetStream servers
 * in this process (replica-harness.ts: no meta layer, an in-process bus).
 * Publishes go to the active leader's server with the official client.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import { Harness, contents, type Member } from './replica-harness.js';
import { waitUntil } from '../../helpers/wait.js';
import { syncSubject } from '../../../src/jetstream/cluster/stream-catchup.js';

async function clientOn(m: Member): Promise<{ nc: NatsConnection; js: JetStreamClient }> {
  const nc = await connect({ servers: m.server.srv.url });
  return { nc, js: jetstream(nc, { timeout: 5000 }) };
}

/** Every live replica holds exactly `expected` (sequence, subject, payload), in order. */
async function allHold(h: Harness, expected: Array<{ seq: number; subject: string; data: string }>, members = h.members): Promise<void> {
  await waitUntil(() => members.every((m) => JSON.stringify(contents(m.stream)) === JSON.stringify(expected)), 10_000, 'every replica to hold the acknowledged messages');
}

describe('replicated stream (R3)', () => {
  let h: Harness;
  before(async () => {
    h = await Harness.start(3, { name: 'ORDERS', subjects: ['orders.>'], duplicate_window: 60_000_000_000 });
  });
  after(async () => {
    await h.stop();
  });

  it('stores every acknowledged message on every replica, in order', async () => {
    const leader = await h.leader();
    const { nc, js } = await clientOn(leader);
    const expected = [];
    const acks = [];
    for (let i = 1; i <= 50; i++) acks.push(js.publish(`orders.${i % 3}`, `m${i}`));
    for (const [i, a] of (await Promise.all(acks)).entries()) {
      assert.equal(a.seq, i + 1);
      assert.equal(a.stream, 'ORDERS');
      expected.push({ seq: i + 1, subject: `orders.${(i + 1) % 3}`, data: `m${i + 1}` });
    }
    await allHold(h, expected);
    // Followers never capture the subjects: a publish on a follower's server finds no stream.
    const follower = h.members.find((m) => m !== leader) as Member;
    const fc = await clientOn(follower);
    await assert.rejects(fc.js.publish('orders.x', 'lost', { timeout: 500 }));
    await fc.nc.close();
    await nc.close();
  });

  it('carries on after a leader stepdown, dedupe and expected sequences included', async () => {
    const first = await h.leader();
    let c = await clientOn(first);
    const before = contents(first.stream);
    const a = await c.js.publish('orders.d', 'once', { msgID: 'id-1' });
    assert.equal(a.duplicate, false);
    await c.nc.close();
    assert.equal(first.replica?.stepDown(), true);
    await waitUntil(() => !(first.replica?.isActiveLeader() ?? false), 5000, 'the old leader to step down');
    const second = await h.leader();
    assert.notEqual(second, first);
    c = await clientOn(second);
    const again = await c.js.publish('orders.d', 'twice', { msgID: 'id-1' });
    assert.equal(again.duplicate, true);
    assert.equal(again.seq, a.seq);
    const ok = await c.js.publish('orders.d', 'next', { expect: { lastSequence: a.seq } });
    assert.equal(ok.seq, a.seq + 1);
    await assert.rejects(c.js.publish('orders.d', 'stale', { expect: { lastSequence: a.seq } }), /wrong last sequence/);
    const subj = await c.js.publish('orders.d', 'by-subject', { expect: { lastSubjectSequence: ok.seq } });
    assert.equal(subj.seq, ok.seq + 1);
    await c.nc.close();
    await allHold(h, [...before, { seq: a.seq, subject: 'orders.d', data: 'once' }, { seq: ok.seq, subject: 'orders.d', data: 'next' },
      { seq: subj.seq, subject: 'orders.d', data: 'by-subject' }]);
  });

  it('checks expected sequences against messages still in flight', async () => {
    const leader = await h.leader();
    const { nc, js } = await clientOn(leader);
    const last = contents(leader.stream).at(-1)?.seq ?? 0;
    const h1 = headers();
    h1.set('Nats-Expected-Last-Sequence', String(last));
    // Two publishes in one turn expecting the same last sequence: the second must fail although the first is not applied yet.
    const p1 = js.publish('orders.e', 'first', { headers: h1 });
    const p2 = js.publish('orders.e', 'second', { headers: h1 });
    const r = await Promise.allSettled([p1, p2]);
    assert.equal(r[0].status, 'fulfilled');
    assert.equal(r[1].status, 'rejected');
    // A duplicate of a message still in flight is answered once the original is committed, with its sequence.
    const [d1, d2] = await Promise.all([js.publish('orders.e', 'dup', { msgID: 'inflight-1' }), js.publish('orders.e', 'dup', { msgID: 'inflight-1' })]);
    assert.equal(d1.duplicate, false);
    assert.equal(d2.duplicate, true);
    assert.equal(d2.seq, d1.seq);
    await nc.close();
  });

  it('replicates purge and message delete through the API on the leader', async () => {
    const leader = await h.leader();
    const { nc, js } = await clientOn(leader);
    for (let i = 0; i < 5; i++) await js.publish('orders.p', `p${i}`);
    const last = contents(leader.stream).at(-1)?.seq ?? 0;
    const del = await nc.request(`$JS.API.STREAM.MSG.DELETE.ORDERS`, JSON.stringify({ seq: last, no_erase: true }));
    assert.deepEqual(del.json(), { type: 'io.nats.jetstream.api.v1.stream_msg_delete_response', success: true });
    const purge = await nc.request(`$JS.API.STREAM.PURGE.ORDERS`, JSON.stringify({ filter: 'orders.p', keep: 2 }));
    const pr = purge.json<{ success: boolean; purged: number }>();
    assert.equal(pr.success, true);
    assert.equal(pr.purged, 2);
    const expected = contents(leader.stream);
    assert.deepEqual(expected.filter((m) => m.subject === 'orders.p').map((m) => m.data), ['p2', 'p3']);
    await allHold(h, expected);
    await nc.close();
  });

  it('adds a peer named by a new assignment; the new replica catches up', async () => {
    const leader = await h.leader();
    const added = await h.addMember();
    await waitUntil(() => (leader.replica?.raft.peers().length ?? 0) === 4, 10_000, 'the leader to add the peer');
    const { nc, js } = await clientOn(leader);
    await js.publish('orders.new', 'with four');
    await nc.close();
    await allHold(h, contents(leader.stream));
    assert.equal(contents(added.stream).at(-1)?.data, 'with four');
    // And removed again: the meta group drops it from the assignment and deletes its copy.
    h.sa = { ...h.sa, group: { ...h.sa.group, peers: h.sa.group.peers.filter((p) => p !== added.peer) } };
    const rest = h.members.filter((m) => m !== added);
    await Promise.all(rest.map((m) => m.replica?.update(h.sa)));
    await added.replica?.delete();
    h.members.splice(h.members.indexOf(added), 1);
    await added.server.stop();
    const now = await h.leader();
    await waitUntil(() => (now.replica?.raft.peers().length ?? 0) === 3, 10_000, 'the leader to remove the peer');
    const c = await clientOn(now);
    await c.js.publish('orders.new', 'with three');
    await c.nc.close();
    await allHold(h, contents(now.stream));
  });

  it('acknowledges nothing an isolated leader takes; it rejoins with the new leader\'s messages', async () => {
    const old = await h.leader();
    h.bus.down.add(old.peer);
    const oc = await clientOn(old);
    // Proposed, never committed: the publisher hears nothing (and retries elsewhere).
    const lost = await Promise.allSettled([oc.js.publish('orders.iso', 'lost-1', { timeout: 800 }), oc.js.publish('orders.iso', 'lost-2', { timeout: 800 })]);
    assert.deepEqual(lost.map((r) => r.status), ['rejected', 'rejected']);
    const others = h.members.filter((m) => m !== old);
    let fresh: Member | null = null;
    await waitUntil(() => {
      const a = others.filter((m) => m.replica?.isActiveLeader() === true);
      fresh = a.length === 1 ? a[0] : null;
      return fresh !== null;
    }, 10_000, 'a new leader among the connected replicas');
    const nc = await clientOn(fresh as unknown as Member);
    const kept = await nc.js.publish('orders.iso', 'kept');
    await nc.nc.close();
    await oc.nc.close();
    h.bus.down.delete(old.peer);
    const expected = contents((fresh as unknown as Member).stream);
    assert.equal(expected.at(-1)?.seq, kept.seq);
    await allHold(h, expected);
    assert.ok(!contents(old.stream).some((m) => m.data.startsWith('lost-')));
  });

  it('catches a restarted follower up from the log', async () => {
    const leader = await h.leader();
    const follower = h.members.find((m) => m !== leader) as Member;
    await h.closeReplica(follower);
    const { nc, js } = await clientOn(leader);
    for (let i = 0; i < 20; i++) await js.publish('orders.r', `r${i}`);
    await nc.close();
    await h.open(follower);
    await allHold(h, contents(leader.stream));
  });
});

describe('replicated stream catch-up by snapshot', () => {
  let h: Harness;
  before(async () => {
    h = await Harness.start(3, { name: 'SNAP', subjects: ['snap.>'], storage: 'memory' }, {
      timing: { heartbeatMs: 50, electionMinMs: 300, electionMaxMs: 600, quorumLossMs: 2000, snapshotEntries: 16 },
    });
  });
  after(async () => {
    await h.stop();
  });

  it('restores a follower far behind from a snapshot and the leader store', async () => {
    const leader = await h.leader();
    const follower = h.members.find((m) => m !== leader) as Member;
    const { nc, js } = await clientOn(leader);
    for (let i = 0; i < 10; i++) await js.publish('snap.a', `a${i}`);
    await allHold(h, contents(leader.stream));
    h.bus.down.add(follower.peer);
    for (let i = 0; i < 200; i++) await js.publish(`snap.${i % 4}`, `b${i}`);
    // Removed while the follower was away: it must not keep them.
    await nc.request('$JS.API.STREAM.MSG.DELETE.SNAP', JSON.stringify({ seq: 3 }));
    await nc.request('$JS.API.STREAM.PURGE.SNAP', JSON.stringify({ filter: 'snap.0' }));
    for (let i = 0; i < 40; i++) await js.publish('snap.c', `c${i}`);
    await nc.close();
    let fetches = 0;
    const unsubscribe = h.bus.subscribe('observer', syncSubject(h.sa.group.name, leader.peer), () => fetches++);
    h.bus.down.delete(follower.peer);
    await allHold(h, contents(leader.stream));
    unsubscribe();
    assert.ok(fetches > 0, 'the follower fetched messages from the leader');
    assert.equal(follower.stream.store.state().lastSeq, leader.stream.store.state().lastSeq);
  });
});

describe('replicated stream limits, retention and config updates', () => {
  let h: Harness;
  before(async () => {
    h = await Harness.start(3, { name: 'LIM', subjects: ['lim.>'], storage: 'memory', max_msgs: 5, discard: 'new' });
  });
  after(async () => {
    await h.stop();
  });

  it('refuses with discard new before proposing, counting messages in flight', async () => {
    const leader = await h.leader();
    const { nc, js } = await clientOn(leader);
    const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => js.publish('lim.a', `x${i}`)));
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 5);
    for (const r of results.slice(5)) assert.match(String((r as PromiseRejectedResult).reason), /maximum messages exceeded/);
    await allHold(h, contents(leader.stream));
    // Refused messages used no sequence, as on a single server.
    assert.equal(leader.stream.store.state().lastSeq, 5);
    await nc.close();
  });

  it('applies a config update from the meta group on every replica; the leader captures the new subjects', async () => {
    const leader = await h.leader();
    const cfg = { ...h.sa.config, subjects: ['lim.>', 'more.>'], max_msgs: 10 };
    h.sa = { ...h.sa, config: cfg };
    await Promise.all(h.members.map((m) => m.replica?.update(h.sa)));
    const { nc, js } = await clientOn(leader);
    const a = await js.publish('more.x', 'new subject');
    assert.equal(a.seq, 6);
    await allHold(h, contents(leader.stream));
    for (const m of h.members) assert.deepEqual(m.stream.config().subjects, ['lim.>', 'more.>']);
    await nc.close();
  });
});

describe('replicated interest stream without consumers', () => {
  let h: Harness;
  before(async () => {
    h = await Harness.start(3, { name: 'INT', subjects: ['int.>'], retention: 'interest', duplicate_window: 60_000_000_000 });
  });
  after(async () => {
    await h.stop();
  });

  it('uses the sequence on every replica and keeps nothing', async () => {
    const leader = await h.leader();
    const { nc, js } = await clientOn(leader);
    const a = await js.publish('int.x', 'nobody listens', { msgID: 'int-1' });
    assert.equal(a.seq, 1);
    const dup = await js.publish('int.x', 'again', { msgID: 'int-1' });
    assert.equal(dup.duplicate, true);
    await waitUntil(() => h.members.every((m) => m.stream.store.state().lastSeq === 1 && m.stream.store.state().msgs === 0), 5000, 'every replica to skip the sequence');
    await nc.close();
  });
});

describe('replicated mirror and sources (origins on the leader\'s server)', () => {
  let h: Harness;
  before(async () => {
    h = await Harness.start(3, { name: 'MIR', mirror: { name: 'ORIGIN' } }, {
      prepare: async (m) => {
        await m.addLocalStream({ name: 'ORIGIN', subjects: ['origin.>'] });
      },
    });
  });
  after(async () => {
    await h.stop();
  });

  it('the leader mirrors at the origin\'s sequences and every replica stores the same', async () => {
    const leader = await h.leader();
    const { nc, js } = await clientOn(leader);
    for (let i = 0; i < 10; i++) await js.publish('origin.x', `o${i}`);
    await waitUntil(() => contents(leader.stream).length === 10, 10_000, 'the mirror to copy the origin');
    assert.deepEqual(contents(leader.stream), contents(leader.localStream('ORIGIN')));
    await allHold(h, contents(leader.localStream('ORIGIN')));
    await nc.close();
  });
});

describe('replicated file stream restarted over its own snapshot', () => {
  let h: Harness;
  before(async () => {
    h = await Harness.start(3, { name: 'FSNAP', subjects: ['fsnap.>'] }, {
      timing: { heartbeatMs: 50, electionMinMs: 300, electionMaxMs: 600, quorumLossMs: 2000, snapshotEntries: 16 },
    });
  });
  after(async () => {
    await h.stop();
  });

  it('replays only what the store lacks after a restart of every replica', async () => {
    let leader = await h.leader();
    let c = await clientOn(leader);
    for (let i = 0; i < 60; i++) await c.js.publish(`fsnap.${i % 2}`, `f${i}`);
    await c.nc.close();
    const expected = contents(leader.stream);
    await allHold(h, expected);
    for (const m of h.members) await h.closeReplica(m);
    for (const m of h.members) await h.open(m);
    leader = await h.leader();
    await allHold(h, expected);
    c = await clientOn(leader);
    const next = await c.js.publish('fsnap.z', 'after restart');
    assert.equal(next.seq, 61);
    await c.nc.close();
    await allHold(h, [...expected, { seq: 61, subject: 'fsnap.z', data: 'after restart' }]);
  });
});

describe('replicated stream with republish', () => {
  let h: Harness;
  before(async () => {
    h = await Harness.start(3, { name: 'RP', subjects: ['rp.>'], storage: 'memory', republish: { src: 'rp.>', dest: 'out.>' } });
  });
  after(async () => {
    await h.stop();
  });

  it('republishes on the leader only', async () => {
    const leader = await h.leader();
    const seen = new Map<Member, number>();
    const watchers = await Promise.all(h.members.map(async (m) => {
      const c = await clientOn(m);
      seen.set(m, 0);
      c.nc.subscribe('out.>', { callback: () => { seen.set(m, (seen.get(m) ?? 0) + 1); } });
      await c.nc.flush();
      return c.nc;
    }));
    const { nc, js } = await clientOn(leader);
    for (let i = 0; i < 5; i++) await js.publish('rp.a', `r${i}`);
    await waitUntil(() => seen.get(leader) === 5, 5000, 'the leader to republish');
    await allHold(h, contents(leader.stream));
    for (const m of h.members) if (m !== leader) assert.equal(seen.get(m), 0, `${m.peer} republished nothing`);
    await nc.close();
    for (const w of watchers) await w.close();
  });
});
