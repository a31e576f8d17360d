/**
 * The embedding helpers for test suites, used as an embedder uses them:
 * startServer()'s private JetStream store (two servers at once do not see
 * each other's streams; the store goes with close()), and startCluster()
 * (an R3 stream through the stop and restart of a node; a partition cut
 * and healed).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream';
import { startCluster, startServer, type ClusterNode } from '../../src/index.js';
import { waitUntil } from '../helpers/wait.js';

async function withClient<T>(url: string | string[], fn: (nc: NatsConnection) => Promise<T>): Promise<T> {
  const nc = await connect({ servers: url, reconnect: false });
  try {
    return await fn(nc);
  } finally {
    await nc.close();
  }
}

async function streamNames(url: string): Promise<string[]> {
  return withClient(url, async (nc) => {
    const jsm = await jetstreamManager(nc);
    const names: string[] = [];
    for await (const name of jsm.streams.names()) names.push(name);
    return names;
  });
}

/** Publishes to the R3 stream until acknowledged (a leader change answers "no responders" for a moment). */
async function publishRetrying(js: JetStreamClient, data: string): Promise<void> {
  await waitUntil(async () => {
    try {
      await js.publish('r3.x', data, { msgID: data, timeout: 2000 });
      return true;
    } catch {
      return false;
    }
  }, 20_000, `the publish of ${data} to be acknowledged`, 100);
}

/** The servers `node` has routes to, from its /routez. */
async function routeNames(node: ClusterNode): Promise<string[]> {
  const monitoring = node.server?.ports().monitoring?.[0];
  assert.ok(monitoring !== undefined, `${node.name} runs with monitoring`);
  const routez = (await (await fetch(`${monitoring}/routez`)).json()) as { routes?: Array<{ remote_name: string }> };
  return (routez.routes ?? []).map((r) => r.remote_name).sort();
}

describe('startServer() with JetStream', () => {
  it('gives each server a private store, removed on close()', async () => {
    const [a, b] = await Promise.all([startServer({ jetstream: true }), startServer({ jetstream: true })]);
    try {
      assert.ok(a.storeDir !== null && b.storeDir !== null);
      assert.notEqual(a.storeDir, b.storeDir);
      assert.ok(a.storeDir.startsWith(tmpdir()) && existsSync(a.storeDir));
      await withClient(a.url, async (nc) => {
        await (await jetstreamManager(nc)).streams.add({ name: 'ONLY_A', subjects: ['a.>'] });
        await jetstream(nc).publish('a.1', 'x');
      });
      assert.deepEqual(await streamNames(a.url), ['ONLY_A']);
      assert.deepEqual(await streamNames(b.url), [], 'the second server does not see the first one\'s stream');
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
    assert.equal(existsSync(a.storeDir), false, 'the private store is removed on close()');
    assert.equal(existsSync(b.storeDir), false);
  });

  it('keeps a store directory it was given, and a reload keeps the private one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'natter-given-'));
    try {
      const given = await startServer({ jetstream: { store_dir: dir } });
      assert.equal(given.storeDir, dir);
      await given.close();
      assert.ok(existsSync(join(dir, 'jetstream')), 'a given store stays');

      const own = await startServer({ jetstream: true, max_payload: 1024 });
      try {
        assert.deepEqual(own.reload({ jetstream: true, max_payload: 2048 }), ['max_payload = 2048']);
      } finally {
        await own.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('startCluster()', () => {
  it('keeps an R3 stream through the stop and restart of a node, and cuts and heals a partition', async () => {
    const cluster = await startCluster({ nodes: 3, jetstream: true, server: { http_port: -1 } });
    try {
      assert.deepEqual(cluster.nodes.map((n) => n.name), ['n1', 'n2', 'n3']);
      assert.equal(cluster.urls.length, 3);
      await withClient(cluster.urls, async (nc) => {
        const jsm = await jetstreamManager(nc, { timeout: 10_000 });
        await jsm.streams.add({ name: 'R3', subjects: ['r3.>'], num_replicas: 3 });
        const js = jetstream(nc, { timeout: 5000 });
        for (let i = 0; i < 10; i++) await js.publish('r3.x', `m${i}`);
      });

      const n2 = cluster.node('n2');
      const urlBefore = n2.url;
      await n2.stop();
      assert.equal(n2.running, false);
      await withClient(cluster.node('n1').url, async (nc) => {
        const js = jetstream(nc, { timeout: 5000 });
        // The stream may be electing a new leader (n2 may have led it): retry as an application would, deduplicated by msgID.
        for (let i = 10; i < 20; i++) await publishRetrying(js, `m${i}`);
      });
      await n2.restart();
      assert.equal(n2.url, urlBefore, 'a restarted node keeps its client URL');
      // The restarted replica catches up: every node answers with all 20 messages once it is current.
      await withClient(n2.url, async (nc) => {
        const jsm = await jetstreamManager(nc, { timeout: 10_000 });
        await waitUntil(async () => {
          const si = await jsm.streams.info('R3');
          return si.state.messages === 20 && (si.cluster?.replicas ?? []).length === 2 && (si.cluster?.replicas ?? []).every((r) => r.current);
        }, 30_000, 'the R3 stream to hold 20 messages with every replica current');
        const last = await jsm.streams.getMessage('R3', { seq: 20 });
        assert.equal(last?.string(), 'm19');
      });

      const n3 = cluster.node('n3');
      n3.partition();
      assert.equal(n3.partitioned, true);
      assert.deepEqual(await routeNames(cluster.node('n3')), [], 'the partitioned node has no routes');
      await waitUntil(async () => JSON.stringify(await routeNames(cluster.node('n1'))) === '["n2"]', 10_000, 'n1 routed to n2 only');
      // The majority side keeps a JetStream quorum: publishes are still acknowledged there.
      await withClient(cluster.node('n1').url, async (nc) => {
        const js = jetstream(nc, { timeout: 5000 });
        await publishRetrying(js, 'during');
      });
      await n3.heal();
      assert.equal(n3.partitioned, false);
      assert.deepEqual(await routeNames(n3), ['n1', 'n2'], 'healed: routed to both again');
    } finally {
      await cluster.close();
    }
  });
});
