/**
 * /subsz: sublist statistics, the subscription list, test=, paging, and the
 * old /subscriptionsz name.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { get, getJson, keyOrder, startMonitored, type Monitored } from './helpers.js';
import { waitUntil } from '../helpers/wait.js';

let m: Monitored;
/** `$G` before any client: the server's own services live there too (as on nats-server). */
let baseG: Record<string, number>;
before(async () => {
  m = await startMonitored();
  baseG = await getJson<Record<string, number>>(m.base, '/subsz?acc=$G');
  const a = await m.connect({ name: 'a' });
  const b = await m.connect({ name: 'b' });
  a.subscribe('orders.new');
  a.subscribe('orders.*', { queue: 'q' });
  b.subscribe('orders.>');
  b.subscribe('audit', { max: 3 });
  await a.flush();
  await b.flush();
  let n = 0;
  const probe = b.subscribe('probe', { callback: () => { n++; } });
  await b.flush();
  for (let i = 0; i < 4; i++) a.publish('probe');
  await a.flush();
  await waitUntil(() => n === 4, 3000, 'probe deliveries');
  probe.unsubscribe();
  await b.flush();
});
after(async () => {
  await m.close();
});

test('without subs=1 the answer is the bare statistics', async () => {
  const all = await get(m.base, '/subsz');
  assert.equal(all.status, 200);
  assert.deepEqual(keyOrder(all.text), ['num_subscriptions', 'num_cache', 'num_inserts', 'num_removes', 'num_matches',
    'cache_hit_rate', 'max_fanout', 'avg_fanout']);
  // `$G` alone: the system account's own traffic (STATSZ) keeps moving the server-wide figures.
  const s = await getJson<Record<string, number>>(m.base, '/subsz?acc=$G');
  assert.equal(s.num_subscriptions - baseG.num_subscriptions, 4);
  assert.equal(s.num_inserts - baseG.num_inserts, 5);
  assert.equal(s.num_removes - baseG.num_removes, 1);
  assert.equal(s.num_matches - baseG.num_matches, 4);
  assert.equal(baseG.num_matches, 0);
  assert.equal(s.cache_hit_rate, 0.75, 'three of four publishes hit the cache');
});

test('subs=1 lists every subscription with its account', async () => {
  const r = await get(m.base, '/subsz?subs=1');
  assert.deepEqual(keyOrder(r.text), ['server_id', 'now', 'num_subscriptions', 'num_cache', 'num_inserts', 'num_removes',
    'num_matches', 'cache_hit_rate', 'max_fanout', 'avg_fanout', 'total', 'offset', 'limit', 'subscriptions_list']);
  const s = JSON.parse(r.text) as { total: number; limit: number; subscriptions_list: Array<Record<string, unknown>> };
  assert.equal(s.total, s.subscriptions_list.length);
  assert.equal(s.limit, 1024);
  const subjects = s.subscriptions_list.map((d) => String(d.subject)).filter((x) => !x.startsWith('$SYS.')).sort();
  assert.deepEqual(subjects, ['audit', 'orders.*', 'orders.>', 'orders.new']);
  const q = s.subscriptions_list.find((d) => d.subject === 'orders.*');
  assert.equal(q?.account, '$G');
  assert.equal(q?.qgroup, 'q');
  const audit = s.subscriptions_list.find((d) => d.subject === 'audit');
  assert.equal(audit?.max, 3);
});

test('test= keeps the subscriptions a publish would reach', async () => {
  const s = await getJson<{ subscriptions_list: Array<{ subject: string }> }>(m.base, '/subsz?subs=1&test=orders.new');
  assert.deepEqual(s.subscriptions_list.map((d) => d.subject).sort(), ['orders.*', 'orders.>', 'orders.new']);
  const deep = await getJson<{ subscriptions_list: Array<{ subject: string }> }>(m.base, '/subsz?subs=1&test=orders.a.b');
  assert.deepEqual(deep.subscriptions_list.map((d) => d.subject), ['orders.>']);
  const none = await getJson(m.base, '/subsz?subs=1&test=nothing.here');
  assert.equal(none.subscriptions_list, undefined, 'no matches: bare statistics');
  assert.equal(none.server_id, undefined);
});

test('offset and limit page the list; total is the page size as in nats-server', async () => {
  const all = await getJson<{ subscriptions_list: Array<{ subject: string }> }>(m.base, '/subsz?subs=1');
  const p = await getJson<{ total: number; offset: number; limit: number; subscriptions_list: Array<{ subject: string }> }>(
    m.base, '/subsz?subs=1&offset=1&limit=2');
  assert.equal(p.total, 2);
  assert.equal(p.offset, 1);
  assert.equal(p.limit, 2);
  assert.deepEqual(p.subscriptions_list, all.subscriptions_list.slice(1, 3));
});

test('acc= restricts to one account', async () => {
  assert.equal((await getJson(m.base, '/subsz?acc=$G')).num_subscriptions, baseG.num_subscriptions + 4);
  assert.equal((await getJson(m.base, '/subsz?acc=nope')).num_subscriptions, 0);
});

test('/subscriptionsz is the same endpoint', async () => {
  const s = await getJson(m.base, '/subscriptionsz');
  assert.equal(s.num_subscriptions, (await getJson(m.base, '/subsz')).num_subscriptions);
});

test('bad values get nats-server\'s 400 answers', async () => {
  const cases: Array<[string, string]> = [
    ['?test=foo.*', 'invalid test subject, must be valid publish subject: foo.*'],
    ['?subs=x', `Error decoding boolean for 'subs': strconv.ParseBool: parsing "x": invalid syntax`],
    ['?limit=x', `Error decoding int for 'limit': strconv.Atoi: parsing "x": invalid syntax`],
  ];
  for (const [q, body] of cases) {
    const r = await get(m.base, '/subsz' + q);
    assert.equal(r.status, 400, q);
    assert.equal(r.text, body, q);
  }
});
