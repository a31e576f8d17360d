/**
 * The cluster seen through monitoring: /routez lists the routes with
 * nats-server's keys, /varz carries the cluster section and route count.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from '@nats-io/transport-node';
import { startNatter } from '../helpers/natter.js';
import { waitUntil } from '../helpers/wait.js';

async function getJson(url: string): Promise<Record<string, unknown>> {
  const r = await fetch(url);
  assert.equal(r.status, 200);
  return (await r.json()) as Record<string, unknown>;
}

test('/routez and /varz describe the routes of a two-node cluster', async () => {
  const a = await startNatter({ server_name: 'a', http_port: -1, cluster: { listen: '127.0.0.1:-1', name: 'mon' } });
  const routePort = a.server.cluster?.varz()?.cluster_port ?? 0;
  const b = await startNatter({ server_name: 'b', cluster: { listen: '127.0.0.1:-1', name: 'mon', routes: [`nats-route://127.0.0.1:${routePort}`] } });
  try {
    await waitUntil(() => (a.server.cluster?.routes().length ?? 0) === 1, 5000, 'route up');
    const nc = await connect({ servers: b.url });
    nc.subscribe('seen.from.a');
    await nc.flush();
    const base = a.server.monitorURLs[0];
    await waitUntil(() => (a.server.cluster?.routes()[0]?.subscriptions ?? []).some((s) => s.subject === 'seen.from.a'), 5000, 'interest');
    const routez = await getJson(`${base}/routez?subs=1`);
    assert.equal(routez.num_routes, 1);
    const [route] = routez.routes as Array<Record<string, unknown>>;
    assert.equal(route.remote_id, b.server.id);
    assert.equal(route.remote_name, 'b');
    assert.equal(route.did_solicit, false);
    assert.equal(route.ip, '127.0.0.1');
    assert.ok((route.subscriptions_list as string[]).includes('seen.from.a'));
    for (const k of ['rid', 'port', 'start', 'last_activity', 'rtt', 'uptime', 'idle', 'pending_size', 'in_msgs', 'out_msgs', 'in_bytes', 'out_bytes', 'subscriptions']) {
      assert.ok(k in route, k);
    }
    const varz = await getJson(`${base}/varz`);
    assert.equal(varz.routes, 1);
    assert.deepEqual(Object.keys(varz.cluster as object).slice(0, 3), ['name', 'addr', 'cluster_port']);
    assert.equal((varz.cluster as Record<string, unknown>).name, 'mon');
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /^natter_routes 1$/m);
    assert.match(metrics, new RegExp(`^natter_route_subscriptions\\{remote_id="${b.server.id}",remote_name="b"\\} [1-9]\\d*$`, 'm'));
    assert.match(metrics, /^natter_route_in_bytes_total\{remote_id="[A-Z0-9]+",remote_name="b"\} \d+$/m);
    await nc.close();
  } finally {
    await b.close();
    await a.close();
  }
});
