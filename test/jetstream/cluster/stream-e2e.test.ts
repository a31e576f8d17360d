/**
 * Replicated streams end to end: three clustered Natter nodes (meta group,
 * routes), the official JetStream client, an R3 stream. Every acknowledged
 * message is on every replica in order; the stream keeps taking writes when
 * its leader's node goes away, and that node catches up when it returns.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { JsCluster, metaOf } from './api-helpers.js';
import { contents } from './replica-harness.js';
import type { NatterNode } from '../../cluster/helpers.js';
import type { Stream } from '../../../src/jetstream/stream.js';
import { GLOBAL_ACCOUNT } from '../../../src/accounts/names.js';
import { sleep, waitUntil } from '../../helpers/wait.js';

function localStream(n: NatterNode, name: string): Stream | null {
  return n.srv.server.jetstream?.accounts.get(GLOBAL_ACCOUNT)?.streams.get(name) ?? null;
}

function streamLeader(c: JsCluster, name: string): NatterNode | null {
  const leaders = c.nodes.filter((n) => metaOf(n).streamReplica(GLOBAL_ACCOUNT, name)?.isActiveLeader() === true);
  return leaders.length === 1 ? leaders[0] : null;
}

/** Publishes with retries across a leader change (as an application would); resolves with the acknowledged sequence. */
async function publishRetrying(js: JetStreamClient, subject: string, data: string, msgID: string): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    try {
      return (await js.publish(subject, data, { msgID, timeout: 2000 })).seq;
    } catch (e) {
      if (attempt >= 30) throw e;
      await sleep(200);
    }
  }
}

