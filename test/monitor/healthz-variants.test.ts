/**
 * /healthz as Kubernetes probes ask it (the official chart: startup on
 * `/healthz`, readiness on `?js-server-only=true`, liveness on
 * `?js-enabled-only=true`; `?js-meta-only=true` for scripts that wait for the
 * meta group), with nats-server 2.10's answers: every variant on a single
 * server with and without JetStream (also started from the command line with
 * the chart's JetStream block), the account/stream/consumer filters (404 for
 * what is not there), and a three-node JetStream cluster, healthy and then
 * without its meta leader.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { startNatterCli } from '../helpers/natter-cli.js';
import { freePort, waitForListen } from '../helpers/ports.js';
import { waitUntil } from '../helpers/wait.js';
import { startMonitored, type Monitored } from './helpers.js';
import { JsCluster, metaOf } from '../jetstream/cluster/api-helpers.js';

const VARIANTS = ['', '?js-enabled-only=true', '?js-server-only=true', '?js-meta-only=true'];
const OK = '{"status":"ok"}';

async function answers(base: string, query: string): Promise<{ status: number; text: string }> {
  const r = await fetch(`${base}/healthz${query}`);
  return { status: r.status, text: await r.text() };
}

async function assertAllOk(base: string, where: string): Promise<void> {
  for (const q of VARIANTS) assert.deepEqual(await answers(base, q), { status: 200, text: OK }, `${where} /healthz${q}`);
}

describe('/healthz on a single server', () => {
  let plain: Monitored;
  let js: Monitored;
  before(async () => {
    plain = await startMonitored();
    js = await startMonitored({ jetstream: true });
  });
  after(async () => {
    await plain?.close();
    await js?.close();
  });

  it('is ok in every variant, without JetStream and with it', async () => {
    await assertAllOk(plain.base, 'no JetStream');
    await assertAllOk(js.base, 'JetStream');
  });

  it('is ok in every variant when natter-server runs the official chart\'s JetStream block', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'natter-healthz-'));
    const httpPort = await freePort();
    const cli = await startNatterCli({
      http_port: httpPort,
      server_name: 'nats-0',
      lame_duck_duration: '30s',
      lame_duck_grace_period: '10s',
      pid_file: join(dir, 'nats.pid'),
      jetstream: { max_file_store: 10 * 1024 ** 3, max_memory_store: 0, store_dir: join(dir, 'data') },
    }, dir);
    try {
      await waitForListen(httpPort);
      await assertAllOk(`http://127.0.0.1:${httpPort}`, 'the chart\'s config');
    } finally {
      await cli.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('checks the account, stream and consumer asked for: 404 for what does not exist', async () => {
    const nc = await connect({ servers: js.srv.url });
    try {
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: 'ORDERS', subjects: ['orders.>'] });
      await jsm.consumers.add('ORDERS', { durable_name: 'ship', ack_policy: 'explicit' });
    } finally {
      await nc.close();
    }
    for (const q of ['?account=$G', '?account=$G&stream=ORDERS', '?account=$G&stream=ORDERS&consumer=ship']) {
      assert.deepEqual(await answers(js.base, q), { status: 200, text: OK }, q);
    }
    const noAccount = await answers(js.base, '?account=NOPE');
    assert.equal(noAccount.status, 404);
    assert.equal(noAccount.text, '{"status":"unavailable","error":"JetStream account \\"NOPE\\" not found"}');
    const noStream = await answers(js.base, '?account=$G&stream=NOPE');
    assert.equal(noStream.status, 404);
    assert.equal(noStream.text, '{"status":"unavailable","error":"JetStream stream \\"NOPE\\" not found on account \\"$G\\""}');
    const noConsumer = await answers(js.base, '?account=$G&stream=ORDERS&consumer=NOPE&details=true');
    assert.equal(noConsumer.status, 404);
    assert.equal(noConsumer.text, '{"status":"error","errors":[{"type":"CONSUMER","account":"$G","stream":"ORDERS","consumer":"NOPE",'
      + '"error":"JetStream consumer \\"NOPE\\" not found for stream \\"ORDERS\\" on account \\"$G\\""}]}');
    // The probes' variants stop before the assets: nothing to find there.
    assert.equal((await answers(js.base, '?js-enabled-only=true&account=NOPE')).status, 200);
  });

  it('fails only what depends on a JetStream that is configured but not running', async () => {
    const engine = js.srv.server.jetstream;
    js.srv.server.jetstream = null;
    try {
      const unavailable = { status: 503, text: '{"status":"unavailable","error":"JetStream not enabled (10076)"}' };
      assert.deepEqual(await answers(js.base, ''), unavailable);
      assert.deepEqual(await answers(js.base, '?js-enabled-only=true'), unavailable);
      assert.deepEqual(await answers(js.base, '?js-enabled=true'), unavailable);
      assert.deepEqual(await answers(js.base, '?js-meta-only=true'), unavailable);
      assert.deepEqual(await answers(js.base, '?js-server-only=true'), { status: 200, text: OK });
    } finally {
      js.srv.server.jetstream = engine;
    }
  });
});

describe('/healthz on a three-node JetStream cluster', () => {
  const cluster = new JsCluster(['H1', 'H2', 'H3']);
  before(async () => {
    await cluster.start();
  });
  after(async () => {
    await cluster.stop();
  });

  const baseOf = (i: number): string => cluster.nodes[i].srv.server.monitorURLs[0];

  it('is ok in every variant on every node once the meta group has a leader', async () => {
    for (let i = 0; i < 3; i++) await assertAllOk(baseOf(i), cluster.nodes[i].name);
  });

  it('is ok with an R3 stream and consumer once this node\'s replicas are current; 404 for what it does not hold', async () => {
    const nc = await cluster.connect(cluster.nodes[0]);
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'R3', subjects: ['r3.>'], num_replicas: 3 });
    await jsm.consumers.add('R3', { durable_name: 'work', ack_policy: 'explicit' });
    for (let i = 0; i < 3; i++) {
      const n = cluster.nodes[i];
      await waitUntil(() => metaOf(n).consumerReplica('$G', 'R3', 'work')?.raft.isCurrent() === true, 20_000, `R3 > work current on ${n.name}`, 50);
      await waitUntil(async () => (await answers(baseOf(i), '')).status === 200, 20_000, `/healthz ok on ${n.name}`, 100);
      await assertAllOk(baseOf(i), n.name);
      assert.equal((await answers(baseOf(i), '?account=$G&stream=R3&consumer=work')).status, 200);
      const missing = await answers(baseOf(i), '?account=$G&stream=R9');
      assert.deepEqual(missing, { status: 404, text: '{"status":"unavailable","error":"JetStream stream \\"R9\\" not found on account \\"$G\\""}' });
    }
  });

  it('without a meta leader: 503 for the default and js-meta-only, ok for the liveness and readiness variants', async () => {
    const survivor = cluster.nodes[0];
    const base = baseOf(0);
    for (const n of cluster.nodes.slice(1)) await cluster.close(n);
    const noLeader = '{"status":"unavailable","error":"JetStream has not established contact with a meta leader"}';
    await waitUntil(async () => (await answers(base, '')).text === noLeader, 30_000, `${survivor.name} without a meta leader`, 100);
    assert.deepEqual(await answers(base, ''), { status: 503, text: noLeader });
    assert.deepEqual(await answers(base, '?js-meta-only=true'), { status: 503, text: noLeader });
    assert.deepEqual(await answers(base, '?js-enabled-only=true'), { status: 200, text: OK });
    assert.deepEqual(await answers(base, '?js-server-only=true'), { status: 200, text: OK });
  });
});
