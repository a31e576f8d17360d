/**
 * Interest and workqueue retention through real consumers: a message goes
 * once every consumer that wants it has acknowledged it; limits retention
 * keeps everything.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AckPolicy, type JetStreamClient, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import { jetStreamSuite } from '../helpers/jetstream.js';

const mem = StorageType.Memory;

async function fetchAndAck(js: JetStreamClient, stream: string, consumer: string, n: number): Promise<number[]> {
  const c = await js.consumers.get(stream, consumer);
  const seqs: number[] = [];
  const iter = await c.fetch({ max_messages: n, expires: 2000 });
  for await (const m of iter) {
    seqs.push(m.seq);
    await m.ackAck();
  }
  return seqs;
}

describe('interest and workqueue retention', () => {
  const t = jetStreamSuite();

  it('workqueue: an acknowledged message is gone', async () => {
    await t.jsm.streams.add({ name: 'WQ', subjects: ['wq.>'], storage: mem, retention: RetentionPolicy.Workqueue });
    await t.jsm.consumers.add('WQ', { durable_name: 'worker', ack_policy: AckPolicy.Explicit });
    for (let i = 0; i < 4; i++) await t.js.publish('wq.job', String(i));
    assert.equal((await t.jsm.streams.info('WQ')).state.messages, 4);
    assert.deepEqual(await fetchAndAck(t.js, 'WQ', 'worker', 3), [1, 2, 3]);
    const si = await t.jsm.streams.info('WQ');
    assert.equal(si.state.messages, 1);
    assert.equal(si.state.first_seq, 4);
  });

  it('interest: a message stays until every interested consumer acknowledged it', async () => {
    await t.jsm.streams.add({ name: 'IN', subjects: ['in.>'], storage: mem, retention: RetentionPolicy.Interest });
    await t.jsm.consumers.add('IN', { durable_name: 'a', ack_policy: AckPolicy.Explicit });
    await t.jsm.consumers.add('IN', { durable_name: 'b', ack_policy: AckPolicy.Explicit, filter_subject: 'in.b' });
    await t.js.publish('in.a', 'only a wants this');
    await t.js.publish('in.b', 'both want this');
    assert.equal((await t.jsm.streams.info('IN')).state.messages, 2);
    assert.deepEqual(await fetchAndAck(t.js, 'IN', 'a', 2), [1, 2]);
    let si = await t.jsm.streams.info('IN');
    assert.equal(si.state.messages, 1, 'in.b waits for consumer b');
    assert.deepEqual(await fetchAndAck(t.js, 'IN', 'b', 1), [2]);
    si = await t.jsm.streams.info('IN');
    assert.equal(si.state.messages, 0);
  });

  it('limits: acknowledged messages stay', async () => {
    await t.jsm.streams.add({ name: 'LIM', subjects: ['lim'], storage: mem });
    await t.jsm.consumers.add('LIM', { durable_name: 'c', ack_policy: AckPolicy.Explicit });
    await t.js.publish('lim', 'x');
    assert.deepEqual(await fetchAndAck(t.js, 'LIM', 'c', 1), [1]);
    assert.equal((await t.jsm.streams.info('LIM')).state.messages, 1);
  });
});
