/**
 * Message tracing across a two-node Natter cluster (ADR-41): each server
 * the message passes through publishes its own trace event; the origin
 * counts its `hops` and names the route egress with its hop id, the next
 * server receives Nats-Trace-Hop and reports a route ingress; trace-only
 * crosses the route and is not delivered on the other side either.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect, headers, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import { sleep } from '../helpers/wait.js';
import { routeTo, startNode, waitForInterest, waitForMesh, type NatterNode } from '../cluster/helpers.js';
import { events, traceListener } from './trace-helpers.js';

function traceHeaders(dest: string, only = false): MsgHdrs {
  const h = headers();
  h.set('Nats-Trace-Dest', dest);
  if (only) h.set('Nats-Trace-Only', 'true');
  return h;
}

describe('message tracing across routes', () => {
  let a: NatterNode;
  let b: NatterNode;
  let ncA: NatsConnection;
  let ncB: NatsConnection;

  before(async () => {
    a = await startNode('a');
    b = await startNode('b', { clusterBlock: { routes: [routeTo(a.routePort)] } });
    await waitForMesh([a, b], [], 1);
    ncA = await connect({ servers: a.url, name: 'pub-a' });
    ncB = await connect({ servers: b.url, name: 'sub-b' });
  });

  after(async () => {
    await ncA?.close();
    await ncB?.close();
    await a?.close();
    await b?.close();
  });

  it('gets one event from each server, linked by the hop id', async () => {
    const got: string[] = [];
    ncB.subscribe('x.y', { callback: (_e, m) => { got.push(`${m.string()}|${m.headers?.get('Nats-Trace-Hop') ?? ''}`); } });
    const traces = traceListener(ncA, 'trace.cl');
    await ncB.flush();
    await ncA.flush();
    await waitForInterest(a, 'x.y', 1);
    await waitForInterest(b, 'trace.cl', 1);
    ncA.publish('x.y', 'hi', { headers: traceHeaders('trace.cl') });
    const evs = await events(traces, 2);
    const fromA = evs.find((e) => e.server.name === 'a');
    const fromB = evs.find((e) => e.server.name === 'b');
    assert.ok(fromA !== undefined && fromB !== undefined);
    assert.equal(fromA.server.cluster, 'c');
    assert.equal(fromA.hops, 1);
    assert.deepEqual(fromA.events.map((e) => e.type), ['in', 'eg']);
    assert.deepEqual(fromA.events[1], { ...fromA.events[1], kind: 1, name: 'b', hop: '1' });
    assert.deepEqual(Object.keys(fromA.events[1]), ['type', 'ts', 'kind', 'cid', 'name', 'hop']);
    assert.equal(fromB.hops, undefined);
    assert.deepEqual(fromB.request.header?.['Nats-Trace-Hop'], ['1']);
    assert.deepEqual(fromB.events.map((e) => e.type), ['in', 'eg']);
    assert.deepEqual(fromB.events[0], { ...fromB.events[0], kind: 1, name: 'a', acc: '$G', subj: 'x.y' });
    assert.deepEqual(fromB.events[1], { ...fromB.events[1], kind: 0, name: 'sub-b', sub: 'x.y' });
    await ncB.flush();
    assert.deepEqual(got, ['hi|1']);
  });

  it('carries trace-only across the route without delivering on either side', async () => {
    const got: string[] = [];
    ncB.subscribe('only.y', { callback: (_e, m) => { got.push(m.string()); } });
    const traces = traceListener(ncA, 'trace.cl2');
    await ncB.flush();
    await ncA.flush();
    await waitForInterest(a, 'only.y', 1);
    await waitForInterest(b, 'trace.cl2', 1);
    ncA.publish('only.y', 'hidden', { headers: traceHeaders('trace.cl2', true) });
    const evs = await events(traces, 2);
    await sleep(50);
    assert.deepEqual(got, []);
    const fromB = evs.find((e) => e.server.name === 'b');
    assert.deepEqual(fromB?.events.map((e) => e.type), ['in', 'eg']);
    assert.equal(fromB?.events[1].sub, 'only.y');
  });
});
