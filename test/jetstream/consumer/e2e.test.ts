/**
 * Consumers end to end through the JetStream engine with @nats-io/jetstream,
 * run against the reference nats-server and Natter with the same
 * expectations: streams made by the stream API, ordered consumers,
 * workqueue and interest retention, consumer updates, max_ack_pending.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { AckPolicy, RetentionPolicy, StorageType, jetstream, jetstreamManager, type JetStreamApiError, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { connect as connectV2, consumerOpts } from 'nats';
import { JETSTREAM_TARGETS, type JetStreamTarget } from '../../helpers/jetstream-targets.js';

const MS = 1_000_000;

for (const starter of JETSTREAM_TARGETS) {
  describe(`consumers end to end on ${starter.name}`, () => {
    let target: JetStreamTarget;
    let nc: NatsConnection;
    let js: JetStreamClient;
    let jsm: JetStreamManager;

    before(async () => {
      target = await starter.start();
      nc = await connect({ servers: target.url });
      js = jetstream(nc);
      jsm = await jetstreamManager(nc);
    });

    after(async () => {
      await nc?.close();
      await target?.stop();
    });

    it('ordered consumers read the whole stream in order, filtered or not', async () => {
      await jsm.streams.add({ name: 'ORD', subjects: ['ord.>'], storage: StorageType.Memory });
      for (let i = 1; i <= 60; i++) await js.publish(`ord.${i % 3}`, `v${i}`);
      const oc = await js.consumers.get('ORD');
      const seqs: number[] = [];
      for await (const m of await oc.consume()) {
        seqs.push(m.seq);
        if (m.info.pending === 0) break;
      }
      assert.deepEqual(seqs, Array.from({ length: 60 }, (_, i) => i + 1));
      const filtered = await js.consumers.get('ORD', { filter_subjects: 'ord.1' });
      const some: string[] = [];
      for await (const m of await filtered.fetch({ max_messages: 3, expires: 2000 })) some.push(m.string());
      assert.deepEqual(some, ['v1', 'v4', 'v7']);
    });

    it('the v2 client ordered push consumer (flow control, heartbeats, mem_storage) reads in order', async () => {
      const nc2 = await connectV2({ servers: target.url });
      try {
        const opts = consumerOpts();
        opts.orderedConsumer();
        const sub = await nc2.jetstream().subscribe('ord.>', opts);
        const seqs: number[] = [];
        for await (const m of sub) {
          seqs.push(m.seq);
          if (m.info.pending === 0) break;
        }
        assert.deepEqual(seqs, Array.from({ length: 60 }, (_, i) => i + 1));
        const ci = await sub.consumerInfo();
        assert.equal(ci.config.mem_storage, true);
        assert.equal(ci.config.flow_control, true);
      } finally {
        await nc2.close();
      }
    });

    it('workqueue: acked messages leave the stream; overlapping filters are refused', async () => {
      await jsm.streams.add({ name: 'WQ', subjects: ['wq.>'], retention: RetentionPolicy.Workqueue, storage: StorageType.Memory });
      for (let i = 0; i < 10; i++) await js.publish(`wq.${i % 2 === 0 ? 'even' : 'odd'}`, `${i}`);
      await jsm.consumers.add('WQ', { durable_name: 'even', filter_subject: 'wq.even', ack_policy: AckPolicy.Explicit });
      await assert.rejects(jsm.consumers.add('WQ', { durable_name: 'all', ack_policy: AckPolicy.Explicit }), (e: JetStreamApiError) => {
        assert.equal(e.code, 10099);
        return true;
      });
      await assert.rejects(jsm.consumers.add('WQ', { durable_name: 'dup', filter_subject: 'wq.*', ack_policy: AckPolicy.Explicit }), (e: JetStreamApiError) => {
        assert.equal(e.code, 10100);
        return true;
      });
      await assert.rejects(jsm.consumers.add('WQ', { durable_name: 'none', filter_subject: 'wq.odd', ack_policy: AckPolicy.None }), (e: JetStreamApiError) => {
        assert.equal(e.code, 10084);
        return true;
      });
      const c = await js.consumers.get('WQ', 'even');
      let n = 0;
      for await (const m of await c.fetch({ max_messages: 5, expires: 2000 })) {
        await m.ackAck();
        n++;
      }
      assert.equal(n, 5);
      const si = await jsm.streams.info('WQ');
      assert.equal(si.state.messages, 5);
      assert.equal(si.state.consumer_count, 1);
    });

    it('interest retention keeps messages until every interested consumer acked', async () => {
      await jsm.streams.add({ name: 'INT', subjects: ['int.>'], retention: RetentionPolicy.Interest, storage: StorageType.Memory });
      await jsm.consumers.add('INT', { durable_name: 'a', ack_policy: AckPolicy.Explicit });
      await jsm.consumers.add('INT', { durable_name: 'b', ack_policy: AckPolicy.Explicit });
      await js.publish('int.x', '1');
      await js.publish('int.x', '2');
      const a = await js.consumers.get('INT', 'a');
      for await (const m of await a.fetch({ max_messages: 2, expires: 2000 })) await m.ackAck();
      assert.equal((await jsm.streams.info('INT')).state.messages, 2);
      const b = await js.consumers.get('INT', 'b');
      for await (const m of await b.fetch({ max_messages: 2, expires: 2000 })) await m.ackAck();
      assert.equal((await jsm.streams.info('INT')).state.messages, 0);
      // What only a deleted consumer still held goes with it.
      await js.publish('int.x', '3');
      for await (const m of await a.fetch({ max_messages: 1, expires: 2000 })) await m.ackAck();
      assert.equal((await jsm.streams.info('INT')).state.messages, 1);
      await jsm.consumers.delete('INT', 'b');
      assert.equal((await jsm.streams.info('INT')).state.messages, 0);
    });

    it('updates change mutable fields and refuse the others', async () => {
      await jsm.streams.add({ name: 'UPD', subjects: ['upd.>'], storage: StorageType.Memory });
      await jsm.consumers.add('UPD', { durable_name: 'u', ack_policy: AckPolicy.Explicit });
      const up = await jsm.consumers.update('UPD', 'u', { description: 'now described', max_ack_pending: 7, ack_wait: 5000 * MS });
      assert.equal(up.config.description, 'now described');
      assert.equal(up.config.max_ack_pending, 7);
      assert.equal(up.config.ack_wait, 5000 * MS);
      // Without an action (create or update), a changed deliver policy is refused as an update.
      const r = await nc.request('$JS.API.CONSUMER.DURABLE.CREATE.UPD.u', JSON.stringify({ stream_name: 'UPD', config: { durable_name: 'u', ack_policy: 'explicit', deliver_policy: 'new' } }));
      assert.deepEqual(r.json<{ error: unknown }>().error, { code: 500, err_code: 10012, description: 'deliver policy can not be updated' });
    });

    it('max_ack_pending holds back deliveries until acks come', async () => {
      await jsm.streams.add({ name: 'MAP', subjects: ['map.>'], storage: StorageType.Memory });
      for (let i = 0; i < 10; i++) await js.publish('map.x', `${i}`);
      await jsm.consumers.add('MAP', { durable_name: 'm', ack_policy: AckPolicy.Explicit, max_ack_pending: 3 });
      const c = await js.consumers.get('MAP', 'm');
      const first: number[] = [];
      const held = [];
      for await (const m of await c.fetch({ max_messages: 10, expires: 1500 })) {
        first.push(m.seq);
        held.push(m);
      }
      assert.deepEqual(first, [1, 2, 3]);
      for (const m of held) await m.ackAck();
      const second: number[] = [];
      for await (const m of await c.fetch({ max_messages: 3, expires: 2000 })) {
        second.push(m.seq);
        m.ack();
      }
      assert.deepEqual(second, [4, 5, 6]);
      const info = await c.info();
      assert.equal(info.num_pending, 4);
    });
  });
}
