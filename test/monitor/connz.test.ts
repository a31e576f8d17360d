/**
 * /connz with real clients: contents, subscription lists, sorting, paging,
 * filters, closed connections and nats-server's 400 answers.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import type net from 'node:net';
import {
  get, getJson, rawClient, rawRoundTrip, startMonitored, type Monitored,
} from './helpers.js';
import { waitUntil } from '../helpers/wait.js';

interface ConnInfo {
  cid: number;
  kind: string;
  type: string;
  ip: string;
  port: number;
  start: string;
  last_activity: string;
  stop?: string;
  reason?: string;
  rtt: string;
  uptime: string;
  idle: string;
  pending_bytes: number;
  in_msgs: number;
  out_msgs: number;
  in_bytes: number;
  out_bytes: number;
  subscriptions: number;
  name?: string;
  lang?: string;
  version?: string;
  authorized_user?: string;
  account?: string;
  subscriptions_list?: string[];
  subscriptions_list_detail?: Array<Record<string, unknown>>;
}

interface Connz {
  server_id: string;
  now: string;
  num_connections: number;
  total: number;
  offset: number;
  limit: number;
  connections: ConnInfo[] | null;
}

const connz = (m: Monitored, q = ''): Promise<Connz> => getJson<Connz>(m.base, '/connz' + q);
const cids = (z: Connz): number[] => (z.connections ?? []).map((c) => c.cid);

let m: Monitored;
before(async () => {
  m = await startMonitored();
  // Three clients with distinct, known traffic so every sort order is checkable.
  const a = await m.connect({ name: 'a' });
  const b = await m.connect({ name: 'b' });
  const c = await m.connect({ name: 'c' });
  let delivered = 0;
  b.subscribe('t.one', { callback: () => { delivered++; } });
  b.subscribe('t.*', { queue: 'workers', callback: () => { delivered++; } });
  b.subscribe('never', { max: 5 });
  c.subscribe('t.one', { callback: () => { delivered++; } });
  await b.flush();
  await c.flush();
  for (let i = 0; i < 10; i++) a.publish('t.one', new Uint8Array(10));
  for (let i = 0; i < 2; i++) c.publish('t.two', new Uint8Array(1000));
  await a.flush();
  await c.flush();
  // a->t.one reaches b twice (plain + queue) and c once; c->t.two reaches b's queue sub.
  await waitUntil(() => delivered === 32, 3000, 'deliveries');
});
after(async () => {
  await m.close();
});

test('lists open connections with nats-server fields', async () => {
  const z = await connz(m);
  assert.equal(z.server_id, m.srv.server.id);
  assert.equal(z.num_connections, 3);
  assert.equal(z.total, 3);
  assert.equal(z.offset, 0);
  assert.equal(z.limit, 1024);
  assert.deepEqual(z.connections?.map((c) => c.name), ['a', 'b', 'c']);
  const [a, b, c] = z.connections ?? [];
  assert.equal(a.kind, 'Client');
  assert.equal(a.type, 'nats');
  assert.equal(a.ip, '127.0.0.1');
  assert.ok(a.port > 0);
  assert.equal(a.lang, 'nats.js');
  assert.equal(typeof a.version, 'string');
  assert.equal(a.in_msgs, 10);
  assert.equal(a.in_bytes, 100);
  assert.equal(a.subscriptions, 0);
  assert.equal(b.subscriptions, 3);
  assert.equal(b.in_msgs, 0);
  assert.equal(b.out_msgs, 22);
  assert.equal(b.out_bytes, 2200);
  assert.equal(c.in_msgs, 2);
  assert.equal(c.in_bytes, 2000);
  assert.equal(c.out_msgs, 10);
  assert.equal(a.subscriptions_list, undefined);
  assert.equal(a.stop, undefined);
  assert.match(a.uptime, /^\d+s$/);
  assert.match(a.start, /^\d{4}-\d\d-\d\dT[\d:.]+Z$/);
  assert.equal(typeof a.pending_bytes, 'number');
});

test('keys come in nats-server order', async () => {
  const r = await get(m.base, '/connz?subs=1&limit=1&offset=1');
  const z = JSON.parse(r.text) as Connz;
  assert.deepEqual(Object.keys(z), ['server_id', 'now', 'num_connections', 'total', 'offset', 'limit', 'connections']);
  assert.deepEqual(Object.keys(z.connections?.[0] ?? {}), ['cid', 'kind', 'type', 'ip', 'port', 'start', 'last_activity',
    'rtt', 'uptime', 'idle', 'pending_bytes', 'in_msgs', 'out_msgs', 'in_bytes', 'out_bytes', 'subscriptions', 'name',
    'lang', 'version', 'subscriptions_list']);
});

test('subs=1 lists subjects; subs=detail gives sid, queue, deliveries and max', async () => {
  const z = await connz(m, '?subs=1');
  assert.deepEqual(z.connections?.[1].subscriptions_list, ['t.one', 't.*', 'never']);
  assert.equal(z.connections?.[0].subscriptions_list, undefined, 'omitted when there are none');
  const d = await connz(m, '?subs=detail');
  const b = d.connections?.[1];
  assert.equal(b?.subscriptions_list, undefined);
  const detail = b?.subscriptions_list_detail ?? [];
  const bCid = b?.cid;
  assert.deepEqual(detail, [
    { subject: 't.one', sid: '1', msgs: 10, cid: bCid },
    { subject: 't.*', qgroup: 'workers', sid: '2', msgs: 12, cid: bCid },
    { subject: 'never', sid: '3', msgs: 0, max: 5, cid: bCid },
  ]);
  const upper = await connz(m, '?subs=DETAIL');
  assert.ok(upper.connections?.[1].subscriptions_list_detail, 'detail is matched case-insensitively');
});

test('sort orders', async () => {
  assert.deepEqual((await connz(m, '?sort=msgs_from')).connections?.map((c) => c.name), ['a', 'c', 'b']);
  assert.deepEqual((await connz(m, '?sort=bytes_from')).connections?.map((c) => c.name), ['c', 'a', 'b']);
  assert.deepEqual((await connz(m, '?sort=msgs_to')).connections?.map((c) => c.name), ['b', 'c', 'a']);
  assert.deepEqual((await connz(m, '?sort=bytes_to')).connections?.map((c) => c.name), ['b', 'c', 'a']);
  assert.deepEqual((await connz(m, '?sort=subs')).connections?.map((c) => c.name), ['b', 'c', 'a']);
  const byCid = cids(await connz(m, '?sort=cid'));
  assert.deepEqual(byCid, [...byCid].sort((x, y) => x - y));
  assert.deepEqual(cids(await connz(m, '?sort=start')), byCid);
  // Oldest connection has the longest uptime; nats-server sorts uptime ascending.
  assert.deepEqual(cids(await connz(m, '?sort=uptime')), [...byCid].reverse());
  for (const s of ['pending', 'last', 'idle', 'rtt']) {
    const z = await connz(m, `?sort=${s}`);
    assert.equal(z.num_connections, 3, s);
  }
  const last = (await connz(m, '?sort=last')).connections ?? [];
  for (let i = 1; i < last.length; i++) assert.ok(Date.parse(last[i - 1].last_activity) >= Date.parse(last[i].last_activity), 'last: most recent first');
});

test('paging: offset and limit apply after sorting', async () => {
  const z = await connz(m, '?sort=msgs_from&limit=1&offset=1');
  assert.equal(z.num_connections, 1);
  assert.equal(z.total, 3);
  assert.equal(z.offset, 1);
  assert.equal(z.limit, 1);
  assert.equal(z.connections?.[0].name, 'c');
  const past = await connz(m, '?offset=10');
  assert.equal(past.num_connections, 0);
  assert.deepEqual(past.connections, []);
  const neg = await connz(m, '?offset=-4&limit=0');
  assert.equal(neg.offset, 0);
  assert.equal(neg.limit, 1024);
});

test('cid= looks up one connection', async () => {
  const all = await connz(m);
  const b = all.connections?.[1];
  const z = await connz(m, `?cid=${b?.cid}`);
  assert.equal(z.num_connections, 1);
  assert.equal(z.limit, 1);
  assert.equal(z.total, 3, 'total still counts every open connection, as in nats-server');
  assert.equal(z.connections?.[0].name, 'b');
  const none = await connz(m, '?cid=99999');
  assert.equal(none.num_connections, 0);
  assert.deepEqual(none.connections, []);
});

test('acc= filters by account; an unknown account gets nats-server\'s empty answer', async () => {
  const g = await connz(m, '?acc=$G');
  assert.equal(g.num_connections, 3);
  const none = await connz(m, '?acc=nope');
  assert.equal(none.server_id, '');
  assert.equal(none.total, 0);
  assert.equal(none.connections, null);
});

test('mqtt_client matches nothing (no MQTT here)', async () => {
  const z = await connz(m, '?mqtt_client=x');
  assert.equal(z.num_connections, 0);
});

test('RTT: the first listing asks the client, later ones show the measured value', async () => {
  await connz(m);
  await waitUntil(async () => (await connz(m)).connections?.every((c) => c.rtt !== '0s') ?? false, 3000, 'rtt measured');
  for (const c of (await connz(m)).connections ?? []) assert.match(c.rtt, /^\d+(\.\d+)?(ns|µs|ms|s)$/);
});

test('bad parameters get nats-server\'s 400 answers', async () => {
  const cases: Array<[string, string]> = [
    ['?sort=foo', 'invalid sorting option: foo'],
    ['?limit=abc', `Error decoding int for 'limit': strconv.Atoi: parsing "abc": invalid syntax`],
    ['?offset=x', `Error decoding int for 'offset': strconv.Atoi: parsing "x": invalid syntax`],
    ['?cid=-1', `Error decoding uint64 for 'cid': strconv.ParseUint: parsing "-1": invalid syntax`],
    ['?subs=maybe', `Error decoding boolean for 'subs': strconv.ParseBool: parsing "maybe": invalid syntax`],
    ['?state=bogus', 'Error decoding state for bogus'],
    ['?auth=2', `Error decoding boolean for 'auth': strconv.ParseBool: parsing "2": invalid syntax`],
    ['?sort=stop', 'sort by stop only valid on closed connections'],
    ['?sort=reason&state=all', 'sort by reason only valid on closed connections'],
    // The first bad parameter in nats-server's decoding order wins.
    ['?sort=foo&limit=z', `Error decoding int for 'limit': strconv.Atoi: parsing "z": invalid syntax`],
  ];
  for (const [q, body] of cases) {
    const r = await get(m.base, '/connz' + q);
    assert.equal(r.status, 400, q);
    assert.equal(r.contentType, 'text/plain; charset=utf-8', q);
    assert.equal(r.text, body, q);
  }
});

test('closed connections: state=closed/all, reasons, frozen counters, sorting by stop and reason', async () => {
  const local = await startMonitored();
  try {
    const keep = await local.connect({ name: 'keep' });
    const gone = await local.connect({ name: 'gone' });
    gone.subscribe('x.y', { queue: 'q' });
    gone.publish('x.y', new Uint8Array(7));
    await gone.flush();
    await gone.close();
    // A protocol error closes the connection from the server side.
    const bad = await rawClient(local.srv.port);
    bad.write('BOGUS\r\n');
    await waitUntil(async () => (await connz(local, '?state=closed')).total === 2, 3000, 'two closed');

    const open = await connz(local);
    assert.deepEqual(open.connections?.map((c) => c.name), ['keep']);
    const closed = await connz(local, '?state=closed&subs=detail');
    assert.equal(closed.total, 2);
    const [g, b] = closed.connections ?? [];
    assert.equal(g.name, 'gone');
    assert.equal(g.reason, 'Client Closed');
    assert.match(g.stop ?? '', /Z$/);
    assert.equal(g.in_msgs, 1);
    assert.equal(g.in_bytes, 7);
    assert.equal(g.out_msgs, 1);
    assert.equal(g.subscriptions, 1);
    assert.equal(g.pending_bytes, 0);
    assert.deepEqual(g.subscriptions_list_detail, [{ account: '$G', subject: 'x.y', qgroup: 'q', sid: '1', msgs: 1, cid: g.cid }]);
    assert.equal(b.reason, 'Parse Error');

    const list = await connz(local, '?state=closed&subs=1');
    assert.deepEqual(list.connections?.[0].subscriptions_list, ['x.y']);

    const all = await connz(local, '?state=all');
    assert.equal(all.total, 3);
    assert.deepEqual(all.connections?.map((c) => c.cid), [1, 2, 3], 'open and closed together in cid order');

    assert.deepEqual((await connz(local, '?state=closed&sort=stop')).connections?.map((c) => c.cid), [b.cid, g.cid]);
    assert.deepEqual((await connz(local, '?state=closed&sort=reason')).connections?.map((c) => c.reason), ['Client Closed', 'Parse Error']);
    // As in nats-server, a cid lookup with state=closed searches the closed list.
    assert.equal((await connz(local, `?state=closed&cid=${g.cid}`)).connections?.[0].name, 'gone');
    // nats-server records no account for global-account connections once closed.
    assert.equal((await connz(local, '?state=closed&acc=$G')).num_connections, 0);
    bad.destroy();
    await keep.flush();
  } finally {
    await local.close();
  }
});

test('auth=1 shows the authenticated user; user= filters on it', async () => {
  const secured = await startMonitored({ authorization: { users: [{ user: 'alice', password: 'pa' }, { user: 'bob', password: 'pb' }] } });
  try {
    await secured.connect({ user: 'alice', pass: 'pa', name: 'A' });
    await secured.connect({ user: 'bob', pass: 'pb', name: 'B' });
    const plain = await connz(secured);
    assert.equal(plain.connections?.[0].authorized_user, undefined, 'only with auth=1');
    const z = await connz(secured, '?auth=1');
    assert.deepEqual(z.connections?.map((c) => c.authorized_user), ['alice', 'bob']);
    assert.equal(z.connections?.[0].account, undefined, 'the global account is not named');
    const bob = await connz(secured, '?auth=true&user=bob');
    assert.deepEqual(bob.connections?.map((c) => c.name), ['B']);
    assert.equal(bob.total, 2, 'nats-server keeps total at the unfiltered count');
  } finally {
    await secured.close();
  }
});

test('paging over many connections, default and sorted', async () => {
  const local = await startMonitored();
  const socks: net.Socket[] = [];
  try {
    for (let i = 0; i < 150; i++) socks.push(await rawClient(local.srv.port));
    // Give every connection a different number of subscriptions (0..4) to sort on.
    for (let i = 0; i < socks.length; i++) {
      let subs = '';
      for (let k = 0; k < i % 5; k++) subs += `SUB s.${k} ${k + 1}\r\n`;
      if (subs !== '') await rawRoundTrip(socks[i], subs);
    }
    const full = await connz(local);
    assert.equal(full.num_connections, 150);
    const fullCids = cids(full);
    assert.deepEqual(fullCids, [...fullCids].sort((x, y) => x - y));

    const pages: number[] = [];
    for (let off = 0; off < 150; off += 40) {
      const p = await connz(local, `?limit=40&offset=${off}`);
      assert.equal(p.total, 150);
      assert.equal(p.num_connections, Math.min(40, 150 - off));
      pages.push(...cids(p));
    }
    assert.deepEqual(pages, fullCids);

    const sortedFull = (await connz(local, '?sort=subs')).connections ?? [];
    for (let i = 1; i < sortedFull.length; i++) assert.ok(sortedFull[i - 1].subscriptions >= sortedFull[i].subscriptions);
    const sortedPages: number[] = [];
    for (let off = 0; off < 150; off += 33) sortedPages.push(...cids(await connz(local, `?sort=subs&limit=33&offset=${off}`)));
    assert.deepEqual(sortedPages, sortedFull.map((c) => c.cid), 'pages of a sorted listing are stable');
  } finally {
    for (const s of socks) s.destroy();
    await local.close();
  }
});
