/**
 * Consumer pause (nats-server 2.11) with @nats-io/jetstream v3: created
 * paused with pause_until, paused and resumed with consumers.pause() and
 * resume(), `paused`/`pause_remaining` in consumer info, no deliveries while
 * paused, delivery again at the set time, and the pause advisories.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AckPolicy, StorageType } from '@nats-io/jetstream';
import { jetStreamSuite } from '../helpers/jetstream.js';
import { waitUntil } from '../helpers/wait.js';

describe('consumer pause', () => {
  const s = jetStreamSuite();

  it('pauses and resumes a pull consumer, with info and advisories', async () => {
    await s.jsm.streams.add({ name: 'P', subjects: ['p.>'], storage: StorageType.Memory });
    await s.jsm.consumers.add('P', { durable_name: 'work', ack_policy: AckPolicy.Explicit });
    const advisories: Array<Record<string, unknown>> = [];
    const sub = s.nc.subscribe('$JS.EVENT.ADVISORY.CONSUMER.PAUSE.P.work', {
      callback: (_e, m) => {
        advisories.push(m.json());
      },
    });
    await s.nc.flush();

    const until = new Date(Date.now() + 60_000);
    // The client's declared type leaves pause_remaining out; the reply carries it.
    const r = (await s.jsm.consumers.pause('P', 'work', until)) as { paused: boolean; pause_remaining?: number };
    assert.equal(r.paused, true);
    assert.ok((r.pause_remaining ?? 0) > 50_000 * 1_000_000, String(r.pause_remaining));
    const info = await s.jsm.consumers.info('P', 'work');
    assert.equal(info.paused, true);
    assert.ok(info.pause_remaining > 0);
    assert.equal(info.config.pause_until, until.toISOString());

    await s.js.publish('p.a', '1');
    const consumer = await s.js.consumers.get('P', 'work');
    const none = await consumer.fetch({ max_messages: 1, expires: 1000 });
    const got: string[] = [];
    for await (const m of none) got.push(m.string());
    assert.deepEqual(got, [], 'nothing is delivered while paused');

    const resumed = await s.jsm.consumers.resume('P', 'work');
    assert.equal(resumed.paused, false);
    assert.equal((await s.jsm.consumers.info('P', 'work')).paused, undefined);
    const m = await consumer.next({ expires: 5000 });
    assert.equal(m?.string(), '1');
    m?.ack();

    await waitUntil(() => advisories.length >= 2, 5000, 'the pause and resume advisories');
    assert.equal(advisories[0].type, 'io.nats.jetstream.advisory.v1.consumer_pause');
    assert.equal(advisories[0].paused, true);
    assert.equal(advisories[0].stream, 'P');
    assert.equal(advisories[0].consumer, 'work');
    assert.equal(advisories[1].paused, false);
    sub.unsubscribe();
  });

  it('is created paused and resumes by itself at pause_until', async () => {
    await s.jsm.streams.add({ name: 'Q', subjects: ['q.>'], storage: StorageType.Memory });
    await s.js.publish('q.a', 'x');
    const until = new Date(Date.now() + 1500);
    const ci = await s.jsm.consumers.add('Q', { durable_name: 'later', ack_policy: AckPolicy.Explicit, pause_until: until.toISOString() });
    assert.equal(ci.paused, true);
    const consumer = await s.js.consumers.get('Q', 'later');
    const m = await consumer.next({ expires: 10_000 });
    assert.equal(m?.string(), 'x');
    assert.ok(Date.now() >= until.getTime(), 'delivered only once the pause was over');
    m?.ack();
  });

  it('holds a push consumer\'s deliveries until pause_until', async () => {
    await s.jsm.streams.add({ name: 'PU', subjects: ['pu.>'], storage: StorageType.Memory });
    await s.js.publish('pu.a', 'pushed');
    const inbox = 'deliver.pu';
    const got: number[] = [];
    const sub = s.nc.subscribe(inbox, {
      callback: (_e, m) => {
        if (m.data.length > 0) got.push(Date.now());
      },
    });
    await s.nc.flush();
    const until = Date.now() + 1200;
    await s.jsm.consumers.add('PU', { durable_name: 'pushed', deliver_subject: inbox, ack_policy: AckPolicy.None, pause_until: new Date(until).toISOString() });
    await waitUntil(() => got.length === 1, 10_000, 'the delivery after the pause');
    assert.ok(got[0] >= until, `delivered ${until - got[0]} ms before the pause ended`);
    sub.unsubscribe();
  });

  it('answers PAUSE for a missing consumer', async () => {
    await assert.rejects(s.jsm.consumers.pause('Q', 'nobody', new Date(Date.now() + 1000)), /consumer not found/);
  });
});
