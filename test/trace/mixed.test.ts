/**
 * Message tracing beside nats-server 2.9.10, which predates it (route
 * protocol 2): Natter reports the route egress with nats-server's "remote
 * does not support message tracing" errors, passes the message on with
 * its headers untouched, and keeps a trace-only message from a server
 * that would deliver it.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect, headers, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import { sleep } from '../helpers/wait.js';
import { startNatsNode, startNode, waitForInterest, waitForMesh, routeTo, type NatsNode, type NatterNode } from '../cluster/helpers.js';
import { nextEvent, traceListener } from './trace-helpers.js';

function traceHeaders(dest: string, only = false): MsgHdrs {
  const h = headers();
  h.set('Nats-Trace-Dest', dest);
  if (only) h.set('Nats-Trace-Only', 'true');
  return h;
}

describe('message tracing with a nats-server 2.9.10 route', () => {
  let a: NatterNode;
  let n: NatsNode;
  let ncA: NatsConnection;
  let ncN: NatsConnection;

  before(async () => {
    a = await startNode('a');
    n = await startNatsNode('N', `name: c\nroutes: [${routeTo(a.routePort)}]`);
    await waitForMesh([a], [n], 1);
    ncA = await connect({ servers: a.url, name: 'pub-a' });
    ncN = await connect({ servers: n.url, name: 'sub-n' });
  });

  after(async () => {
    await ncA?.close();
    await ncN?.close();
    await a?.close();
    await n?.close();
  });

  it('delivers through the old server with the headers as sent, and says no event comes from there', async () => {
    const got: string[] = [];
    ncN.subscribe('m.x', { callback: (_e, m) => { got.push(`${m.string()}|${m.headers?.get('Nats-Trace-Dest')}|${m.headers?.has('Nats-Trace-Hop')}`); } });
    ncN.subscribe('m.only', { callback: (_e, m) => { got.push(`only:${m.string()}`); } });
    await ncN.flush();
    await waitForInterest(a, 'm.x', 1);
    await waitForInterest(a, 'm.only', 1);
    const traces = traceListener(ncA, 'trace.mx');
    await ncA.flush();
    ncA.publish('m.x', 'hi', { headers: traceHeaders('trace.mx') });
    const ev = await nextEvent(traces);
    assert.deepEqual(ev.events[1], {
      ...ev.events[1], kind: 1, name: 'N',
      error: 'Message delivered but remote does not support message tracing so no trace event generated from there',
    });
    assert.equal(ev.hops, undefined);
    ncA.publish('m.only', 'hidden', { headers: traceHeaders('trace.mx', true) });
    const ev2 = await nextEvent(traces);
    assert.equal(ev2.events[1].error, 'Not delivered because remote does not support message tracing');
    await ncN.flush();
    await sleep(50);
    assert.deepEqual(got, ['hi|trace.mx|false']);
  });
});
