/**
 * Counters on an R3 stream: increments published without waiting for each
 * PubAck are proposed while earlier ones are still in flight, and each must
 * build on the one before it (the leader counts what it has proposed), so
 * the total is exact and equal on every replica.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { headers } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { JsCluster } from './api-helpers.js';

const dec = new TextDecoder();

describe('counters on a replicated stream', () => {
  const cluster = new JsCluster(['c1', 'c2', 'c3']);
  before(async () => {
    await cluster.start();
  });
  after(async () => {
    await cluster.stop();
  });

  it('counts increments in flight exactly', async () => {
    const nc = await cluster.connect(cluster.nodes[0]);
    const jsm = await jetstreamManager(nc, { timeout: 10_000 });
    await jsm.streams.add({ name: 'RC', subjects: ['rc.>'], num_replicas: 3, allow_msg_counter: true } as never);
    const h = headers();
    h.set('Nats-Incr', '+3');
    const acks = await Promise.all(Array.from({ length: 100 }, () => nc.request('rc.n', '', { headers: h, timeout: 10_000 })));
    const vals = acks.map((m) => (JSON.parse(dec.decode(m.data)) as { val: string; seq: number }));
    // Every PubAck holds the total after its own increment: 3, 6, ... 300, each once.
    assert.deepEqual(vals.map((v) => Number(v.val)).sort((a, b) => a - b), Array.from({ length: 100 }, (_, i) => (i + 1) * 3));
    for (const v of vals) assert.equal(Number(v.val), v.seq * 3);
    for (const node of cluster.nodes) {
      const njsm = await jetstreamManager(await cluster.connect(node), { timeout: 10_000 });
      const m = await njsm.streams.getMessage('RC', { last_by_subj: 'rc.n' });
      assert.equal(dec.decode(m?.data ?? new Uint8Array()), '{"val":"300"}');
    }
  });
});
