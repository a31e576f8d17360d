/**
 * Replicated consumers end to end: three clustered Natter nodes, the
 * official JetStream client, an R3 stream with an R3 durable pull consumer.
 * Consumer info from any node shows the group; the consumer's leader node
 * goes away in the middle of consumption and the client, on another node,
 * carries on: nothing acknowledged comes again, nothing is skipped.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { NatsConnection } from '@nats-io/transport-node';
import { AckPolicy, jetstream, jetstreamManager, RetentionPolicy, type JetStreamClient } from '@nats-io/jetstream';
import { JsCluster, metaOf } from './api-helpers.js';
import type { NatterNode } from '../../cluster/helpers.js';
import { GLOBAL_ACCOUNT } from '../../../src/accounts/names.js';
import { sleep, waitUntil } from '../../helpers/wait.js';

function consumerLeader(c: JsCluster, stream: string, name: string): NatterNode | null {
  const leaders = c.nodes.filter((n) => metaOf(n).consumerReplica(GLOBAL_ACCOUNT, stream, name)?.isActiveLeader() === true);
  return leaders.length === 1 ? leaders[0] : null;
}

describe('R3 consumer on a 3-node cluster', () => {
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

  /** Fetches up to `max` with `js`, acking each with a confirmed ack; errors during a leader change count as an empty fetch. */
  async function fetchAcked(js: JetStreamClient, stream: string, name: string, max: number, seen: Map<number, number>, subjects = new Map<number, string>()): Promise<void> {
    try {
      const c = await js.consumers.get(stream, name);
      for await (const m of await c.fetch({ max_messages: max, expires: 1000 })) {
        seen.set(m.seq, (seen.get(m.seq) ?? 0) + 1);
        subjects.set(m.seq, m.subject);
        await m.ackAck({ timeout: 3000 }).catch(() => false);
      }
    } catch {
      await sleep(100);
    }
  }

  it('serves pulls from its leader, shows the group in info, and fails over without redelivering acknowledged messages', async () => {
    const { nc } = await client(cluster.nodes[0]);
    const jsm = await jetstreamManager(nc, { timeout: 10_000 });
    await jsm.streams.add({ name: 'CE', subjects: ['ce.>'], num_replicas: 3 });
    const ci = await jsm.consumers.add('CE', { durable_name: 'D', ack_policy: AckPolicy.Explicit, num_replicas: 3, ack_wait: 2_000_000_000 });
    assert.equal(ci.name, 'D');
    await waitUntil(() => consumerLeader(cluster, 'CE', 'D') !== null, 10_000, 'a consumer leader');
    const { js } = await client(cluster.nodes[1]);
    for (let i = 1; i <= 30; i++) await js.publish(`ce.${i}`, `m${i}`);

    const info = await jsm.consumers.info('CE', 'D');
    assert.equal(info.cluster?.replicas?.length, 2, 'two other replicas in the consumer group');
    assert.equal(info.cluster?.leader, consumerLeader(cluster, 'CE', 'D')?.name);

    const seen = new Map<number, number>();
    const subjects = new Map<number, string>();
    const leader = consumerLeader(cluster, 'CE', 'D') as NatterNode;
    const other = cluster.nodes.find((n) => n !== leader) as NatterNode;
    const { nc: ncOther, js: jsOther } = await client(other);
    await waitUntil(async () => {
      await fetchAcked(jsOther, 'CE', 'D', 10 - seen.size, seen, subjects);
      return seen.size >= 10;
    }, 15_000, 'the first 10 messages');
    assert.deepEqual([...seen.keys()].sort((a, b) => a - b), Array.from({ length: 10 }, (_, i) => i + 1));
    // Delivered through a route from the leader's node: the stream subject, not the pull inbox, reaches the client.
    for (const [seq, subject] of subjects) assert.equal(subject, `ce.${seq}`);

    await cluster.close(leader);
    await waitUntil(() => consumerLeader(cluster, 'CE', 'D') !== null, 20_000, 'a new consumer leader');
    await waitUntil(async () => {
      await fetchAcked(jsOther, 'CE', 'D', 10, seen);
      return seen.size >= 30;
    }, 30_000, 'the other 20 messages after the failover');
    assert.deepEqual([...seen.keys()].sort((a, b) => a - b), Array.from({ length: 30 }, (_, i) => i + 1), 'nothing skipped');
    for (let s = 1; s <= 10; s++) assert.equal(seen.get(s), 1, `acknowledged message ${s} not delivered again`);
    const after = await (await jetstreamManager(ncOther)).consumers.info('CE', 'D');
    assert.equal(after.delivered.stream_seq, 30);
    assert.equal(after.num_ack_pending, 0);

    // The node that led comes back: its replica recovers from its Raft log and catches up.
    const back = await cluster.restart(leader.name);
    await waitUntil(() => {
      const c = back.srv.server.jetstream?.accounts.get(GLOBAL_ACCOUNT)?.streams.get('CE')?.consumers.get('D');
      return c !== undefined && c.info().ackFloor.stream_seq === 30 && c.info().delivered.consumer_seq === after.delivered.consumer_seq;
    }, 30_000, 'the returning replica caught up');
  });

  it('CONSUMER.LEADER.STEPDOWN hands the consumer to another node, which carries on', async () => {
    const { nc, js } = await client(cluster.nodes[0]);
    const jsm = await jetstreamManager(nc, { timeout: 10_000 });
    await jsm.streams.add({ name: 'SD', subjects: ['sd.>'], num_replicas: cluster.nodes.length });
    await jsm.consumers.add('SD', { durable_name: 'S', ack_policy: AckPolicy.Explicit });
    await waitUntil(() => consumerLeader(cluster, 'SD', 'S') !== null, 10_000, 'a consumer leader');
    for (let i = 1; i <= 6; i++) await js.publish('sd.x', `s${i}`);
    const seen = new Map<number, number>();
    await waitUntil(async () => {
      await fetchAcked(js, 'SD', 'S', 3 - seen.size, seen);
      return seen.size >= 3;
    }, 15_000, 'the first 3');
    const before = consumerLeader(cluster, 'SD', 'S') as NatterNode;
    const res = await nc.request('$JS.API.CONSUMER.LEADER.STEPDOWN.SD.S', '', { timeout: 5000 });
    assert.equal((res.json() as { success?: boolean }).success, true);
    await waitUntil(() => {
      const now = consumerLeader(cluster, 'SD', 'S');
      return now !== null && now !== before;
    }, 15_000, 'another consumer leader');
    await waitUntil(async () => {
      await fetchAcked(js, 'SD', 'S', 3, seen);
      return seen.size >= 6;
    }, 15_000, 'the rest after the stepdown');
    assert.deepEqual([...seen.entries()].sort((a, b) => a[0] - b[0]), [[1, 1], [2, 1], [3, 1], [4, 1], [5, 1], [6, 1]]);
  });

  it('an ephemeral consumer whose inactive_threshold passes is removed from the cluster', async () => {
    const { nc } = await client(cluster.nodes[0]);
    const jsm = await jetstreamManager(nc, { timeout: 10_000 });
    await jsm.streams.add({ name: 'EPH', subjects: ['eph.>'], num_replicas: cluster.nodes.length });
    const ci = await jsm.consumers.add('EPH', { ack_policy: AckPolicy.Explicit, inactive_threshold: 500_000_000 });
    assert.equal(ci.config.num_replicas ?? 0, 0);
    const held = (): number => cluster.nodes.filter((n) => metaOf(n).consumer(GLOBAL_ACCOUNT, 'EPH', ci.name) !== null).length;
    assert.equal(held(), cluster.nodes.length, 'assigned');
    await waitUntil(() => held() === 0, 15_000, 'the inactive ephemeral consumer removed everywhere');
    await assert.rejects(jsm.consumers.info('EPH', ci.name), /consumer not found/);
  });

  it('a push consumer delivers to a subscriber on another node than its leader', async () => {
    const { nc } = await client(cluster.nodes[0]);
    const jsm = await jetstreamManager(nc, { timeout: 10_000 });
    await jsm.streams.add({ name: 'PS', subjects: ['ps.>'], num_replicas: cluster.nodes.length });
    await jsm.consumers.add('PS', { durable_name: 'P', ack_policy: AckPolicy.Explicit, deliver_subject: 'deliver.ps', idle_heartbeat: 1_000_000_000, flow_control: true });
    await waitUntil(() => consumerLeader(cluster, 'PS', 'P') !== null, 10_000, 'a consumer leader');
    const leader = consumerLeader(cluster, 'PS', 'P') as NatterNode;
    const far = await client(cluster.nodes.find((n) => n !== leader) as NatterNode);
    const got: string[] = [];
    const subscribe = () => far.nc.subscribe('deliver.ps', {
      callback: (_err, m) => {
        // Flow control requests and heartbeats have no ack reply; messages are acknowledged.
        if (m.reply?.startsWith('$JS.ACK.') === true) {
          got.push(`${m.subject}=${m.string()}`);
          m.respond();
        } else if (m.reply) {
          m.respond();
        }
      },
    });
    const sub = subscribe();
    await far.nc.flush();
    for (let i = 1; i <= 5; i++) await far.js.publish(`ps.${i}`, `p${i}`);
    await waitUntil(() => got.length >= 5, 10_000, 'push deliveries through the route');
    assert.deepEqual(got, ['ps.1=p1', 'ps.2=p2', 'ps.3=p3', 'ps.4=p4', 'ps.5=p5']);
    await waitUntil(async () => (await jsm.consumers.info('PS', 'P')).num_ack_pending === 0, 10_000, 'acks from the far node');
    assert.equal((await jsm.consumers.info('PS', 'P')).push_bound, true);

    // The far subscriber goes: its route withdraws the interest, so the
    // leader knows at once that nobody listens, and delivers nothing.
    sub.unsubscribe();
    await far.nc.flush();
    await waitUntil(async () => (await jsm.consumers.info('PS', 'P')).push_bound !== true, 5000, 'push_bound false once the far subscriber left');
    for (let i = 6; i <= 8; i++) await far.js.publish(`ps.${i}`, `p${i}`);
    await sleep(300);
    const idle = await jsm.consumers.info('PS', 'P');
    assert.equal(idle.delivered.stream_seq, 5, 'nothing delivered while nobody listens');
    assert.equal(idle.num_pending, 3);

    // It comes back: the route's interest wakes the consumer, which goes on where it stopped.
    subscribe();
    await far.nc.flush();
    await waitUntil(() => got.length >= 8, 5000, 'deliveries resumed for the returning subscriber');
    assert.deepEqual(got.slice(5), ['ps.6=p6', 'ps.7=p7', 'ps.8=p8']);
    assert.equal((await jsm.consumers.info('PS', 'P')).push_bound, true);
  });

  it('a workqueue stream with an R3 consumer: acknowledged messages leave every replica', async () => {
    const node = cluster.nodes[0];
    const { nc, js } = await client(node);
    const jsm = await jetstreamManager(nc, { timeout: 10_000 });
    await jsm.streams.add({ name: 'WQ', subjects: ['wq.>'], num_replicas: cluster.nodes.length, retention: RetentionPolicy.Workqueue });
    await jsm.consumers.add('WQ', { durable_name: 'W', ack_policy: AckPolicy.Explicit });
    for (let i = 1; i <= 10; i++) await js.publish('wq.x', `w${i}`);
    const seen = new Map<number, number>();
    await waitUntil(async () => {
      await fetchAcked(js, 'WQ', 'W', 10, seen);
      return seen.size >= 10;
    }, 15_000, 'the workqueue messages');
    for (const n of cluster.nodes) {
      await waitUntil(() => n.srv.server.jetstream?.accounts.get(GLOBAL_ACCOUNT)?.streams.get('WQ')?.store.state().msgs === 0, 10_000, `workqueue empty on ${n.name}`);
    }
  });

  it('a restart of every node: the consumer goes on from its replicated state', async () => {
    const { nc, js } = await client(cluster.nodes[0]);
    const jsm = await jetstreamManager(nc, { timeout: 10_000 });
    await jsm.streams.add({ name: 'RS', subjects: ['rs.>'], num_replicas: cluster.nodes.length });
    await jsm.consumers.add('RS', { durable_name: 'R', ack_policy: AckPolicy.Explicit });
    for (let i = 1; i <= 10; i++) await js.publish('rs.x', `r${i}`);
    const seen = new Map<number, number>();
    await waitUntil(async () => {
      await fetchAcked(js, 'RS', 'R', 4 - seen.size, seen);
      return seen.size >= 4;
    }, 15_000, 'the first 4');
    await nc.close();
    const names = cluster.nodes.map((n) => n.name);
    for (const n of [...cluster.nodes]) await cluster.close(n);
    await Promise.all(names.map((n) => cluster.restart(n)));
    await cluster.waitForMetaLeader(30_000);
    const again = await client(cluster.nodes[0]);
    await waitUntil(async () => {
      await fetchAcked(again.js, 'RS', 'R', 10, seen);
      return seen.size >= 10;
    }, 30_000, 'the rest after the restart');
    assert.deepEqual([...seen.entries()].sort((a, b) => a[0] - b[0]), Array.from({ length: 10 }, (_, i) => [i + 1, 1]), 'each message once');
  });
});
