/**
 * /varz under real client load: connection, subscription and message counts,
 * formats, request statistics, JSONP.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { get, getJson, keyOrder, startMonitored, type Monitored } from './helpers.js';
import { waitUntil } from '../helpers/wait.js';

const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/;
const UPTIME = /^(\d+y)?(\d+d)?(\d+h)?(\d+m)?\d+s$/;

let m: Monitored;
before(async () => {
  m = await startMonitored();
});
after(async () => {
  await m.close();
});

test('a fresh server reports zero counts and its configuration', async () => {
  const v = await getJson(m.base, '/varz');
  assert.equal(v.server_id, m.srv.server.id);
  assert.equal(v.host, '127.0.0.1');
  assert.equal(v.port, m.srv.port);
  assert.equal(v.http_host, '127.0.0.1');
  assert.equal(v.http_port, -1, 'the configured value, as nats-server reports it');
  assert.equal(v.connections, 0);
  assert.equal(v.total_connections, 0);
  // Only the server's own `$SYS` services are subscribed, as on nats-server.
  let internal = 0;
  for (const acc of m.srv.server.accounts.values()) internal += acc.sublist.size;
  assert.ok(internal > 0);
  assert.equal(v.subscriptions, internal);
  assert.equal(v.in_msgs, 0);
  assert.equal(v.ping_interval, 120_000_000_000, 'Go durations are integer nanoseconds');
  assert.equal(v.write_deadline, 10_000_000_000);
  assert.equal(v.auth_timeout, 2);
  assert.equal(v.max_payload, 1024 * 1024);
  assert.equal(v.auth_required, undefined, 'omitempty');
  assert.deepEqual(v.cluster, {});
  assert.deepEqual(v.jetstream, {});
  assert.equal(v.routes, 0);
  assert.equal(v.leafnodes, 0);
  assert.match(String(v.start), RFC3339);
  assert.match(String(v.now), RFC3339);
  assert.match(String(v.config_load_time), RFC3339);
  assert.match(String(v.uptime), UPTIME);
  assert.equal(typeof v.mem, 'number');
  assert.ok((v.mem as number) > 0);
  assert.equal(typeof v.cpu, 'number');
});

test('keys come in nats-server order', async () => {
  const r = await get(m.base, '/varz');
  const keys = keyOrder(r.text);
  const expected = ['server_id', 'server_name', 'version', 'proto', 'go', 'host', 'port', 'max_connections',
    'ping_interval', 'ping_max', 'http_host', 'http_port', 'http_base_path', 'https_port', 'auth_timeout',
    'max_control_line', 'max_payload', 'max_pending', 'cluster', 'gateway', 'leaf', 'mqtt', 'websocket',
    'jetstream', 'tls_timeout', 'write_deadline', 'start', 'now', 'uptime', 'mem', 'cores', 'gomaxprocs', 'cpu',
    'connections', 'total_connections', 'routes', 'remotes', 'leafnodes', 'in_msgs', 'out_msgs', 'in_bytes',
    'out_bytes', 'slow_consumers', 'subscriptions', 'http_req_stats', 'config_load_time', 'system_account'];
  assert.deepEqual(keys, expected);
});

test('connections, subscriptions and message totals follow the load', async () => {
  const base = (await getJson(m.base, '/varz')).subscriptions as number;
  const pub = await m.connect({ name: 'pub' });
  const sub1 = await m.connect({ name: 'sub1' });
  const sub2 = await m.connect({ name: 'sub2' });
  let got1 = 0;
  let got2 = 0;
  sub1.subscribe('load.>', { callback: () => { got1++; } });
  sub1.subscribe('other');
  sub2.subscribe('load.a', { callback: () => { got2++; } });
  await sub1.flush();
  await sub2.flush();
  const payload = new Uint8Array(100);
  for (let i = 0; i < 50; i++) pub.publish('load.a', payload);
  for (let i = 0; i < 25; i++) pub.publish('load.b', payload);
  await pub.flush();
  await waitUntil(() => got1 === 75 && got2 === 50, 3000, 'deliveries');

  const v = await getJson(m.base, '/varz');
  assert.equal(v.connections, 3);
  assert.equal(v.total_connections, 3);
  assert.equal(v.subscriptions, base + 3);
  assert.equal(v.in_msgs, 75);
  assert.equal(v.in_bytes, 7500);
  assert.equal(v.out_msgs, 125);
  assert.equal(v.out_bytes, 12500);
  assert.equal(v.slow_consumers, 0);

  await sub2.close();
  await waitUntil(async () => (await getJson(m.base, '/varz')).connections === 2, 3000, 'close seen');
  const after = await getJson(m.base, '/varz');
  assert.equal(after.total_connections, 3);
  assert.equal(after.subscriptions, base + 2);
  assert.equal(after.out_msgs, 125, 'totals keep what closed connections did');
});

test('http_req_stats counts requests per endpoint, keys sorted', async () => {
  await get(m.base, '/healthz');
  await get(m.base, '/healthz');
  await get(m.base, '/');
  const before = (await getJson(m.base, '/varz')).http_req_stats as Record<string, number>;
  const v = await getJson(m.base, '/varz');
  const stats = v.http_req_stats as Record<string, number>;
  assert.equal(stats['/varz'], before['/varz'] + 1, 'this request is counted in its own answer');
  assert.ok(stats['/healthz'] >= 2);
  assert.equal(stats['/'], 1);
  const keys = Object.keys(stats);
  assert.deepEqual(keys, [...keys].sort());
});

test('JSONP with ?callback=', async () => {
  const r = await get(m.base, '/varz?callback=cb');
  assert.equal(r.status, 200);
  assert.equal(r.contentType, 'application/javascript');
  assert.match(r.text, /^cb\(\{\n {2}"server_id": .*\}\)$/s);
});

test('auth_required and max_subscriptions appear when configured', async () => {
  const secured = await startMonitored({ authorization: { user: 'bob', password: 'pw' }, max_subscriptions: 10 });
  try {
    const v = await getJson(secured.base, '/varz');
    assert.equal(v.auth_required, true);
    assert.equal(v.max_subscriptions, 10);
  } finally {
    await secured.close();
  }
});
