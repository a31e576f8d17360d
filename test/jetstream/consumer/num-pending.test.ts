/**
 * num_pending is counted as messages come and go (nats-server's way), never
 * by scanning the stream when a consumer's info is asked for: after limits
 * discard, deletes and purges it must still equal a fresh count, which a new
 * consumer starting at the same place makes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AckPolicy, DeliverPolicy, StorageType } from '@nats-io/jetstream';
import { connectJetStream, startJsNatter, type JsClients, type JsServer } from '../../helpers/jetstream.js';

describe('consumer num_pending', () => {
  let server: JsServer;
  let c: JsClients;

  before(async () => {
    server = await startJsNatter();
    c = await connectJetStream(server.srv.url);
  });

  after(async () => {
    await c?.nc.close();
    await server?.stop();
  });

  async function publish(from: number, to: number): Promise<void> {
    for (let i = from; i < to; i++) c.nc.publish(`np.${i % 3 === 0 ? 'a' : 'b'}.${i % 7}`, 'x');
    await c.nc.flush();
  }

  /** num_pending of a new consumer with the same filter starting right after `delivered`: counted afresh. */
  async function freshCount(filter: string, delivered: number): Promise<number> {
    const ci = await c.jsm.consumers.add('NP', {
      ack_policy: AckPolicy.None, filter_subject: filter, deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: delivered + 1,
    });
    await c.jsm.consumers.delete('NP', ci.name);
    return ci.num_pending;
  }

  it('stays exact through limits, deletes and purges on a stream larger than a recount would be', async () => {
    await c.jsm.streams.add({ name: 'NP', subjects: ['np.>'], max_msgs: 20_000, storage: StorageType.Memory });
    await publish(0, 12_000);
    await c.jsm.consumers.add('NP', { durable_name: 'D', ack_policy: AckPolicy.None, filter_subject: 'np.a.>' });
    const consumer = await c.js.consumers.get('NP', 'D');
    let got = 0;
    for await (const m of await consumer.fetch({ max_messages: 500, expires: 5000 })) {
      got++;
      if (got === 500 || m.info.pending === 0) break;
    }
    const check = async (what: string): Promise<void> => {
      const info = await c.jsm.consumers.info('NP', 'D');
      assert.equal(info.num_pending, await freshCount('np.a.>', info.delivered.stream_seq), what);
    };
    await check('after a fetch');
    // Over max_msgs: old messages go, some of them still ahead of the consumer.
    await publish(12_000, 30_000);
    await check('after limits discarded old messages');
    const info = await c.jsm.consumers.info('NP', 'D');
    for (let seq = info.delivered.stream_seq + 3; seq < info.delivered.stream_seq + 300; seq += 3) await c.jsm.streams.deleteMessage('NP', seq);
    await check('after deletes ahead of the consumer');
    await c.jsm.streams.purge('NP', { filter: 'np.a.1', keep: 5 });
    await check('after a subject purge');
    await c.jsm.streams.purge('NP', { seq: 25_000 });
    await check('after a purge up to a sequence');
    await c.jsm.streams.purge('NP');
    assert.equal((await c.jsm.consumers.info('NP', 'D')).num_pending, 0);
  });
});
