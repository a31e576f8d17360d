/**
 * The seeds' shape (courtyard-3-node-jetstream-tls, harmony-adr-019): three
 * nodes with TLS routes, JetStream in an isolated account, an R3 stream and
 * an R3 KV bucket. Losing any one node (here the stream leader) loses no
 * acknowledged write and the cluster keeps taking writes; the node that
 * returns catches up, so every replica holds exactly the acknowledged
 * messages in order.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { makeCerts, type CertSet } from '../../tls/certs.js';
import { JsCluster } from './api-helpers.js';
import { sleep, waitUntil } from '../../helpers/wait.js';
import type { NatterNode } from '../../cluster/helpers.js';

const ACCOUNTS = {
  accounts: {
    TEAM: { jetstream: 'enabled', users: [{ user: 'team', password: 'p' }] },
    OTHER: { jetstream: 'enabled', users: [{ user: 'other', password: 'p' }] },
    SYS: { users: [{ user: 'sys', password: 'p' }] },
  },
  system_account: 'SYS',
};

describe('three nodes with TLS routes, R3 in an isolated account, one node lost and back', () => {
  let certs: CertSet;
  let cluster: JsCluster;
  const conns: NatsConnection[] = [];

  async function team(node: NatterNode): Promise<NatsConnection> {
    const nc = await connect({ servers: node.url, user: 'team', pass: 'p', maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    conns.push(nc);
    return nc;
  }

  /** Each node's own copy of TEAM's stream, straight from its store. */
  function storedOn(node: NatterNode, stream: string): string[] {
    const acc = node.srv.server.accounts.get('TEAM');
    assert.ok(acc !== undefined);
    const s = node.srv.server.jetstream?.findStream(acc, stream) ?? null;
    if (s === null) return [];
    const st = s.store.state();
    const out: string[] = [];
    for (let seq = st.firstSeq; seq <= st.lastSeq; seq++) {
      const m = s.store.loadMsg(seq);
      if (m !== null) out.push(m.data.toString());
    }
    return out;
  }

  before(async () => {
    certs = await makeCerts();
    const tls = { cert_file: certs.server.cert, key_file: certs.server.key, ca_file: certs.ca.cert, timeout: 2 };
    cluster = new JsCluster(['T1', 'T2', 'T3'], ACCOUNTS, { tls });
    await cluster.start();
  });
  after(async () => {
    await Promise.allSettled(conns.map((nc) => nc.close()));
    await cluster?.stop();
  });

  it('keeps every acknowledged write through the loss of the stream leader and catches the node up', { timeout: 90_000 }, async () => {
    const entry = cluster.nodes[0];
    const nc = await team(entry);
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.add({ name: 'ORDERS', subjects: ['orders.>'], num_replicas: 3 });
    assert.equal(info.cluster?.replicas?.length, 2, 'two other replicas');
    // The account is isolated: another account sees no such stream.
    const other = await connect({ servers: entry.url, user: 'other', pass: 'p' });
    conns.push(other);
    await assert.rejects((await jetstreamManager(other)).streams.info('ORDERS'), /stream not found/);

    const js = jetstream(nc);
    const acked: string[] = [];
    for (let i = 0; i < 200; i++) {
      await js.publish(`orders.${i % 5}`, `m${i}`);
      acked.push(`m${i}`);
    }
    const leaderName = (await jsm.streams.info('ORDERS')).cluster?.leader;
    const leader = cluster.node(String(leaderName));
    // The client stays on a node that survives.
    const survivor = cluster.nodes.find((n) => n !== leader) as NatterNode;
    const nc2 = await team(survivor);
    const js2 = jetstream(nc2, { timeout: 2000 });
    await cluster.close(leader);
    for (let i = 200; i < 400; i++) {
      // During the election a publish finds no responder or times out; as nats.go does, it is retried
      // 250 ms later with the same Nats-Msg-Id, so it is stored once.
      for (let attempt = 0; ; attempt++) {
        try {
          await js2.publish(`orders.${i % 5}`, `m${i}`, { msgID: `id-${i}` });
          break;
        } catch (e) {
          if (attempt > 60) throw e;
          await sleep(250);
        }
      }
      acked.push(`m${i}`);
    }
    const back = await cluster.restart(leader.name);
    await waitUntil(() => cluster.nodes.every((n) => storedOn(n, 'ORDERS').length === acked.length), 30_000, 'every replica caught up', 50);
    for (const n of cluster.nodes) assert.deepEqual(storedOn(n, 'ORDERS'), acked, `${n.name} holds exactly the acknowledged messages, in order`);
    assert.ok(cluster.nodes.includes(back));
  });

  it('keeps an R3 KV bucket writable and readable from every node while one node is down', { timeout: 90_000 }, async () => {
    const first = await team(cluster.nodes[0]);
    const kv = await new Kvm(first).create('settings', { replicas: 3 });
    await kv.put('a', '1');
    const victim = cluster.nodes[2];
    await cluster.close(victim);
    for (const n of cluster.nodes) {
      const b = await new Kvm(await team(n)).open('settings');
      await waitUntil(async () => {
        try {
          await b.put(`from.${n.name}`, n.name);
          return true;
        } catch {
          return false;
        }
      }, 20_000, `a put through ${n.name}`, 200);
      assert.equal((await b.get('a'))?.string(), '1');
    }
    await cluster.restart(victim.name);
    const again = await new Kvm(await team(cluster.node(victim.name))).open('settings');
    await waitUntil(async () => (await again.get(`from.${cluster.nodes[0].name}`))?.string() === cluster.nodes[0].name, 30_000, 'the returning node reads what was written without it', 200);
  });
});
