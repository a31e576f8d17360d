/**
 * The JetStream API on three Natter nodes: every request gets exactly one
 * answer, from whichever node the client is on (counted on a raw inbox);
 * creates are answered by the new group's leader with the `cluster` block;
 * NAMES, LIST and `$JS.API.INFO` come from the assignments; unknown streams
 * get one 10059; stepdowns hand leadership over; /jsz and /healthz show the
 * cluster.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { JsCluster, metaOf, repliesTo } from './api-helpers.js';
import { waitUntil } from '../../helpers/wait.js';

const API = '$JS.API.';

describe('the JetStream API on three nodes', () => {
  const cluster = new JsCluster(['A1', 'A2', 'A3']);
  const clientOn = (name: string): Promise<NatsConnection> => cluster.connect(name);

  before(async () => {
    await cluster.start();
  });
  after(async () => {
    await cluster.stop();
  });

  it('creates an R1 and an R3 stream from a non-leader node with exactly one answer each', async () => {
    const leader = await cluster.waitForMetaLeader();
    const other = cluster.nodes.find((n) => n !== leader)!;
    const nc = await clientOn(other.name);
    const r1 = await repliesTo(nc, `${API}STREAM.CREATE.R1`, { name: 'R1', subjects: ['r1.>'], num_replicas: 1 });
    assert.equal(r1.length, 1, JSON.stringify(r1));
    assert.equal(r1[0].type, 'io.nats.jetstream.api.v1.stream_create_response');
    assert.equal(r1[0].error, undefined, JSON.stringify(r1[0].error));
    assert.equal(r1[0].did_create, true);
    const r1Cluster = r1[0].cluster as Record<string, unknown>;
    assert.equal(r1Cluster.name, 'c');
    assert.ok(cluster.names.includes(r1Cluster.leader as string));

    const r3 = await repliesTo(nc, `${API}STREAM.CREATE.R3`, { name: 'R3', subjects: ['r3.>'], num_replicas: 3 });
    assert.equal(r3.length, 1, JSON.stringify(r3));
    assert.equal(r3[0].error, undefined, JSON.stringify(r3[0].error));
    const c = r3[0].cluster as { name: string; leader: string; raft_group: string; replicas: Array<Record<string, unknown>> };
    assert.equal(c.name, 'c');
    assert.match(c.raft_group, /^S-R3F-[0-9A-Za-z]{8}$/);
    assert.equal(c.replicas.length, 2, 'the two other replicas');
    assert.ok(c.replicas.every((r) => r.name !== c.leader && typeof r.current === 'boolean' && typeof r.active === 'number'));
    for (const n of cluster.nodes) await waitUntil(() => metaOf(n).streamReplica('$G', 'R3') !== null, 10_000, `R3 on ${n.name}`, 20);
  });

  it('answers the same create again with the stream (idempotent), and a different config with 10058', async () => {
    const nc = await clientOn(cluster.nodes[0].name);
    const again = await repliesTo(nc, `${API}STREAM.CREATE.R3`, { name: 'R3', subjects: ['r3.>'], num_replicas: 3 });
    assert.equal(again.length, 1);
    assert.equal(again[0].error, undefined, JSON.stringify(again[0].error));
    const differs = await repliesTo(nc, `${API}STREAM.CREATE.R3`, { name: 'R3', subjects: ['other.>'], num_replicas: 3 });
    assert.equal(differs.length, 1);
    assert.equal((differs[0].error as { err_code: number }).err_code, 10058);
    const overlap = await repliesTo(nc, `${API}STREAM.CREATE.X`, { name: 'X', subjects: ['r1.a'] });
    assert.equal(overlap.length, 1);
    assert.equal((overlap[0].error as { err_code: number }).err_code, 10065);
    const tooMany = await repliesTo(nc, `${API}STREAM.CREATE.R7`, { name: 'R7', num_replicas: 7 });
    assert.equal(tooMany.length, 1);
    assert.deepEqual(tooMany[0].error, { code: 500, err_code: 10052, description: 'maximum replicas is 5' });
  });

  it('answers STREAM.INFO, NAMES, LIST and $JS.API.INFO once, from any node', async () => {
    for (const n of cluster.nodes) {
      const nc = await clientOn(n.name);
      const info = await repliesTo(nc, `${API}STREAM.INFO.R3`, undefined, { quietMs: 500 });
      assert.equal(info.length, 1, `${n.name}: ${JSON.stringify(info)}`);
      assert.equal(info[0].type, 'io.nats.jetstream.api.v1.stream_info_response');
      const c = info[0].cluster as { leader: string; replicas: unknown[] };
      assert.ok(cluster.names.includes(c.leader));
      assert.equal(c.replicas.length, 2);
      const names = await repliesTo(nc, `${API}STREAM.NAMES`, {}, { quietMs: 300 });
      assert.equal(names.length, 1);
      assert.deepEqual(names[0].streams, ['R1', 'R3']);
      const list = await repliesTo(nc, `${API}STREAM.LIST`, {}, { quietMs: 300 });
      assert.equal(list.length, 1);
      assert.equal(list[0].total, 2);
      assert.deepEqual((list[0].streams as Array<{ config: { name: string } }>).map((s) => s.config.name).sort(), ['R1', 'R3']);
      assert.equal(list[0].missing, undefined);
      const acct = await repliesTo(nc, `${API}INFO`, undefined, { quietMs: 300 });
      assert.equal(acct.length, 1);
      assert.equal(acct[0].streams, 2);
      const unknown = await repliesTo(nc, `${API}STREAM.INFO.NOPE`, undefined, { quietMs: 700 });
      assert.equal(unknown.length, 1);
      assert.equal((unknown[0].error as { err_code: number }).err_code, 10059);
    }
  });

  it('takes publishes from every node; creates a consumer and answers its info from any node', async () => {
    let seq = 0;
    for (const n of cluster.nodes) {
      const nc = await clientOn(n.name);
      const js = jetstream(nc);
      const ack = await js.publish('r3.x', `from ${n.name}`);
      assert.equal(ack.stream, 'R3');
      assert.equal(ack.seq, ++seq);
    }
    const nc = await clientOn(cluster.nodes[1].name);
    const jsm = await jetstreamManager(nc);
    const ci = await jsm.consumers.add('R3', { durable_name: 'D', ack_policy: 'explicit' });
    assert.equal(ci.name, 'D');
    assert.ok(ci.cluster?.leader !== undefined);
    for (const n of cluster.nodes) {
      const other = await clientOn(n.name);
      const info = await repliesTo(other, `${API}CONSUMER.INFO.R3.D`, undefined, { quietMs: 300 });
      assert.equal(info.length, 1, `${n.name}: ${JSON.stringify(info)}`);
      assert.equal(info[0].num_pending, 3);
    }
  });

  it('serves a fetch from any node', async () => {
    const got: string[] = [];
    for (const n of cluster.nodes) {
      const c = await jetstream(await clientOn(n.name)).consumers.get('R3', 'D');
      for await (const m of await c.fetch({ max_messages: 1, expires: 5000 })) {
        got.push(m.string());
        await m.ackAck();
      }
    }
    assert.deepEqual(got, cluster.nodes.map((n) => `from ${n.name}`));
  });

  it('answers consumer NAMES, LIST, an idempotent create, a conflicting create and a delete once', async () => {
    const nc = await clientOn(cluster.nodes[2].name);
    const body = { stream_name: 'R3', config: { durable_name: 'E', ack_policy: 'explicit' } };
    const created = await repliesTo(nc, `${API}CONSUMER.CREATE.R3.E`, body, { quietMs: 500 });
    assert.equal(created.length, 1);
    assert.equal(created[0].name, 'E', JSON.stringify(created[0]));
    const again = await repliesTo(nc, `${API}CONSUMER.CREATE.R3.E`, body, { quietMs: 500 });
    assert.equal(again.length, 1);
    assert.equal(again[0].name, 'E', JSON.stringify(again[0]));
    const conflict = await repliesTo(nc, `${API}CONSUMER.CREATE.R3.E`, { ...body, action: 'create', config: { ...body.config, description: 'other' } }, { quietMs: 500 });
    assert.deepEqual(conflict.map((r) => (r.error as { err_code: number }).err_code), [10148]);
    const names = await repliesTo(nc, `${API}CONSUMER.NAMES.R3`, {}, { quietMs: 300 });
    assert.deepEqual(names.map((r) => r.consumers), [['D', 'E']]);
    const list = await repliesTo(nc, `${API}CONSUMER.LIST.R3`, {}, { quietMs: 300 });
    assert.equal(list.length, 1);
    assert.deepEqual((list[0].consumers as Array<{ name: string }>).map((c) => c.name), ['D', 'E']);
    const deleted = await repliesTo(nc, `${API}CONSUMER.DELETE.R3.E`, undefined, { quietMs: 500 });
    assert.deepEqual(deleted, [{ type: 'io.nats.jetstream.api.v1.consumer_delete_response', success: true }]);
    const gone = await repliesTo(nc, `${API}CONSUMER.INFO.R3.E`, undefined, { quietMs: 300 });
    assert.deepEqual(gone.map((r) => (r.error as { err_code: number }).err_code), [10014]);
  });

  it('steps a stream leader down: one success, then another leader', async () => {
    const nc = await clientOn(cluster.nodes[0].name);
    const before = (await repliesTo(nc, `${API}STREAM.INFO.R3`, undefined, { quietMs: 300 }))[0].cluster as { leader: string };
    const res = await repliesTo(nc, `${API}STREAM.LEADER.STEPDOWN.R3`, undefined, { quietMs: 500 });
    assert.equal(res.length, 1);
    assert.equal(res[0].success, true, JSON.stringify(res[0]));
    await waitUntil(async () => {
      const now = await repliesTo(nc, `${API}STREAM.INFO.R3`, undefined, { quietMs: 0, timeoutMs: 2000 });
      const leader = (now[0]?.cluster as { leader?: string } | undefined)?.leader;
      return leader !== undefined && leader !== before.leader;
    }, 20_000, 'a new leader for R3', 200);
  });

  it('/jsz shows meta_cluster and the stream groups; /healthz is ok on every node', async () => {
    for (const n of cluster.nodes) {
      const base = n.srv.server.monitorURLs[0];
      const jsz = await (await fetch(`${base}/jsz?streams=1&raft=1`)).json() as Record<string, unknown>;
      const mc = jsz.meta_cluster as Record<string, unknown>;
      assert.equal(mc.name, 'c');
      assert.ok(cluster.names.includes(mc.leader as string));
      assert.equal(mc.cluster_size, 3);
      const details = (jsz.account_details as Array<{ stream_detail: Array<Record<string, unknown>> }>)[0].stream_detail;
      const r3 = details.find((d) => d.name === 'R3')!;
      assert.match(r3.stream_raft_group as string, /^S-R3F-/);
      const h = await fetch(`${base}/healthz`);
      assert.equal(h.status, 200, await h.text());
    }
  });

  it('scales a stream from R1 to R3 and back with an update, keeping its messages', async () => {
    const nc = await clientOn(cluster.nodes[0].name);
    const created = await repliesTo(nc, `${API}STREAM.CREATE.SC`, { name: 'SC', subjects: ['sc'], num_replicas: 1 });
    assert.equal(created[0].error, undefined, JSON.stringify(created[0]));
    await jetstream(nc).publish('sc', 'kept');
    const up = await repliesTo(nc, `${API}STREAM.UPDATE.SC`, { name: 'SC', subjects: ['sc'], num_replicas: 3 }, { quietMs: 500 });
    assert.equal(up.length, 1);
    assert.equal(up[0].error, undefined, JSON.stringify(up[0]));
    assert.equal((up[0].config as { num_replicas: number }).num_replicas, 3);
    for (const n of cluster.nodes) {
      await waitUntil(() => (metaOf(n).streamReplica('$G', 'SC')?.raft.peers().length ?? 0) === 3, 20_000, `SC with three members on ${n.name}`, 50);
    }
    await waitUntil(async () => {
      const info = await repliesTo(nc, `${API}STREAM.INFO.SC`, undefined, { quietMs: 0, timeoutMs: 2000 });
      const c = info[0]?.cluster as { replicas?: Array<{ current: boolean }> } | undefined;
      return (c?.replicas ?? []).length === 2 && (info[0].state as { messages: number }).messages === 1;
    }, 20_000, 'SC reported with three replicas', 200);
    const down = await repliesTo(nc, `${API}STREAM.UPDATE.SC`, { name: 'SC', subjects: ['sc'], num_replicas: 1 }, { quietMs: 500 });
    assert.equal(down[0].error, undefined, JSON.stringify(down[0]));
    await waitUntil(() => cluster.nodes.filter((n) => metaOf(n).streamReplica('$G', 'SC') !== null).length === 1, 20_000, 'SC on one server again', 50);
    const info = await repliesTo(nc, `${API}STREAM.INFO.SC`, undefined, { quietMs: 300 });
    assert.equal((info[0].state as { messages: number }).messages, 1);
  });

  it('deletes a stream with one answer, everywhere', async () => {
    const nc = await clientOn(cluster.nodes[2].name);
    const res = await repliesTo(nc, `${API}STREAM.DELETE.R1`, undefined, { quietMs: 500 });
    assert.equal(res.length, 1);
    assert.equal(res[0].success, true, JSON.stringify(res[0]));
    for (const n of cluster.nodes) assert.equal(metaOf(n).stream('$G', 'R1'), null);
  });
});
