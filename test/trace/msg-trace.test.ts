/**
 * Message tracing on one server (ADR-41): an official client publishes
 * with Nats-Trace-Dest and a subscriber of the destination receives the
 * trace event, in nats-server 2.11's JSON (field names and kinds as its
 * msgtrace.go marshals them); Nats-Trace-Only reports without
 * delivering; permissions, echo, account boundaries (allow_trace),
 * JetStream and account `msg_trace` with W3C traceparent.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { connect, headers, type Msg, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import { S2Reader } from '../../src/jetstream/snapshot/s2-stream.js';
import { startNatter, type TestNatter } from '../helpers/natter.js';
import { sleep } from '../helpers/wait.js';
import { nextEvent, traceListener, type TraceEvent } from './trace-helpers.js';

function traceHeaders(dest: string, only = false): MsgHdrs {
  const h = headers();
  h.set('Nats-Trace-Dest', dest);
  if (only) h.set('Nats-Trace-Only', 'true');
  return h;
}

describe('message tracing, one server', () => {
  let srv: TestNatter;
  let nc: NatsConnection;
  let sub: NatsConnection;

  before(async () => {
    srv = await startNatter({ server_name: 'tracer' });
    nc = await connect({ servers: srv.url, name: 'publisher' });
    sub = await connect({ servers: srv.url, name: 'subscriber' });
  });

  after(async () => {
    await nc?.close();
    await sub?.close();
    await srv?.close();
  });

  it('sends one event with the ingress and each client egress, in nats-server field names', async () => {
    const got: string[] = [];
    sub.subscribe('orders.new', { callback: (_e, m) => { got.push(m.string()); } });
    sub.subscribe('orders.*', { queue: 'workers', callback: (_e, m) => { got.push(`q:${m.string()}`); } });
    await sub.flush();
    const events = traceListener(nc, 'trace.1');
    await nc.flush();
    nc.publish('orders.new', 'hello', { headers: traceHeaders('trace.1') });
    const ev = await nextEvent(events);
    await sub.flush();
    assert.deepEqual(got.sort(), ['hello', 'q:hello']);
    assert.deepEqual(Object.keys(ev), ['server', 'request', 'events']);
    assert.deepEqual(Object.keys(ev.server), ['name', 'host', 'id', 'ver', 'jetstream', 'flags', 'seq', 'time']);
    assert.equal(ev.server.name, 'tracer');
    assert.equal(ev.server.id, srv.server.id);
    assert.deepEqual(ev.request.header, { 'Nats-Trace-Dest': ['trace.1'] });
    assert.equal(ev.request.msgsize, 'NATS/1.0\r\nNats-Trace-Dest: trace.1\r\n\r\n'.length + 5);
    const [ingress, ...egress] = ev.events;
    assert.deepEqual(Object.keys(ingress), ['type', 'ts', 'kind', 'cid', 'name', 'acc', 'subj']);
    assert.equal(ingress.type, 'in');
    assert.equal(ingress.kind, 0);
    assert.equal(ingress.name, 'publisher');
    assert.equal(ingress.acc, '$G');
    assert.equal(ingress.subj, 'orders.new');
    assert.match(ingress.ts as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/);
    assert.equal(egress.length, 2);
    const plain = egress.find((e) => e.sub === 'orders.new');
    const queued = egress.find((e) => e.queue === 'workers');
    assert.deepEqual(Object.keys(plain ?? {}), ['type', 'ts', 'kind', 'cid', 'name', 'sub']);
    assert.equal(plain?.kind, 0);
    assert.equal(plain?.name, 'subscriber');
    assert.equal(queued?.sub, 'orders.*');
  });

  it('Nats-Trace-Only reports where the message would go without delivering it', async () => {
    const got: string[] = [];
    sub.subscribe('only.x', { callback: (_e, m) => { got.push(m.string()); } });
    await sub.flush();
    const events = traceListener(nc, 'trace.2');
    await nc.flush();
    nc.publish('only.x', 'not for you', { headers: traceHeaders('trace.2', true) });
    const ev = await nextEvent(events);
    await sub.flush();
    await sleep(50);
    assert.deepEqual(got, []);
    assert.deepEqual(ev.events.map((e) => e.type), ['in', 'eg']);
    assert.equal(ev.events[1].sub, 'only.x');
    assert.equal(ev.events[1].error, undefined);
    assert.deepEqual(ev.request.header, { 'Nats-Trace-Dest': ['trace.2'], 'Nats-Trace-Only': ['true'] });
  });

  it('leaves messages without the trace header alone', async () => {
    const got: string[] = [];
    sub.subscribe('plain.x', { callback: (_e, m) => { got.push(`${m.string()}|${m.headers?.get('X-Other') ?? ''}`); } });
    await sub.flush();
    const events = traceListener(nc, 'trace.>');
    await nc.flush();
    const h = headers();
    h.set('X-Other', 'Nats-Trace-Dest-ish');
    nc.publish('plain.x', 'a');
    nc.publish('plain.x', 'b', { headers: h });
    await nc.flush();
    await sub.flush();
    await sleep(50);
    assert.deepEqual(got, ['a|', 'b|Nats-Trace-Dest-ish']);
    assert.equal(events.length, 0);
  });

  it('reports an egress the publisher does not echo to itself', async () => {
    const noEcho = await connect({ servers: srv.url, name: 'loner', noEcho: true });
    try {
      noEcho.subscribe('echo.x', { callback: () => assert.fail('no echo') });
      const events = traceListener(nc, 'trace.3');
      await noEcho.flush();
      await nc.flush();
      noEcho.publish('echo.x', 'me', { headers: traceHeaders('trace.3') });
      const ev = await nextEvent(events);
      assert.equal(ev.events[1].type, 'eg');
      assert.equal(ev.events[1].error, 'Not delivered because of no echo');
    } finally {
      await noEcho.close();
    }
  });

  it('compresses the event as Accept-Encoding asks (gzip, snappy), and marks an unknown one identity', async () => {
    const raw: Msg[] = [];
    nc.subscribe('enc-trace', { callback: (_e, m) => { raw.push(m); } });
    await nc.flush();
    for (const enc of ['gzip', 'snappy', 'br']) {
      const h = traceHeaders('enc-trace');
      h.set('Accept-Encoding', enc);
      nc.publish('enc.x', enc, { headers: h });
    }
    await nc.flush();
    await sleep(50);
    assert.equal(raw.length, 3);
    assert.deepEqual(raw.map((m) => m.headers?.get('Content-Encoding')), ['gzip', 'snappy', 'identity']);
    const reader = new S2Reader();
    const unsnapped = Buffer.concat(reader.push(Buffer.from(raw[1].data)));
    reader.end();
    for (const body of [gunzipSync(raw[0].data), unsnapped, Buffer.from(raw[2].data)]) {
      const ev = JSON.parse(body.toString()) as TraceEvent;
      assert.equal(ev.events[0].subj, 'enc.x');
    }
  });
});

export type { TraceEvent };