describe('R3 stream on a 3-node cluster', () => {
  const cluster = new JsCluster(['n1', 'n2', 'n3']);
  before(async () => {
    await cluster.start();
  });
  after(async () => {
    await cluster.stop();
  });

  async function client(n: NatterNode): Promise<{ nc: NatsConnection; js: JetStreamClient }> {
    const nc = await cluster.connect(n, { reconnect: false });
    return { nc, js: jetstream(nc, { timeout: 5000 }) };
  }

  it('creates the stream, stores acknowledged messages on every replica, survives its leader going away', async () => {
    const { nc } = await client(cluster.nodes[0]);
    const jsm = await jetstreamManager(nc, { timeout: 10_000 });
    const si = await jsm.streams.add({ name: 'E2E', subjects: ['e2e.>'], num_replicas: 3 });
    assert.equal(si.config.num_replicas, 3);
    await waitUntil(() => streamLeader(cluster, 'E2E') !== null, 10_000, 'a stream leader');

    const acked = new Map<number, string>();
    for (const [i, n] of cluster.nodes.entries()) {
      const { js } = await client(n);
      for (let k = 0; k < 20; k++) {
        const data = `n${i}-${k}`;
        acked.set(await publishRetrying(js, `e2e.${i}`, data, data), data);
      }
    }
    assert.deepEqual([...acked.keys()].sort((a, b) => a - b), Array.from({ length: 60 }, (_, i) => i + 1));
    const holdsAll = (n: NatterNode): boolean => {
      const s = localStream(n, 'E2E');
      return s !== null && JSON.stringify(contents(s).map((m) => [m.seq, m.data])) === JSON.stringify([...acked].sort((a, b) => a[0] - b[0]));
    };
    await waitUntil(() => cluster.nodes.every(holdsAll), 10_000, 'every replica to hold the acknowledged messages');

    const leader = streamLeader(cluster, 'E2E') as NatterNode;
    const other = cluster.nodes.find((n) => n !== leader) as NatterNode;
    await cluster.close(leader);
    const { js } = await client(other);
    for (let k = 0; k < 20; k++) {
      const data = `after-${k}`;
      acked.set(await publishRetrying(js, 'e2e.after', data, data), data);
    }
    await waitUntil(() => cluster.nodes.every(holdsAll), 10_000, 'the remaining replicas to hold every acknowledged message');

    const back = await cluster.restart(leader.name);
    await waitUntil(() => holdsAll(back), 30_000, 'the restarted node to catch up');
  });

  it('keeps an R1 stream on one node, reachable from every node', async () => {
    const { nc } = await client(cluster.nodes[1]);
    const jsm = await jetstreamManager(nc, { timeout: 10_000 });
    await jsm.streams.add({ name: 'ONE', subjects: ['one.>'], num_replicas: 1 });
    await waitUntil(() => streamLeader(cluster, 'ONE') !== null, 10_000, 'the R1 stream to lead');
    for (const [i, n] of cluster.nodes.entries()) {
      const { js } = await client(n);
      assert.equal(await publishRetrying(js, 'one.x', `from-${i}`, `one-${i}`), i + 1);
    }
    const holders = cluster.nodes.filter((n) => localStream(n, 'ONE') !== null);
    assert.equal(holders.length, 1);
    assert.deepEqual(contents(localStream(holders[0], 'ONE') as Stream).map((m) => m.data), ['from-0', 'from-1', 'from-2']);
  });

  it('mirrors and sources an origin whose only replica is on another node', async () => {
    const { nc, js } = await client(cluster.nodes[0]);
    const jsm = await jetstreamManager(nc, { timeout: 10_000 });
    await jsm.streams.add({ name: 'ORIG', subjects: ['orig.>'], num_replicas: 1 });
    await waitUntil(() => streamLeader(cluster, 'ORIG') !== null, 10_000, 'the origin to lead');
    const home = streamLeader(cluster, 'ORIG') as NatterNode;
    // An R3 mirror whose leader is moved off the origin's node: the remote read is what this tests.
    await jsm.streams.add({ name: 'MIRR', mirror: { name: 'ORIG' }, num_replicas: 3 });
    await waitUntil(() => streamLeader(cluster, 'MIRR') !== null, 10_000, 'the mirror to lead');
    while (streamLeader(cluster, 'MIRR') === home) {
      await nc.request('$JS.API.STREAM.LEADER.STEPDOWN.MIRR', '', { timeout: 5000 });
      await waitUntil(() => streamLeader(cluster, 'MIRR') !== null && streamLeader(cluster, 'MIRR') !== home, 10_000, 'the mirror to lead elsewhere');
    }
    const mirrorHome = streamLeader(cluster, 'MIRR') as NatterNode;
    await jsm.streams.add({ name: 'SRCD', subjects: ['srcd.>'], sources: [{ name: 'ORIG', filter_subject: 'orig.b' }], num_replicas: 3 });
    for (let i = 0; i < 6; i++) await publishRetrying(js, i % 2 === 0 ? 'orig.a' : 'orig.b', `o${i}`, `orig-${i}`);
    const origin = contents(localStream(home, 'ORIG') as Stream);
    await waitUntil(() => JSON.stringify(contents(localStream(mirrorHome, 'MIRR') as Stream)) === JSON.stringify(origin), 10_000, 'the mirror to copy the remote origin at its sequences');
    await waitUntil(() => cluster.nodes.every((n) => JSON.stringify(contents(localStream(n, 'MIRR') as Stream)) === JSON.stringify(origin)), 10_000, 'every mirror replica to hold the same');
    await waitUntil(() => cluster.nodes.every((n) => {
      const s = localStream(n, 'SRCD');
      return s !== null && JSON.stringify(contents(s).map((m) => m.data)) === JSON.stringify(['o1', 'o3', 'o5']);
    }), 10_000, 'every replica of the sourcing stream to hold the filtered origin messages');
  });

  it('serves an R3 KV bucket from every node: put, get, optimistic update, delete', async () => {
    const buckets = [];
    for (const n of cluster.nodes) {
      const { nc } = await client(n);
      buckets.push(nc);
    }
    const kv = await new Kvm(buckets[0]).create('cfg', { replicas: 3, history: 3 });
    const r1 = await kv.put('color', 'red');
    const fromOther = await new Kvm(buckets[1]).open('cfg');
    assert.equal((await fromOther.get('color'))?.string(), 'red');
    const r2 = await fromOther.update('color', 'green', r1);
    assert.ok(r2 > r1);
    await assert.rejects(fromOther.update('color', 'blue', r1), /wrong last sequence/);
    await assert.rejects(fromOther.create('color', 'again'));
    const third = await new Kvm(buckets[2]).open('cfg');
    assert.equal((await third.get('color'))?.string(), 'green');
    await third.delete('color');
    assert.equal(await third.get('color').then((e) => e?.operation), 'DEL');
    await third.purge('color');
    await waitUntil(() => cluster.nodes.every((n) => {
      const s = localStream(n, 'KV_cfg');
      return s !== null && contents(s).length === 1;
    }), 10_000, 'every replica to keep only the purge marker');

    // The bucket's leader goes away: puts and gets go on from the others, the node catches up when back.
    const leader = streamLeader(cluster, 'KV_cfg') as NatterNode;
    await cluster.close(leader);
    const survivor = cluster.nodes[0];
    const { nc: snc } = await client(survivor);
    const kvs = await new Kvm(snc).open('cfg');
    let put = 0;
    await waitUntil(async () => {
      try {
        put = await kvs.put('size', 'large');
        return true;
      } catch {
        return false;
      }
    }, 20_000, 'a put after the leader went away', 250);
    assert.equal((await kvs.get('size'))?.string(), 'large');
    const back = await cluster.restart(leader.name);
    await waitUntil(() => {
      const s = localStream(back, 'KV_cfg');
      return s !== null && s.store.state().lastSeq === put;
    }, 20_000, 'the returning node to catch up the bucket');
  });

  it('loses no acknowledged message when the leader node closes under async load', async () => {
    const { nc } = await client(cluster.nodes[0]);
    const jsm = await jetstreamManager(nc, { timeout: 10_000 });
    await jsm.streams.add({ name: 'LOAD', subjects: ['load.>'], num_replicas: 3, duplicate_window: 120_000_000_000 });
    await waitUntil(() => streamLeader(cluster, 'LOAD') !== null, 10_000, 'a stream leader');
    const leader = streamLeader(cluster, 'LOAD') as NatterNode;
    const others = cluster.nodes.filter((n) => n !== leader);
    const acked = new Set<string>();
    let stop = false;
    const publisher = async (n: NatterNode, name: string): Promise<void> => {
      const { js } = await client(n);
      const window = new Set<Promise<void>>();
      for (let i = 0; !stop; i++) {
        const id = `${name}-${i}`;
        const p = publishRetrying(js, 'load.x', id, id).then(() => {
          acked.add(id);
          window.delete(p);
        });
        window.add(p);
        if (window.size >= 32) await Promise.race(window);
      }
      await Promise.all(window);
    };
    const running = [publisher(others[0], 'a'), publisher(others[1], 'b')];
    await waitUntil(() => acked.size >= 300, 20_000, '300 acknowledged messages before the fault');
    await cluster.close(leader);
    const atClose = acked.size;
    await waitUntil(() => acked.size >= atClose + 300, 30_000, '300 more acknowledged messages after the leader closed');
    const back = await cluster.restart(leader.name);
    await waitUntil(() => acked.size >= atClose + 600, 30_000, 'more acknowledged messages after the restart');
    stop = true;
    await Promise.all(running);
    const stored = (n: NatterNode): string[] => {
      const s = localStream(n, 'LOAD');
      return s === null ? [] : contents(s).map((m) => m.data);
    };
    const reference = stored(others[0]);
    await waitUntil(() => cluster.nodes.every((n) => JSON.stringify(stored(n)) === JSON.stringify(stored(others[0]))), 30_000, 'every replica (the restarted one too) to hold the same messages');
    const final = stored(others[0]);
    assert.ok(final.length >= reference.length);
    assert.equal(new Set(final).size, final.length, 'no message stored twice (Nats-Msg-Id dedupe across the failover)');
    const missing = [...acked].filter((id) => !final.includes(id));
    assert.deepEqual(missing, [], 'every acknowledged message is stored');
    assert.ok(stored(back).length === final.length);
  });
});
