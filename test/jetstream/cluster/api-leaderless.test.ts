/**
 * A clustered JetStream server that has no meta leader (its two peers are
 * not running): /healthz says so (503) except for js-enabled-only and
 * js-server-only; the API stays silent for nats-server's grace period and
 * then answers 10008, once per request.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { routeTo, startNode, type NatterNode } from '../../cluster/helpers.js';
import { removeDir, tempStoreDir } from '../../helpers/jetstream.js';
import { freePort } from '../../helpers/ports.js';
import { sleep } from '../../helpers/wait.js';
import { LEADERLESS_AFTER_MS } from '../../../src/jetstream/cluster/api-gate.js';
import { repliesTo } from './api-helpers.js';

const UNAVAILABLE = { code: 503, err_code: 10008, description: 'JetStream system temporarily unavailable' };

describe('a JetStream cluster member without a meta leader', () => {
  const dir = tempStoreDir();
  let node: NatterNode;
  let nc: NatsConnection;
  let started = 0;

  before(async () => {
    const dead = [await freePort(), await freePort()];
    started = Date.now();
    node = await startNode('L1', {
      http_port: -1,
      jetstream: { store_dir: dir },
      clusterBlock: { routes: dead.map((p) => routeTo(p)) },
    });
    nc = await connect({ servers: node.url });
  });
  after(async () => {
    await nc?.close();
    await node?.close();
    removeDir(dir);
  });

  it('is not healthy, except for js-enabled-only and js-server-only', async () => {
    const base = node.srv.server.monitorURLs[0];
    const h = await fetch(`${base}/healthz`);
    assert.equal(h.status, 503);
    assert.equal(await h.text(), '{"status":"unavailable","error":"JetStream has not established contact with a meta leader"}');
    for (const q of ['js-enabled-only=true', 'js-server-only=true']) assert.equal((await fetch(`${base}/healthz?${q}`)).status, 200, q);
    assert.equal((await fetch(`${base}/healthz?js-meta-only=true`)).status, 503);
    const jsz = await (await fetch(`${base}/jsz`)).json() as { meta_cluster: Record<string, unknown> };
    assert.equal(jsz.meta_cluster.name, 'c');
    assert.equal(jsz.meta_cluster.leader, undefined);
  });

  it('stays silent during the grace period, then answers 10008 once', async () => {
    if (Date.now() - started < LEADERLESS_AFTER_MS - 2000) {
      const early = await repliesTo(nc, '$JS.API.STREAM.CREATE.S', { name: 'S' }, { timeoutMs: 1000 });
      assert.deepEqual(early, []);
    }
    await sleep(Math.max(0, LEADERLESS_AFTER_MS + 500 - (Date.now() - started)));
    const create = await repliesTo(nc, '$JS.API.STREAM.CREATE.S', { name: 'S' }, { quietMs: 300 });
    assert.equal(create.length, 1);
    assert.deepEqual(create[0], { type: 'io.nats.jetstream.api.v1.stream_create_response', error: UNAVAILABLE });
    const info = await repliesTo(nc, '$JS.API.INFO', undefined, { quietMs: 300 });
    assert.deepEqual(info.map((r) => r.error), [UNAVAILABLE]);
    const t0 = Date.now();
    const streamInfo = await repliesTo(nc, '$JS.API.STREAM.INFO.S', undefined, { quietMs: 300 });
    assert.ok(Date.now() - t0 >= 450, 'a stream request is refused after a delay');
    assert.deepEqual(streamInfo.map((r) => r.error), [UNAVAILABLE]);
  });
});
