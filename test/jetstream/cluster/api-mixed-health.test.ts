/**
 * /healthz of a Natter JetStream server in a cluster where a nats-server has
 * JetStream on too: 503 naming the problem (a mixed JetStream cluster is not
 * supported), even though the Natter servers have a meta leader.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { routeTo, startNatsNode, startNode, type NatsNode, type NatterNode } from '../../cluster/helpers.js';
import { removeDir, tempStoreDir } from '../../helpers/jetstream.js';
import { waitUntil } from '../../helpers/wait.js';

describe('/healthz in a mixed JetStream cluster', () => {
  const dirs: string[] = [];
  const nodes: Array<NatterNode | NatsNode> = [];

  after(async () => {
    await Promise.allSettled(nodes.map((n) => n.close()));
    for (const d of dirs) removeDir(d);
  });

  it('is unavailable and says why', async () => {
    const jsDir = tempStoreDir();
    dirs.push(jsDir);
    // nats-server refuses a JetStream cluster node without routes: it gets one to a plain nats-server.
    const plain = await startNatsNode('NPLAIN', 'name: c');
    nodes.push(plain);
    const withJs = await startNatsNode('NJS', `name: c\nroutes: [${routeTo(plain.routePort)}]`, { extra: `jetstream { store_dir: "${jsDir}" }` });
    nodes.push(withJs);
    const natter: NatterNode[] = [];
    for (const name of ['H1', 'H2']) {
      const dir = tempStoreDir();
      dirs.push(dir);
      const n = await startNode(name, { http_port: -1, jetstream: { store_dir: dir }, clusterBlock: { routes: [routeTo(withJs.routePort)] } });
      natter.push(n);
      nodes.push(n);
    }
    const want = '{"status":"unavailable","error":"mixed JetStream cluster of nats-server and Natter is not supported: JetStream is enabled on nats-server \'NJS\'"}';
    for (const n of natter) {
      const base = n.srv.server.monitorURLs[0];
      let last = '';
      await waitUntil(async () => {
        const r = await fetch(`${base}/healthz`);
        last = await r.text();
        return r.status === 503 && last === want;
      }, 25_000, `the mixed cluster reported by ${n.name}'s /healthz (last: ${last})`, 200);
      assert.equal((await fetch(`${base}/healthz?js-enabled-only=true`)).status, 200);
    }
  });
});
