/**
 * Natter JetStream servers next to nats-server 2.9.10 in one cluster: a
 * nats-server without JetStream is fine (it carries traffic); one with
 * JetStream on is reported, in the log and as a health problem, as a mixed
 * JetStream cluster that is not supported, and is never a peer of ours.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { routeTo, startNatsNode, startNode, type NatsNode, type NatterNode } from '../../cluster/helpers.js';
import { removeDir, tempStoreDir } from '../../helpers/jetstream.js';
import { waitUntil } from '../../helpers/wait.js';
import { MetaLayer } from '../../../src/jetstream/cluster/meta.js';

function metaOf(node: NatterNode): MetaLayer {
  const meta = node.srv.server.jetstream?.cluster;
  assert.ok(meta instanceof MetaLayer);
  return meta;
}

describe('a cluster of Natter and nats-server', () => {
  const dirs: string[] = [];
  const natter: NatterNode[] = [];
  const nats: NatsNode[] = [];

  after(async () => {
    await Promise.allSettled([...natter, ...nats].map((n) => n.close()));
    for (const d of dirs) removeDir(d);
  });

  it('reports a nats-server with JetStream as an unsupported mixed cluster and never takes it for a peer', async () => {
    const jsDir = tempStoreDir();
    dirs.push(jsDir);
    // nats-server refuses a JetStream cluster node without routes: it gets one to the plain nats-server.
    const n2 = await startNatsNode('NPLAIN', 'name: c');
    nats.push(n2);
    const n1 = await startNatsNode('NJS', `name: c\nroutes: [${routeTo(n2.routePort)}]`, { extra: `jetstream { store_dir: "${jsDir}" }` });
    nats.push(n1);
    for (const name of ['X1', 'X2']) {
      const dir = tempStoreDir();
      dirs.push(dir);
      natter.push(await startNode(name, { jetstream: { store_dir: dir }, clusterBlock: { routes: [routeTo(n1.routePort)] } }));
    }
    await waitUntil(() => natter.every((n) => metaOf(n).healthProblem() !== null), 20_000, 'the mixed cluster reported', 50);
    for (const n of natter) {
      assert.equal(
        metaOf(n).healthProblem(),
        "mixed JetStream cluster of nats-server and Natter is not supported: JetStream is enabled on nats-server 'NJS'",
      );
      await n.log.waitFor(/\[ERR\] JetStream cluster: nats-server 'NJS' has JetStream enabled; a JetStream cluster mixing nats-server and Natter is not supported/);
    }
    // The two Natter servers still form their own meta group (through the nats-server routes), without the nats-servers.
    await waitUntil(() => natter.some((n) => metaOf(n).isLeader()) && natter.every((n) => metaOf(n).leaderName() !== ''), 15_000, 'a Natter meta leader', 50);
    for (const n of natter) {
      assert.deepEqual(metaOf(n).peers().map((p) => p.name).sort(), ['X1', 'X2']);
    }
  });
});
