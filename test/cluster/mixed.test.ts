/**
 * A mixed cluster of Natter and Debian's nats-server 2.9.10 on loopback.
 * Discovery runs both ways: nats-server N1 is the seed, Natter A joins it,
 * nats-server N2 knows only A, Natter B knows only N2; the four must form
 * a full mesh from gossip. Then official clients on every node exchange
 * messages in both directions.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { headers, type NatsConnection } from '@nats-io/transport-node';
import { freePort } from '../helpers/ports.js';
import { sleep, waitUntil } from '../helpers/wait.js';
import {
  client, collect, routeTo, startNatsNode, startNode, waitForInterest, waitForMesh,
  type NatsNode, type NatterNode,
} from './helpers.js';

describe('Natter and nats-server in one cluster', () => {
  let n1: NatsNode;
  let a: NatterNode;
  let n2: NatsNode;
  let b: NatterNode;
  let conns: Record<'n1' | 'a' | 'n2' | 'b', NatsConnection>;

  before(async () => {
    n1 = await startNatsNode('N1', 'name: c');
    a = await startNode('A', { clusterBlock: { routes: [routeTo(n1.routePort)] } });
    n2 = await startNatsNode('N2', `name: c\nroutes: [${routeTo(a.routePort)}]`);
    b = await startNode('B', { clusterBlock: { routes: [routeTo(n2.routePort)] } });
    await waitForMesh([a, b], [n1, n2], 3);
    const [c1, c2, c3, c4] = await Promise.all([client(n1.url), client(a.url), client(n2.url), client(b.url)]);
    conns = { n1: c1, a: c2, n2: c3, b: c4 };
  });

  after(async () => {
    if (conns !== undefined) await Promise.all(Object.values(conns).map((nc) => nc.close()));
    await Promise.all([a, b].map((n) => n?.close()));
    await Promise.all([n1, n2].map((n) => n?.close()));
  });

  it('forms a full mesh from gossip in both directions', () => {
    assert.deepEqual(a.cluster.routes().map((r) => r.remoteName).sort(), ['B', 'N1', 'N2']);
    assert.deepEqual(b.cluster.routes().map((r) => r.remoteName).sort(), ['A', 'N1', 'N2']);
    // nats-server learned about Natter's clients from route INFO.
    assert.deepEqual(a.cluster.clientConnectURLs().sort(), [n1.url, a.url, n2.url, b.url].map((u) => u.replace('nats://', '')).sort());
  });

  it('carries plain and wildcard messages from every node to every node', async () => {
    const got = {
      n1: collect(conns.n1, 'mix.*.n1'),
      a: collect(conns.a, 'mix.>'),
      n2: collect(conns.n2, 'mix.from.*'),
      b: collect(conns.b, 'mix.from.n1'),
    };
    await Promise.all(Object.values(conns).map((nc) => nc.flush()));
    for (const node of [n1, a, n2, b]) {
      if (node !== a) await waitForInterest(node, 'mix.>', 1);
    }
    await waitForInterest(a, 'mix.from.*', 1);
    await waitForInterest(n1, 'mix.from.n1', 1);
    await waitForInterest(b, 'mix.*.n1', 1);
    for (const [k, nc] of Object.entries(conns)) nc.publish(`mix.from.${k}`, k);
    conns.b.publish('mix.to.n1', 'hello-n1');
    await Promise.all(Object.values(conns).map((nc) => nc.flush()));
    await waitUntil(() => got.a.length === 5 && got.n2.length === 4 && got.b.length === 1 && got.n1.length === 2, 3000, 'all deliveries');
    await sleep(100);
    assert.deepEqual(got.a.sort(), ['mix.from.a:a', 'mix.from.b:b', 'mix.from.n1:n1', 'mix.from.n2:n2', 'mix.to.n1:hello-n1']);
    assert.deepEqual(got.n2.sort(), ['mix.from.a:a', 'mix.from.b:b', 'mix.from.n1:n1', 'mix.from.n2:n2']);
    assert.deepEqual(got.b, ['mix.from.n1:n1']);
    assert.deepEqual(got.n1.sort(), ['mix.from.n1:n1', 'mix.to.n1:hello-n1']);
  });

  it('delivers queue messages exactly once across Natter and nats-server members', async () => {
    // Members on N2 and B only; publishers everywhere.
    const members = [collect(conns.n2, 'jobs.>', { queue: 'q' }), collect(conns.b, 'jobs.*', { queue: 'q' }), collect(conns.b, 'jobs.*', { queue: 'q' })];
    await Promise.all([conns.n2.flush(), conns.b.flush()]);
    await waitForInterest(a, 'jobs.> q', 1);
    await waitForInterest(a, 'jobs.* q', 1);
    await waitForInterest(n1, 'jobs.>', 1);
    await waitForInterest(n1, 'jobs.*', 1);
    await waitForInterest(n2, 'jobs.*', 1);
    await waitForInterest(b, 'jobs.> q', 1);
    const per = 200;
    for (const [k, nc] of Object.entries(conns)) for (let i = 0; i < per; i++) nc.publish('jobs.run', `${k}${i}`);
    await Promise.all(Object.values(conns).map((nc) => nc.flush()));
    const total = per * 4;
    await waitUntil(() => members.reduce((n, l) => n + l.length, 0) >= total, 5000, 'queue deliveries');
    await sleep(150);
    const all = members.flat();
    assert.equal(all.length, total, 'no duplicates');
    assert.equal(new Set(all).size, total, 'nothing lost');
    // Publishers without a local member (N1, A) spread their messages over both servers with members.
    for (const from of ['n1', 'a']) {
      const toN2 = members[0].filter((m) => m.includes(`:${from}`)).length;
      const toB = [...members[1], ...members[2]].filter((m) => m.includes(`:${from}`)).length;
      assert.ok(toN2 > 0 && toB > 0, `${from}: n2=${toN2} b=${toB}`);
    }
  });

  it('answers requests in both directions, with headers', async () => {
    conns.n1.subscribe('svc.n1', { callback: (_e, m) => { m.respond(`n1:${m.string()}:${m.headers?.get('X-Req') ?? ''}`); } });
    conns.b.subscribe('svc.b', {
      callback: (_e, m) => {
        const h = headers();
        h.set('X-Resp', 'natter');
        m.respond(`b:${m.string()}:${m.headers?.get('X-Req') ?? ''}`, { headers: h });
      },
    });
    await Promise.all([conns.n1.flush(), conns.b.flush()]);
    await waitForInterest(a, 'svc.n1', 1);
    await waitForInterest(n2, 'svc.b', 1);
    const h = headers();
    h.set('X-Req', 'yes');
    const r1 = await conns.a.request('svc.n1', 'ping', { timeout: 2000, headers: h });
    assert.equal(r1.string(), 'n1:ping:yes');
    const r2 = await conns.n2.request('svc.b', 'ping', { timeout: 2000, headers: h });
    assert.equal(r2.string(), 'b:ping:yes');
    assert.equal(r2.headers?.get('X-Resp'), 'natter');
  });

  it('reports no responders on both kinds of server', async () => {
    for (const nc of [conns.a, conns.n1]) {
      await assert.rejects(nc.request('svc.none', 'x', { timeout: 2000 }), /no responders/);
    }
  });
});

describe('lame duck mode across a mixed cluster', () => {
  it('drops the client URLs of a server entering lame duck mode, either kind', async () => {
    const n = await startNatsNode('LN', 'name: c');
    const a = await startNode('LA', { clusterBlock: { routes: [routeTo(n.routePort)] } });
    const b = await startNode('LB', { clusterBlock: { routes: [routeTo(n.routePort)] } });
    const hostPort = (u: string): string => u.replace('nats://', '');
    const natsConnectURLs = async (): Promise<string[]> => {
      const v = (await (await fetch(`http://127.0.0.1:${n.httpPort}/varz`)).json()) as { connect_urls?: string[] };
      return v.connect_urls ?? [];
    };
    try {
      await waitForMesh([a, b], [n], 2);
      assert.ok(b.cluster.clientConnectURLs().includes(hostPort(a.url)));
      assert.ok((await natsConnectURLs()).includes(hostPort(a.url)));
      a.cluster.enterLameDuck();
      await waitUntil(() => !b.cluster.clientConnectURLs().includes(hostPort(a.url)), 2000, 'Natter dropping the lame duck');
      await waitUntil(async () => !(await natsConnectURLs()).includes(hostPort(a.url)), 2000, 'nats-server dropping the lame duck');
      n.handle.proc.kill('SIGUSR2');
      await waitUntil(() => !b.cluster.clientConnectURLs().includes(hostPort(n.url)), 3000, 'Natter dropping nats-server in lame duck mode');
    } finally {
      await Promise.all([a.close(), b.close()]);
      await n.handle.kill();
    }
  });
});

describe('every node listing every node, started at once', () => {
  it('resolves the duplicate routes into one mesh', async () => {
    const ports = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    const routes = ports.map((p) => routeTo(p));
    const nodes = await Promise.all([
      startNode('DA', { clusterBlock: { listen: `127.0.0.1:${ports[0]}`, routes } }),
      startNode('DB', { clusterBlock: { listen: `127.0.0.1:${ports[1]}`, routes } }),
      startNatsNode('DN1', `name: c\nroutes: [${routes.join(', ')}]`, { routePort: ports[2] }),
      startNatsNode('DN2', `name: c\nroutes: [${routes.join(', ')}]`, { routePort: ports[3] }),
    ]);
    const [da, db, dn1, dn2] = nodes as [NatterNode, NatterNode, NatsNode, NatsNode];
    try {
      await waitForMesh([da, db], [dn1, dn2], 3, 8000);
      // One route per pair of servers: nothing was kept twice.
      assert.equal(new Set(da.cluster.routes().map((r) => r.remoteId)).size, 3);
    } finally {
      await Promise.all(nodes.map((n) => n.close()));
    }
  });
});
