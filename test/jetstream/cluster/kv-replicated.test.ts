/**
 * A KV bucket with `replicas: 3` on three Natter nodes, through the official
 * client unchanged: put and get from every node, a watcher, and the bucket
 * going on when a node that is not the meta leader closes, then when the
 * meta leader closes.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Kvm, type KV } from '@nats-io/kv';
import { JsCluster, metaOf, repliesTo } from './api-helpers.js';
import { waitUntil } from '../../helpers/wait.js';

describe('a replicated KV bucket on three nodes', () => {
  const cluster = new JsCluster(['K1', 'K2', 'K3']);
  const conns: NatsConnection[] = [];

  /** A put retried while the bucket's stream elects a leader (no responders meanwhile, as with nats-server). */
  async function putEventually(kv: KV, key: string, value: string): Promise<void> {
    await waitUntil(async () => {
      try {
        await kv.put(key, value);
        return true;
      } catch {
        return false;
      }
    }, 30_000, `a put of ${key}`, 250);
  }

  async function bucketOn(name: string): Promise<KV> {
    const nc = await connect({ servers: cluster.node(name).url });
    conns.push(nc);
    return new Kvm(nc).open('cfg');
  }

  before(async () => {
    await cluster.start();
  });
  after(async () => {
    await Promise.allSettled(conns.map((nc) => nc.close()));
    await cluster.stop();
  });

  it('is created with three replicas and takes puts and gets from every node', async () => {
    const nc = await connect({ servers: cluster.nodes[0].url });
    conns.push(nc);
    const kv = await new Kvm(nc).create('cfg', { replicas: 3 });
    const status = await kv.status();
    assert.equal(status.replicas, 3);
    for (const n of cluster.nodes) await waitUntil(() => metaOf(n).streamReplica('$G', 'KV_cfg') !== null, 10_000, `KV_cfg on ${n.name}`, 20);
    for (const n of cluster.nodes) {
      const b = await bucketOn(n.name);
      await b.put(`key.${n.name}`, `value from ${n.name}`);
    }
    for (const n of cluster.nodes) {
      const b = await bucketOn(n.name);
      for (const m of cluster.nodes) assert.equal((await b.get(`key.${m.name}`))?.string(), `value from ${m.name}`, `${n.name} reads ${m.name}'s key`);
    }
  });

  // A watcher's push consumer may be led by another node than the watcher's: deliveries cross the routes.
  it('lets a watcher on every node see the puts', async () => {
    for (const n of cluster.nodes) {
      const b = await bucketOn(n.name);
      const seen: string[] = [];
      const watch = await b.watch({ key: `watched.${n.name}.>` });
      const done = (async () => {
        for await (const e of watch) {
          seen.push(`${e.key}=${e.string()}`);
          if (seen.length === 2) break;
        }
      })();
      await b.put(`watched.${n.name}.a`, '1');
      await b.put(`watched.${n.name}.b`, '2');
      await Promise.race([done, new Promise((r) => setTimeout(r, 10_000))]);
      watch.stop();
      assert.deepEqual(seen.slice(-2), [`watched.${n.name}.a=1`, `watched.${n.name}.b=2`], `the watcher on ${n.name}`);
    }
  });

  it('goes on when a node that is not the meta leader closes, then when the meta leader closes', async () => {
    const leader = await cluster.waitForMetaLeader();
    const other = cluster.nodes.find((n) => n !== leader)!;
    await cluster.close(other);
    const kv = await bucketOn(leader.name);
    await putEventually(kv, 'after.first', '1');
    assert.equal((await kv.get('after.first'))?.string(), '1');

    await cluster.close(leader);
    const back = await cluster.restart(other.name);
    await cluster.waitForMetaLeader(30_000);
    const survivor = cluster.nodes.find((n) => n !== back)!;
    const b = await bucketOn(survivor.name);
    await putEventually(b, 'after.second', '2');
    assert.equal((await b.get('after.first'))?.string(), '1');
    assert.equal((await b.get('after.second'))?.string(), '2');
    const nc = conns[conns.length - 1];
    const info = await repliesTo(nc, '$JS.API.STREAM.INFO.KV_cfg', undefined, { quietMs: 500 });
    assert.equal(info.length, 1);
  });
});
