/**
 * Message tracing toward a leaf node: the leaf connection is an egress of
 * kind 4 (nats-server's LEAF), reported once per message whatever number
 * of the leaf's subscriptions match. Natter's leaf connections do not
 * carry Nats-Trace-Hop, so the egress says what nats-server says of a
 * remote without tracing, and a trace-only message does not cross.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { headers, type MsgHdrs } from '@nats-io/transport-node';
import { closeAllNatter } from '../helpers/natter.js';
import { sleep } from '../helpers/wait.js';
import { collect, dial, leafPort, startLeafNatter, waitLeafInterest, waitLeafs } from '../leafnode/helpers.js';
import { events, traceListener } from './trace-helpers.js';

function traceHeaders(dest: string, only = false): MsgHdrs {
  const h = headers();
  h.set('Nats-Trace-Dest', dest);
  if (only) h.set('Nats-Trace-Only', 'true');
  return h;
}

after(() => closeAllNatter());

describe('message tracing toward a leaf node', () => {
  it('reports the leaf egress once, and keeps trace-only messages from crossing', async () => {
    const hub = await startLeafNatter({ port: -1 }, { server_name: 'hub' });
    const leaf = await startLeafNatter({ remotes: [{ url: `nats-leaf://127.0.0.1:${leafPort(hub.natter)}` }] }, { server_name: 'leaf' });
    await waitLeafs(hub.natter, 1);
    const a = await dial(hub.natter.url);
    const b = await dial(leaf.natter.url);
    try {
      const got = collect(b, 'lf.>');
      b.subscribe('lf.x', { callback: () => undefined });
      await b.flush();
      await waitLeafInterest(hub.natter, 'lf.>');
      await waitLeafInterest(hub.natter, 'lf.x');
      const traces = traceListener(a, 'trace.lf');
      await a.flush();
      a.publish('lf.x', 'one', { headers: traceHeaders('trace.lf') });
      a.publish('lf.x', 'two', { headers: traceHeaders('trace.lf', true) });
      await a.flush();
      const evs = (await events(traces, 2)).filter((e) => e.server.name === 'hub');
      await sleep(50);
      assert.equal(evs.length, 2);
      const [delivered, only] = evs;
      assert.deepEqual(delivered.events.map((e) => e.type), ['in', 'eg']);
      assert.deepEqual(delivered.events[1], {
        ...delivered.events[1], kind: 4, name: 'leaf',
        error: 'Message delivered but remote does not support message tracing so no trace event generated from there',
      });
      assert.equal(only.events[1].error, 'Not delivered because remote does not support message tracing');
      assert.deepEqual(got, ['one']);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
