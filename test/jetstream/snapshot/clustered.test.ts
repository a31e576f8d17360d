/**
 * Snapshots in a JetStream cluster: an R3 stream's leader answers (exactly
 * once, whichever node the client is on), with the consumer's agreed
 * position, and the backup restores on a single server; restores into the
 * cluster are refused with a clear error.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { JsCluster, repliesTo } from '../cluster/api-helpers.js';
import { connectJetStream, startJsNatter, type JsServer } from '../../helpers/jetstream.js';
import { apiError } from '../helpers.js';
import { backup, restore } from './backup-client.js';

describe('snapshots of replicated streams', () => {
  const cluster = new JsCluster(['s1', 's2', 's3']);
  let single: JsServer;

  before(async () => {
    await cluster.start();
    single = await startJsNatter();
  });

  after(async () => {
    await cluster.stop();
    await single.stop();
  });

  it('snapshots an R3 stream from its leader and restores it on a single server', async () => {
    const nc = await cluster.connect(cluster.nodes[0]);
    const jsm = await jetstreamManager(nc, { timeout: 10_000 });
    const js = jetstream(nc, { timeout: 5000 });
    await jsm.streams.add({ name: 'R3', subjects: ['r3.>'], num_replicas: 3 });
    for (let i = 1; i <= 40; i++) await js.publish(`r3.${i % 4}`, `m${i}`);
    await jsm.consumers.add('R3', { durable_name: 'c', ack_policy: AckPolicy.Explicit, num_replicas: 3 });
    const iter = await (await js.consumers.get('R3', 'c')).fetch({ max_messages: 15, expires: 3000 });
    let n = 0;
    for await (const m of iter) if (++n <= 10) await m.ackAck();
    const before = await jsm.consumers.info('R3', 'c');

    // One answer, from the stream's leader, wherever the request comes in.
    const answers = await repliesTo(nc, '$JS.API.STREAM.SNAPSHOT.R3', { deliver_subject: 'ignored.snapshot' }, { quietMs: 500 });
    assert.equal(answers.length, 1);
    assert.equal(answers[0].error, undefined);

    for (const node of cluster.nodes) {
      const nodeNc = await cluster.connect(node);
      const bk = await backup(nodeNc, 'R3');
      assert.equal((bk.meta.state as Record<string, unknown>).messages, 40);
      const target = await connectJetStream(single.srv.url);
      try {
        const res = await restore(target.nc, 'R3', { ...bk.meta, config: { ...(bk.meta.config as Record<string, unknown>), num_replicas: 1 } }, bk.data);
        assert.equal(res.error, undefined, JSON.stringify(res.error));
        assert.equal((res.state as Record<string, unknown>).messages, 40);
        const c = await target.jsm.consumers.info('R3', 'c');
        assert.equal(c.delivered.stream_seq, before.delivered.stream_seq);
        assert.equal(c.ack_floor.stream_seq, before.ack_floor.stream_seq);
        assert.equal(c.num_ack_pending, before.num_ack_pending);
        await target.jsm.streams.delete('R3');
      } finally {
        await target.nc.close();
      }
    }
  });

  it('refuses restores into the cluster', async () => {
    const nc = await cluster.connect(cluster.nodes[1]);
    const answers = await repliesTo(nc, '$JS.API.STREAM.RESTORE.NEW', { config: { name: 'NEW', subjects: ['new'], num_replicas: 3 } }, { quietMs: 500 });
    assert.equal(answers.length, 1);
    assert.deepEqual(apiError(answers[0]), {
      code: 500, err_code: 10062, description: 'restore failed: restoring a stream in a JetStream cluster is not supported by this server',
    });
  });
});
