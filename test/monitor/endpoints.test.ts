/**
 * The remaining endpoints (health, accounts, routes, gateways, leaf nodes,
 * JetStream), the index page, routing (404, base path, cleaned paths),
 * headers, and how the monitor starts and stops.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { LogCapture } from '../helpers/log-capture.js';
import { startNatter } from '../helpers/natter.js';
import { get, getJson, keyOrder, startMonitored, type Monitored } from './helpers.js';
import { waitUntil } from '../helpers/wait.js';

let m: Monitored;
before(async () => {
  m = await startMonitored();
});
after(async () => {
  await m.close();
});

test('/healthz is ok', async () => {
  const r = await get(m.base, '/healthz');
  assert.equal(r.status, 200);
  assert.equal(r.contentType, 'application/json');
  assert.equal(r.text, '{"status":"ok"}');
  for (const q of ['?js-enabled-only=true', '?js-server-only=1', '?details=true', '?account=A', '?account=A&stream=S&consumer=C']) {
    const x = await get(m.base, '/healthz' + q);
    assert.equal(x.status, 200, q);
    assert.equal(x.text, '{"status":"ok"}', q);
  }
  const cb = await get(m.base, '/healthz?callback=probe');
  assert.equal(cb.contentType, 'application/javascript');
  assert.equal(cb.text, 'probe({"status":"ok"})');
});

test('/healthz parameter errors', async () => {
  const bad = await get(m.base, '/healthz?js-enabled-only=x');
  assert.equal(bad.status, 400);
  assert.equal(bad.text, `Error decoding boolean for 'js-enabled-only': strconv.ParseBool: parsing "x": invalid syntax`);
  const noAcc = await get(m.base, '/healthz?stream=S');
  assert.equal(noAcc.status, 400);
  assert.equal(noAcc.text, '{"status":"error","error":"\\"account\\" must not be empty when checking stream health"}');
  const noStream = await get(m.base, '/healthz?account=A&consumer=C&details=1');
  assert.equal(noStream.status, 400);
  assert.deepEqual(JSON.parse(noStream.text), {
    status: 'error',
    errors: [{ type: 'BAD_REQUEST', error: '"stream" must not be empty when checking consumer health' }],
  });
});

test('/healthz fails while the server does not accept clients', async () => {
  const s = m.srv.server;
  s.inLameDuck = true;
  try {
    const r = await get(m.base, '/healthz');
    assert.equal(r.status, 500);
    assert.deepEqual(JSON.parse(r.text), { status: 'error', error: 'failed to be ready for connections after 1ms: server' });
  } finally {
    s.inLameDuck = false;
  }
});

test('/healthz is ok when JetStream runs on a single server, and unavailable when it is configured but not running', async () => {
  const js = await startMonitored({ jetstream: true });
  try {
    assert.equal((await get(js.base, '/healthz')).text, '{"status":"ok"}');
    const engine = js.srv.server.jetstream;
    js.srv.server.jetstream = null;
    const r = await get(js.base, '/healthz');
    js.srv.server.jetstream = engine;
    assert.equal(r.status, 503);
    assert.equal(r.text, '{"status":"unavailable","error":"JetStream not enabled (10076)"}');
    js.srv.server.jetstream = null;
    const d = await get(js.base, '/healthz?details=true');
    js.srv.server.jetstream = engine;
    assert.equal(d.status, 503);
    assert.equal(d.text, '{"status":"error","errors":[{"type":"JETSTREAM","error":"JetStream not enabled (10076)"}]}');
  } finally {
    await js.close();
  }
});

test('/routez, /gatewayz, /leafz report no routes, gateways or leaf nodes', async () => {
  const r = await get(m.base, '/routez');
  assert.deepEqual(keyOrder(r.text), ['server_id', 'now', 'num_routes', 'routes']);
  const routez = JSON.parse(r.text) as Record<string, unknown>;
  assert.equal(routez.num_routes, 0);
  assert.deepEqual(routez.routes, []);
  const g = await getJson(m.base, '/gatewayz');
  assert.deepEqual(Object.keys(g), ['server_id', 'now', 'outbound_gateways', 'inbound_gateways']);
  assert.deepEqual(g.outbound_gateways, {});
  assert.deepEqual(g.inbound_gateways, {});
  const l = await getJson(m.base, '/leafz');
  assert.deepEqual(Object.keys(l), ['server_id', 'now', 'leafnodes', 'leafs']);
  assert.equal(l.leafnodes, 0);
  assert.equal(l.leafs, null);
  for (const [p, body] of [
    ['/routez?subs=x', `Error decoding boolean for 'subs': strconv.ParseBool: parsing "x": invalid syntax`],
    ['/gatewayz?accs=x', `Error decoding boolean for 'accs': strconv.ParseBool: parsing "x": invalid syntax`],
    ['/leafz?subs=x', `Error decoding boolean for 'subs': strconv.ParseBool: parsing "x": invalid syntax`],
  ]) {
    const x = await get(m.base, p);
    assert.equal(x.status, 400, p);
    assert.equal(x.text, body, p);
  }
});

test('/jsz reports JetStream disabled', async () => {
  const j = await getJson(m.base, '/jsz');
  assert.equal(j.disabled, true);
  assert.deepEqual(j.config, { max_memory: 0, max_storage: 0 });
  assert.deepEqual(j.api, { total: 0, errors: 0 });
  assert.equal(j.streams, 0);
  const leader = await get(m.base, '/jsz?leader-only=true');
  assert.equal(leader.status, 400);
  assert.equal(leader.text, 'filtered response: not leader');
  const bad = await get(m.base, '/jsz?accounts=x');
  assert.equal(bad.status, 400);
});

test('/accountz lists accounts and details one', async () => {
  const a = await getJson(m.base, '/accountz');
  assert.deepEqual(a.accounts, ['$G', '$SYS']);
  assert.equal(a.system_account, '$SYS');
  // `$G` already holds the server's own services (CONNZ/STATZ for the account), as on nats-server.
  const base = (await getJson<{ account_detail: Record<string, unknown> }>(m.base, '/accountz?acc=$G')).account_detail;
  const baseSubs = base.subscriptions as number;
  const nc = await m.connect();
  nc.subscribe('x');
  await nc.flush();
  const d = await getJson<{ account_detail: Record<string, unknown> }>(m.base, '/accountz?acc=$G');
  assert.equal(d.account_detail.account_name, '$G');
  assert.equal(d.account_detail.client_connections, 1);
  assert.equal(d.account_detail.subscriptions, baseSubs + 1);
  assert.equal(d.account_detail.complete, true);
  assert.equal((d.account_detail.sublist_stats as Record<string, unknown>).num_subscriptions, baseSubs + 1);
  const missing = await get(m.base, '/accountz?acc=nope');
  assert.equal(missing.status, 400);
  assert.equal(missing.text, 'Account nope does not exist');
  await nc.close();
});

test('/accstatz totals per account, including connections that closed', async () => {
  const local = await startMonitored();
  try {
    const empty = await getJson<{ account_statz: unknown[] }>(local.base, '/accstatz');
    assert.deepEqual(empty.account_statz, [], 'accounts without connections are skipped');
    const unused = await getJson<{ account_statz: Array<{ acc: string }> }>(local.base, '/accstatz?unused=1');
    assert.deepEqual(unused.account_statz.map((s) => s.acc), ['$G', '$SYS']);

    const sub = await local.connect();
    const pub = await local.connect();
    let n = 0;
    sub.subscribe('s', { callback: () => { n++; } });
    await sub.flush();
    for (let i = 0; i < 5; i++) pub.publish('s', new Uint8Array(3));
    await pub.flush();
    await waitUntil(() => n === 5, 3000, 'deliveries');
    await pub.close();
    await waitUntil(() => local.srv.server.clients.size === 1, 3000, 'publisher gone');
    const s = await getJson<{ account_statz: Array<Record<string, unknown>> }>(local.base, '/accstatz');
    assert.deepEqual(s.account_statz, [{
      acc: '$G', conns: 1, leafnodes: 0, total_conns: 1,
      sent: { msgs: 5, bytes: 15 }, received: { msgs: 5, bytes: 15 }, slow_consumers: 0,
    }]);
  } finally {
    await local.close();
  }
});

test('the index page links every endpoint', async () => {
  const r = await get(m.base, '/');
  assert.equal(r.status, 200);
  assert.equal(r.contentType, 'text/html; charset=utf-8');
  for (const p of ['varz', 'jsz', 'connz', 'accountz', 'accstatz', 'subsz', 'routez', 'leafz', 'gatewayz', 'healthz', 'metrics', 'dashboard']) {
    assert.ok(r.text.includes(`href="./${p}"`), p);
  }
});

test('unknown paths are 404 with Go\'s body and headers', async () => {
  for (const p of ['/nope', '/varz/', '/connz/x', '/stacksz']) {
    const r = await get(m.base, p);
    assert.equal(r.status, 404, p);
    assert.equal(r.text, '404 page not found\n');
    assert.equal(r.contentType, 'text/plain; charset=utf-8');
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
  }
});

test('unclean paths redirect to the cleaned path; escapes are decoded', async () => {
  const r = await get(m.base, '//varz?x=1');
  assert.equal(r.status, 301);
  assert.equal(r.headers.get('location'), '/varz?x=1');
  const e = await get(m.base, '/%76arz');
  assert.equal(e.status, 200);
});

test('HEAD and POST are answered like GET', async () => {
  const h = await get(m.base, '/varz', { method: 'HEAD' });
  assert.equal(h.status, 200);
  assert.equal(h.text, '');
  const p = await get(m.base, '/healthz', { method: 'POST' });
  assert.equal(p.text, '{"status":"ok"}');
});

test('every JSON answer is computed on demand', async () => {
  const a = await getJson(m.base, '/connz');
  await new Promise((r) => setTimeout(r, 5));
  const b = await getJson(m.base, '/connz');
  assert.notEqual(a.now, b.now);
});

test('http_base_path moves every endpoint under it', async () => {
  const s = await startMonitored({ http_base_path: 'mon/' });
  try {
    assert.equal((await get(s.base, '/mon/varz')).status, 200);
    assert.equal((await getJson(s.base, '/mon/varz')).http_base_path, 'mon/', 'reported as configured');
    const root = await get(s.base, '/mon');
    assert.equal(root.status, 200);
    assert.ok(root.text.includes('href="./mon/connz"'));
    assert.equal((await get(s.base, '/mon/')).status, 404);
    assert.equal((await get(s.base, '/varz')).status, 404);
    assert.equal((await get(s.base, '/')).status, 404);
    const stats = (await getJson(s.base, '/mon/varz')).http_req_stats as Record<string, number>;
    assert.equal(stats['/varz'], 3, 'counted under the plain endpoint name');
  } finally {
    await s.close();
  }
});

test('logs where it listens; close() frees the port', async () => {
  const log = new LogCapture();
  const srv = await startNatter({ http_port: -1, logger: log });
  const url = new URL(srv.server.monitorURLs[0]);
  assert.ok(log.lines.includes(`[INF] Starting http monitor on 127.0.0.1:${url.port}`), log.text());
  await srv.close();
  await assert.rejects(fetch(srv.server.monitorURLs[0] + '/varz'));
});

test('monitoring follows the client host unless http_host says otherwise', async () => {
  const s = await startMonitored({ host: '127.0.0.1' });
  try {
    assert.match(s.base, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal((await getJson(s.base, '/varz')).http_host, '127.0.0.1');
  } finally {
    await s.close();
  }
});
