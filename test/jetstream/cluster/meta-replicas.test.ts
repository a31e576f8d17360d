/**
 * The meta layer keeps each server's replicas in step with the assignments,
 * end to end through the official client on three nodes: an R3 stream and
 * its consumer get a replica on every node; after all three restarted,
 * the replicas re-open from the recovered assignments with their messages;
 * deleting the stream removes every replica.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type StreamInfo } from '@nats-io/jetstream';
import { routeTo, startNode, type NatterNode } from '../../cluster/helpers.js';
import { removeDir, tempStoreDir } from '../../helpers/jetstream.js';
import { freePort } from '../../helpers/ports.js';
import { waitUntil } from '../../helpers/wait.js';
import { MetaLayer } from '../../../src/jetstream/cluster/meta.js';

function metaOf(node: NatterNode): MetaLayer {
  const meta = node.srv.server.jetstream?.cluster;
  assert.ok(meta instanceof MetaLayer);
  return meta;
}

describe('replicas follow the assignments', () => {
  const names = ['R1', 'R2', 'R3'];
  const dirs = new Map<string, string>();
  const ports = new Map<string, number>();
  let nodes: NatterNode[] = [];
  let nc: NatsConnection | null = null;
  let groups: string[] = [];

  async function start(name: string): Promise<NatterNode> {
    const routes = names.filter((n) => n !== name).map((n) => routeTo(ports.get(n)!));
    return startNode(name, { jetstream: { store_dir: dirs.get(name)! }, clusterBlock: { listen: `127.0.0.1:${ports.get(name)!}`, routes } });
  }

  async function startAll(): Promise<void> {
    nodes = await Promise.all(names.map(start));
    await waitUntil(() => nodes.some((n) => metaOf(n).isLeader()) && nodes.every((n) => metaOf(n).isCurrent()), 15_000, 'a meta leader', 20);
  }

  /** Stream info through the client, retried while the stream's group elects a leader. */
  async function streamInfo(name: string): Promise<StreamInfo> {
    const jsm = await jetstreamManager(nc!);
    let info: StreamInfo | null = null;
    await waitUntil(async () => {
      try {
        info = await jsm.streams.info(name);
        return info.cluster?.leader !== undefined;
      } catch {
        return false;
      }
    }, 15_000, `stream info of ${name}`, 100);
    return info!;
  }

  after(async () => {
    await nc?.close();
    await Promise.allSettled(nodes.map((n) => n.close()));
    for (const d of dirs.values()) removeDir(d);
  });

  it('opens an R3 stream and its consumer on every node', async () => {
    for (const n of names) {
      dirs.set(n, tempStoreDir());
      ports.set(n, await freePort());
    }
    await startAll();
    nc = await connect({ servers: nodes[1].url });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'ORDERS', subjects: ['orders.>'], num_replicas: 3 });
    await jsm.consumers.add('ORDERS', { durable_name: 'D', ack_policy: 'explicit' });
    const js = jetstream(nc);
    for (let i = 0; i < 5; i++) await js.publish(`orders.${i}`, `o${i}`);
    await waitUntil(() => nodes.every((n) => metaOf(n).streamReplica('$G', 'ORDERS') !== null && metaOf(n).consumerReplica('$G', 'ORDERS', 'D') !== null), 10_000, 'replicas everywhere', 20);
    const sa = metaOf(nodes[0]).stream('$G', 'ORDERS');
    assert.equal(sa?.group.peers.length, 3);
    assert.match(sa?.group.name ?? '', /^S-R3F-/);
    groups = [sa!.group.name, metaOf(nodes[0]).consumer('$G', 'ORDERS', 'D')!.group.name];
    for (const n of names) for (const g of groups) assert.ok(existsSync(join(dirs.get(n)!, 'jetstream', '$SYS', '_js_', g)), `${n} keeps the log of ${g}`);
    assert.equal((await streamInfo('ORDERS')).state.messages, 5);
  });

  it('re-opens them from the recovered assignments after every node restarted', async () => {
    await nc?.close();
    await Promise.all(nodes.map((n) => n.close()));
    await startAll();
    await waitUntil(() => nodes.every((n) => metaOf(n).streamReplica('$G', 'ORDERS') !== null && metaOf(n).consumerReplica('$G', 'ORDERS', 'D') !== null), 15_000, 'replicas re-opened', 20);
    nc = await connect({ servers: nodes[2].url });
    const info = await streamInfo('ORDERS');
    assert.equal(info.state.messages, 5);
    assert.equal(info.cluster?.replicas?.length, 2);
  });

  it('removes an inactive ephemeral consumer everywhere (its leader reports, the meta leader proposes)', async () => {
    const jsm = await jetstreamManager(nc!);
    const ci = await jsm.consumers.add('ORDERS', { ack_policy: 'explicit', inactive_threshold: 300_000_000 });
    await waitUntil(() => nodes.every((n) => metaOf(n).consumer('$G', 'ORDERS', ci.name) !== null), 10_000, 'the ephemeral consumer assigned', 20);
    await waitUntil(() => nodes.every((n) => metaOf(n).consumer('$G', 'ORDERS', ci.name) === null), 15_000, 'the ephemeral consumer removed', 50);
    assert.ok(nodes.every((n) => metaOf(n).consumer('$G', 'ORDERS', 'D') !== null), 'the durable stays');
  });

  it('removes every replica when the stream is deleted', async () => {
    const jsm = await jetstreamManager(nc!);
    await jsm.streams.delete('ORDERS');
    await waitUntil(() => nodes.every((n) => metaOf(n).streamReplica('$G', 'ORDERS') === null && metaOf(n).stream('$G', 'ORDERS') === null), 10_000, 'replicas gone', 20);
    for (const n of names) {
      await waitUntil(() => !existsSync(join(dirs.get(n)!, 'jetstream', '$G', 'streams', 'ORDERS')), 5000, `${n}'s copy removed`, 20);
      for (const g of groups) {
        await waitUntil(() => !existsSync(join(dirs.get(n)!, 'jetstream', '$SYS', '_js_', g)), 5000, `${n} removed the log of ${g}`, 20);
      }
    }
  });
});
