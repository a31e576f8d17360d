/**
 * A three-node Natter cluster on loopback: official clients on different
 * nodes, messages crossing routes (plain, wildcards, queue groups exactly
 * once, request/reply, headers, no responders), gossip from a single seed,
 * per-account interest, connect_urls, and the start API's rules.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { headers, type NatsConnection } from '@nats-io/transport-node';
import { startCluster } from '../../src/cluster/cluster.js';
import { ConnectionUpkeep } from '../../src/server/connection-upkeep.js';
import { LogCapture } from '../helpers/log-capture.js';
import { startNatter } from '../helpers/natter.js';
import { sleep, waitUntil } from '../helpers/wait.js';
import {
  client, collect, routeTo, startNode, waitForInterest, waitForMesh, type NatterNode,
} from './helpers.js';

describe('three Natter nodes joined through one seed', () => {
  let seed: NatterNode;
  let b: NatterNode;
  let c: NatterNode;
  let ncA: NatsConnection;
  let ncB: NatsConnection;
  let ncC: NatsConnection;

  before(async () => {
    seed = await startNode('seed');
    // b and c only know the seed: they must find each other through gossip.
    b = await startNode('b', { clusterBlock: { routes: [routeTo(seed.routePort)] } });
    c = await startNode('c', { clusterBlock: { routes: [routeTo(seed.routePort)] } });
    await waitForMesh([seed, b, c], [], 2);
    [ncA, ncB, ncC] = await Promise.all([client(seed.url), client(b.url), client(c.url)]);
  });

  after(async () => {
    await Promise.all([ncA, ncB, ncC].map((nc) => nc?.close()));
    await Promise.all([seed, b, c].map((n) => n?.close()));
  });

  it('forms a full mesh: every node has a route to every other, by name', () => {
    assert.deepEqual(b.cluster.routes().map((r) => r.remoteName).sort(), ['c', 'seed']);
    assert.deepEqual(c.cluster.routes().map((r) => r.remoteName).sort(), ['b', 'seed']);
    const bToC = b.cluster.routes().find((r) => r.remoteName === 'c');
    const cToB = c.cluster.routes().find((r) => r.remoteName === 'b');
    // Exactly one of the two dialled the other (learned by gossip, not configured).
    assert.equal(Number(bToC?.didSolicit) + Number(cToB?.didSolicit), 1);
    assert.equal(bToC?.isConfigured, false);
  });

  it('carries plain and wildcard subscriptions across routes', async () => {
    const exact = collect(ncB, 'orders.new');
    const star = collect(ncC, 'orders.*');
    const full = collect(ncA, 'orders.>');
    await ncB.flush();
    await ncC.flush();
    await ncA.flush();
    await waitForInterest(c, 'orders.new', 1);
    await waitForInterest(b, 'orders.*', 1);
    await waitForInterest(b, 'orders.>', 1);
    ncC.publish('orders.new', '1');
    ncB.publish('orders.eu.big', '2');
    ncA.publish('orders.old', '3');
    await waitUntil(() => exact.length === 1 && star.length === 2 && full.length === 3, 2000, 'deliveries');
    await sleep(50);
    assert.deepEqual(exact, ['orders.new:1']);
    assert.deepEqual(star.sort(), ['orders.new:1', 'orders.old:3']);
    assert.deepEqual(full.sort(), ['orders.eu.big:2', 'orders.new:1', 'orders.old:3']);
  });

  it('delivers each queue message exactly once across the cluster', async () => {
    // Members on b (two, so its route announces weight 2) and c; none on the seed.
    const onB = [collect(ncB, 'work.>', { queue: 'w' }), collect(ncB, 'work.>', { queue: 'w' })];
    const onC = [collect(ncC, 'work.*', { queue: 'w' })];
    await Promise.all([ncB.flush(), ncC.flush()]);
    await waitForInterest(seed, 'work.> w', 1);
    await waitForInterest(seed, 'work.* w', 1);
    await waitForInterest(c, 'work.> w', 1);
    await waitForInterest(b, 'work.* w', 1);
    const bOnSeed = seed.cluster.routes().find((r) => r.remoteName === 'b');
    assert.equal(bOnSeed?.subscriptions.find((s) => s.queue === 'w')?.weight, 2);
    const fromSeed = 600;
    for (let i = 0; i < fromSeed; i++) ncA.publish('work.item', `s${i}`);
    for (let i = 0; i < 100; i++) (i % 2 === 0 ? ncB : ncC).publish('work.item', `x${i}`);
    await Promise.all([ncA.flush(), ncB.flush(), ncC.flush()]);
    const count = (): number => onB[0].length + onB[1].length + onC[0].length;
    await waitUntil(() => count() >= fromSeed + 100, 3000, 'all queue messages');
    await sleep(100);
    const all = [...onB.flat(), ...onC.flat()];
    assert.equal(all.length, fromSeed + 100, 'no message delivered twice');
    assert.equal(new Set(all).size, fromSeed + 100, 'every message delivered once');
    // The seed has no member: its messages were spread over b and c, about 2:1 by weight.
    const seedToB = onB.flat().filter((m) => m.includes(':s')).length;
    const seedToC = onC.flat().filter((m) => m.includes(':s')).length;
    assert.ok(seedToB > seedToC && seedToC > 100, `weighted spread, got b=${seedToB} c=${seedToC}`);
  });

  it('routes a queue message to the one remote node that has the group', async () => {
    const only = collect(ncC, 'single.q', { queue: 'solo' });
    await ncC.flush();
    await waitForInterest(seed, 'single.q solo', 1);
    await waitForInterest(b, 'single.q solo', 1);
    for (let i = 0; i < 50; i++) (i % 2 === 0 ? ncA : ncB).publish('single.q', String(i));
    await waitUntil(() => only.length === 50, 2000, '50 queue messages on c');
    await sleep(50);
    assert.equal(only.length, 50);
  });

  it('answers requests across nodes and reports no responders', async () => {
    ncC.subscribe('svc.echo', { callback: (_e, m) => { m.respond(`c:${m.string()}`); } });
    await ncC.flush();
    await waitForInterest(b, 'svc.echo', 1);
    const r = await ncB.request('svc.echo', 'hi', { timeout: 2000 });
    assert.equal(r.string(), 'c:hi');
    await assert.rejects(ncB.request('svc.nobody', 'x', { timeout: 2000 }), (e: Error & { code?: string }) => {
      assert.match(e.message, /no responders/);
      return true;
    });
  });

  it('carries headers across routes', async () => {
    const got: string[] = [];
    ncA.subscribe('hdr.test', { callback: (_e, m) => { got.push(`${m.headers?.get('X-Trace') ?? ''}|${m.headers?.get('X-Multi') ?? ''}|${m.string()}`); } });
    await ncA.flush();
    await waitForInterest(c, 'hdr.test', 1);
    const h = headers();
    h.set('X-Trace', 'abc');
    h.append('X-Multi', 'one');
    ncC.publish('hdr.test', 'body', { headers: h });
    await waitUntil(() => got.length === 1, 2000, 'header message');
    assert.deepEqual(got, ['abc|one|body']);
  });

  it('withdraws interest when the subscriber goes', async () => {
    const sub = ncB.subscribe('gone.soon');
    await ncB.flush();
    await waitForInterest(seed, 'gone.soon', 1);
    sub.unsubscribe();
    await ncB.flush();
    await waitUntil(() => !seed.cluster.routes().some((r) => r.subscriptions.some((s) => s.subject === 'gone.soon')), 2000, 'RS- on seed');
  });

  it('lists every node in connect_urls', () => {
    for (const n of [seed, b, c]) {
      assert.deepEqual(n.cluster.clientConnectURLs().sort(), [seed, b, c].map((x) => x.url.replace('nats://', '')).sort());
    }
  });
});

describe('accounts across routes', () => {
  const accounts = {
    A: { users: [{ user: 'a', password: 'a' }] },
    B: { users: [{ user: 'b', password: 'b' }] },
  };
  let n1: NatterNode;
  let n2: NatterNode;

  before(async () => {
    n1 = await startNode('n1', { accounts });
    n2 = await startNode('n2', { accounts, clusterBlock: { routes: [routeTo(n1.routePort)] } });
    await waitForMesh([n1, n2], [], 1);
  });

  after(async () => {
    await Promise.all([n1, n2].map((n) => n?.close()));
  });

  it('keeps each account\'s interest and messages to itself', async () => {
    const a1 = await client(n1.url, { user: 'a', pass: 'a' });
    const a2 = await client(n2.url, { user: 'a', pass: 'a' });
    const b2 = await client(n2.url, { user: 'b', pass: 'b' });
    try {
      const got = collect(a1, 'shared.subject');
      await a1.flush();
      await waitForInterest(n2, 'shared.subject', 1);
      const entry = n2.cluster.routes()[0].subscriptions.find((s) => s.subject === 'shared.subject');
      assert.equal(entry?.account, 'A');
      b2.publish('shared.subject', 'from-b');
      a2.publish('shared.subject', 'from-a');
      await waitUntil(() => got.length >= 1, 2000, 'account A message');
      await sleep(100);
      assert.deepEqual(got, ['shared.subject:from-a']);
    } finally {
      await Promise.all([a1.close(), a2.close(), b2.close()]);
    }
  });
});

describe('a peer without header support', () => {
  it('gets routed messages without their headers', async () => {
    const plain = await startNode('plain', { no_header_support: true });
    const rich = await startNode('rich', { logger: new LogCapture({ trace: true }), clusterBlock: { routes: [routeTo(plain.routePort)] } });
    const [ncPlain, ncRich] = await Promise.all([client(plain.url), client(rich.url)]);
    try {
      await waitForMesh([plain, rich], [], 1);
      const got = collect(ncPlain, 'h.strip');
      await ncPlain.flush();
      await waitForInterest(rich, 'h.strip', 1);
      const h = headers();
      h.set('X-Gone', '1');
      ncRich.publish('h.strip', 'payload-only', { headers: h });
      await waitUntil(() => got.length === 1, 2000, 'the stripped message');
      assert.deepEqual(got, ['h.strip:payload-only']);
      // Stripped by the sender, as nats-server does: RMSG with the payload's size, not HMSG.
      assert.ok(rich.log.has(/->> \[RMSG \$G h\.strip 12\]/), rich.log.text());
    } finally {
      await Promise.all([ncPlain.close(), ncRich.close()]);
      await Promise.all([plain.close(), rich.close()]);
    }
  });
});

describe('route permissions', () => {
  it('announces only importable interest and ignores interest it may not export', async () => {
    const guarded = await startNode('guarded', { clusterBlock: { permissions: { import: ['in.>'], export: { allow: ['out.>'], deny: ['out.secret'] } } } });
    const peer = await startNode('peer', { clusterBlock: { routes: [routeTo(guarded.routePort)] } });
    const [ncG, ncP] = await Promise.all([client(guarded.url), client(peer.url)]);
    try {
      await waitForMesh([guarded, peer], [], 1);
      // The peer learns the permissions from INFO (shown by /routez).
      assert.deepEqual(peer.cluster.routes()[0].import, { allow: ['in.>'], deny: null });
      const inG = collect(ncG, 'in.x');
      const notImported = collect(ncG, 'other.x');
      const outP = collect(ncP, 'out.x');
      const secretP = collect(ncP, 'out.secret');
      // Interest travels in order: once these markers arrive, so did everything before them.
      collect(ncG, 'in.marker');
      collect(ncP, 'out.marker');
      await Promise.all([ncG.flush(), ncP.flush()]);
      await waitForInterest(peer, 'in.marker', 1);
      await waitForInterest(guarded, 'out.marker', 1);
      assert.ok(!peer.cluster.routes()[0].subscriptions.some((x) => x.subject === 'other.x'), 'other.x is not importable: never announced');
      const onGuarded = guarded.cluster.routes()[0].subscriptions.map((x) => x.subject);
      assert.ok(onGuarded.includes('out.x'));
      assert.ok(!onGuarded.includes('out.secret'), 'out.secret is not exportable: ignored');
      ncP.publish('in.x', '1');
      ncP.publish('other.x', '2');
      ncG.publish('out.x', '3');
      ncG.publish('out.secret', '4');
      await waitUntil(() => inG.length === 1 && outP.length === 1, 2000, 'allowed traffic');
      await sleep(100);
      assert.deepEqual([notImported, secretP], [[], []]);
    } finally {
      await Promise.all([ncG.close(), ncP.close()]);
      await Promise.all([guarded.close(), peer.close()]);
    }
  });
});

describe('startCluster', () => {
  it('starts with the server, and refuses a second start', async () => {
    const s = await startNatter({ cluster: { listen: '127.0.0.1:-1', name: 'c' } });
    try {
      assert.notEqual(s.server.cluster, null);
      await assert.rejects(startCluster(s.server, { upkeep: new ConnectionUpkeep(s.server) }), /already started/);
    } finally {
      await s.close();
    }
  });

  it('is not started without a cluster block', async () => {
    const plain = await startNatter({});
    try {
      assert.equal(plain.server.cluster, null);
    } finally {
      await plain.close();
    }
  });

  it('refuses to start when the route TLS files cannot be loaded', async () => {
    await assert.rejects(startNatter({ cluster: { listen: '127.0.0.1:-1', tls: { cert_file: '/nonexistent/x.pem', key_file: '/nonexistent/y.pem' } } }), /nonexistent/);
  });

  it('keeps client URLs to itself with no_advertise', async () => {
    const quiet = await startNode('quiet', { clusterBlock: { no_advertise: true } });
    const other = await startNode('other', { clusterBlock: { routes: [routeTo(quiet.routePort)] } });
    try {
      await waitForMesh([quiet, other], [], 1);
      assert.deepEqual(quiet.cluster.clientConnectURLs(), []);
      // Its INFO carried no connect_urls: the other only lists itself.
      assert.deepEqual(other.cluster.clientConnectURLs(), []);
    } finally {
      await Promise.all([quiet.close(), other.close()]);
    }
  });

  it('settles on one generated cluster name when none is configured', async () => {
    const x = await startNode('x', { clusterBlock: { name: undefined } });
    const y = await startNode('y', { clusterBlock: { name: undefined, routes: [routeTo(x.routePort)] } });
    try {
      await waitForMesh([x, y], [], 1);
      assert.equal(x.cluster.varz()?.name, y.cluster.varz()?.name);
      assert.ok(x.log.has(/Cluster name was dynamically generated, consider setting one/));
    } finally {
      await Promise.all([x.close(), y.close()]);
    }
  });
});
