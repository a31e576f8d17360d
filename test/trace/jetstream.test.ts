/**
 * Message tracing into JetStream (ADR-41 `js` events): the stream that
 * took the message, its subject, `nointerest` for an interest stream
 * without consumers, the stream's error; trace-only is reported but not
 * stored, and the stored copy is not traced again when consumers read it.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { headers, type MsgHdrs } from '@nats-io/transport-node';
import { jetStreamSuite } from '../helpers/jetstream.js';
import { nextEvent, traceListener } from './trace-helpers.js';

function traceHeaders(dest: string, only = false): MsgHdrs {
  const h = headers();
  h.set('Nats-Trace-Dest', dest);
  if (only) h.set('Nats-Trace-Only', 'true');
  return h;
}

describe('message tracing into JetStream', () => {
  const t = jetStreamSuite();

  it('reports the stream that stored the message, and stores it with tracing switched off', async () => {
    await t.jsm.streams.add({ name: 'ORDERS', subjects: ['orders.>'] });
    const events = traceListener(t.nc, 'trace.js');
    await t.nc.flush();
    const ack = await t.js.publish('orders.1', 'one', { headers: traceHeaders('trace.js') });
    assert.equal(ack.seq, 1);
    const ev = await nextEvent(events);
    const js = ev.events.find((e) => e.type === 'js');
    assert.deepEqual(js, { ...js, stream: 'ORDERS', subject: 'orders.1' });
    assert.deepEqual(Object.keys(js ?? {}), ['type', 'ts', 'stream', 'subject']);
    const stored = await t.jsm.streams.getMessage('ORDERS', { seq: 1 });
    assert.equal(stored?.header.get('Nats-Trace-Dest'), 'trace disabled');
  });

  it('reports without storing a trace-only message', async () => {
    const events = traceListener(t.nc, 'trace.js2');
    await t.nc.flush();
    t.nc.publish('orders.2', 'two', { headers: traceHeaders('trace.js2', true) });
    const ev = await nextEvent(events);
    assert.deepEqual(ev.events.map((e) => e.type), ['in', 'js']);
    assert.equal(ev.events[1].subject, 'orders.2');
    const info = await t.jsm.streams.info('ORDERS');
    assert.equal(info.state.messages, 1);
  });

  it('says an interest stream had no interest, and reports the stream error', async () => {
    await t.jsm.streams.add({ name: 'INTEREST', subjects: ['int.>'], retention: 'interest' as never });
    const events = traceListener(t.nc, 'trace.js3');
    await t.nc.flush();
    t.nc.publish('int.x', 'x', { headers: traceHeaders('trace.js3', true) });
    const ev = await nextEvent(events);
    assert.equal(ev.events[1].nointerest, true);
    const h = traceHeaders('trace.js3');
    h.set('Nats-Expected-Last-Sequence', '42');
    await assert.rejects(t.js.publish('orders.3', 'three', { headers: h }));
    const ev2 = await nextEvent(events);
    assert.equal(ev2.events[1].error, 'wrong last sequence: 1 (10071)');
  });
});
