/**
 * Per-message TTL on a replicated stream (three Natter nodes): every
 * replica expires the message from the same stored header and timestamp,
 * and the subject delete marker is written once, by the stream leader, and
 * replicated like any message (so every replica holds the same sequences).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Kvm } from '@nats-io/kv';
import { GLOBAL_ACCOUNT } from '../../src/accounts/names.js';
import type { StreamStore } from '../../src/jetstream/store/types.js';
import { JsCluster, metaOf } from '../jetstream/cluster/api-helpers.js';
import type { NatterNode } from '../cluster/helpers.js';
import { waitUntil } from '../helpers/wait.js';

function storeOn(n: NatterNode, stream: string): StreamStore | undefined {
  return n.srv.server.jetstream?.accounts.get(GLOBAL_ACCOUNT)?.streams.get(stream)?.store;
}

describe('per-message TTL on a replicated stream', () => {
  const cluster = new JsCluster(['T1', 'T2', 'T3']);
  let nc: NatsConnection;

  before(async () => {
    await cluster.start();
    nc = await connect({ servers: cluster.nodes[0].url });
  });
  after(async () => {
    await nc.close();
    await cluster.stop();
  });

  it('expires on every replica and leaves one replicated marker', async () => {
    const kvm = new Kvm(nc);
    let kv = null;
    // The bucket's stream elects its leader first: creating retries meanwhile.
    await waitUntil(async () => {
      try {
        kv = await kvm.create('rttl', { replicas: 3, markerTTL: 1000 });
        return true;
      } catch {
        return false;
      }
    }, 30_000, 'the bucket', 250);
    assert.ok(kv !== null);
    for (const n of cluster.nodes) await waitUntil(() => metaOf(n).streamReplica(GLOBAL_ACCOUNT, 'KV_rttl') !== null, 10_000, `KV_rttl on ${n.name}`, 20);
    const bucket = await kvm.open('rttl');
    await waitUntil(async () => {
      try {
        await bucket.create('k', 'v', '1s');
        return true;
      } catch {
        return false;
      }
    }, 30_000, 'a put with a TTL', 250);
    for (const n of cluster.nodes) await waitUntil(() => storeOn(n, 'KV_rttl')?.state().msgs === 1, 10_000, `the message on ${n.name}`, 20);
    // Expired, then the marker (sequence 2) everywhere, then the marker expired too: the same sequences on every replica.
    for (const n of cluster.nodes) {
      await waitUntil(() => storeOn(n, 'KV_rttl')?.loadMsg(2) != null, 10_000, `the marker on ${n.name}`, 20);
      const marker = storeOn(n, 'KV_rttl')?.loadMsg(2);
      assert.equal(marker?.subject, '$KV.rttl.k');
      assert.match(marker?.hdr?.toString('latin1') ?? '', /Nats-Marker-Reason: MaxAge/);
      assert.equal(storeOn(n, 'KV_rttl')?.loadMsg(1), null, `the expired message gone on ${n.name}`);
    }
    for (const n of cluster.nodes) {
      await waitUntil(() => storeOn(n, 'KV_rttl')?.state().msgs === 0, 10_000, `the marker expired on ${n.name}`, 20);
      assert.equal(storeOn(n, 'KV_rttl')?.state().lastSeq, 2, `one marker only on ${n.name}`);
    }
  });
});
