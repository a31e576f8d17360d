/**
 * Imports and exports across routes in a three-node Natter cluster: the
 * exporter's publishers and responders on one node, the importers on
 * others. Stream imports travel as shadow interest in the exporting
 * account (same subject, prefix, reordering mapping, queue groups exactly
 * once), service requests go to the exporter's responders elsewhere and
 * their `_R_` answers come back to the requester's node.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { headers, type NatsConnection } from '@nats-io/transport-node';
import { sleep, waitUntil } from '../helpers/wait.js';
import { collect, routeTo, startNode, waitForMesh, type NatterNode } from './helpers.js';
import { ACCOUNTS, accountInterest, exporter, importer, waitForAccountInterest } from './account-fixtures.js';

describe('stream and service imports across a three-node Natter cluster', () => {
  let s1: NatterNode;
  let s2: NatterNode;
  let s3: NatterNode;
  let exp1: NatsConnection;
  let imp2: NatsConnection;
  let imp3: NatsConnection;

  before(async () => {
    s1 = await startNode('s1', { accounts: ACCOUNTS });
    s2 = await startNode('s2', { accounts: ACCOUNTS, clusterBlock: { routes: [routeTo(s1.routePort)] } });
    s3 = await startNode('s3', { accounts: ACCOUNTS, clusterBlock: { routes: [routeTo(s1.routePort)] } });
    await waitForMesh([s1, s2, s3], [], 2);
    [exp1, imp2, imp3] = await Promise.all([exporter(s1.url), importer(s2.url), importer(s3.url)]);
  });

  after(async () => {
    await Promise.all([exp1, imp2, imp3].map((nc) => nc?.close()));
    await Promise.all([s1, s2, s3].map((n) => n?.close()));
  });

  it('delivers a stream import on the same subject to importers on other nodes', async () => {
    const all = collect(imp2, 'news.>');
    const one = collect(imp3, 'news.sport');
    await Promise.all([imp2.flush(), imp3.flush()]);
    // The importers' interest is announced in the exporting account.
    await waitForAccountInterest(s1, 'EXP', 'news.>');
    await waitForAccountInterest(s1, 'EXP', 'news.sport');
    exp1.publish('news.sport', 'goal');
    exp1.publish('news.weather', 'rain');
    await exp1.flush();
    await waitUntil(() => all.length === 2 && one.length === 1, 3000, 'stream deliveries');
    await sleep(50);
    assert.deepEqual(all.sort(), ['news.sport:goal', 'news.weather:rain']);
    assert.deepEqual(one, ['news.sport:goal']);
  });

  it('maps a prefixed import back to the exporter subject, narrow subscriptions included', async () => {
    const narrow = collect(imp2, 'pfx.feed.x');
    const wide = collect(imp3, 'pfx.>');
    await Promise.all([imp2.flush(), imp3.flush()]);
    // pfx.feed.x stands for feed.x in EXP; pfx.> covers the whole import (feed.*).
    await waitForAccountInterest(s1, 'EXP', 'feed.x');
    await waitForAccountInterest(s1, 'EXP', 'feed.*');
    exp1.publish('feed.x', '1');
    exp1.publish('feed.y', '2');
    await exp1.flush();
    await waitUntil(() => narrow.length === 1 && wide.length === 2, 3000, 'prefixed deliveries');
    await sleep(50);
    assert.deepEqual(narrow, ['pfx.feed.x:1']);
    assert.deepEqual(wide.sort(), ['pfx.feed.x:1', 'pfx.feed.y:2']);
  });

  it('follows a mapping that reorders tokens', async () => {
    const got = collect(imp2, 'warn.b.a');
    await imp2.flush();
    // A reordering mapping is not reversed: the whole exported subject is the interest.
    await waitForAccountInterest(s1, 'EXP', 'alerts.*.*');
    exp1.publish('alerts.a.b', 'hit');
    exp1.publish('alerts.b.a', 'miss');
    await exp1.flush();
    await waitUntil(() => got.length === 1, 3000, 'mapped delivery');
    await sleep(50);
    assert.deepEqual(got, ['warn.b.a:hit']);
  });

  it('withdraws shadow interest when the importer unsubscribes', async () => {
    const sub = imp2.subscribe('news.tmp.>');
    await imp2.flush();
    await waitForAccountInterest(s1, 'EXP', 'news.tmp.>');
    sub.unsubscribe();
    await imp2.flush();
    await waitUntil(() => !accountInterest(s1, 'EXP').includes('news.tmp.>'), 3000, 'the shadow interest to go');
    // Interest in the importer's own account is unaffected by the import.
    assert.ok(accountInterest(s1, 'IMP').includes('news.>'));
  });

  it('spreads an imported stream over a queue group on two nodes exactly once', async () => {
    const members = [collect(imp2, 'news.q.*', { queue: 'workers' }), collect(imp3, 'news.q.*', { queue: 'workers' }), collect(imp3, 'news.q.*', { queue: 'workers' })];
    await Promise.all([imp2.flush(), imp3.flush()]);
    await waitForAccountInterest(s1, 'EXP', 'news.q.* workers', 2);
    const n = 300;
    for (let i = 0; i < n; i++) exp1.publish(`news.q.${i}`, String(i));
    await exp1.flush();
    await waitUntil(() => members.reduce((t, m) => t + m.length, 0) >= n, 5000, 'queue deliveries');
    await sleep(100);
    const all = members.flat().map((s) => s.split(':')[1]).sort((a, b) => Number(a) - Number(b));
    assert.deepEqual(all, Array.from({ length: n }, (_, i) => String(i)));
    // Both nodes took part.
    assert.ok(members[0].length > 0 && members[1].length + members[2].length > 0);
  });

  it('serves a request through a service import with the responder on another node', async () => {
    const responder = exp1.subscribe('echo', {
      callback: (_e, m) => {
        m.respond(`echo:${m.string()}`);
      },
    });
    await exp1.flush();
    await waitForAccountInterest(s2, 'EXP', 'echo');
    const r = await imp2.request('imp.echo', 'hi', { timeout: 2000 });
    assert.equal(r.string(), 'echo:hi');
    // The responder saw a reply under EXP's response prefix on s2, whose wildcard s2 announced.
    const prefix = s2.srv.server.accounts.get('EXP')?.responsePrefix ?? '';
    assert.ok(accountInterest(s1, 'EXP').includes(`${prefix}>`));
    // Singleton: the mapping is gone once answered.
    assert.equal(s2.srv.server.accounts.get('EXP')?.responses.size, 0);
    responder.unsubscribe();
  });

  it('serves wildcard service imports with headers from every node, once per request', async () => {
    let served = 0;
    const responder = exp1.subscribe('svc.>', {
      queue: 'api',
      callback: (_e, m) => {
        served++;
        const info = m.headers?.get('Nats-Request-Info') ?? '';
        m.respond(`${m.subject}|${JSON.parse(info === '' ? '{}' : info).acc ?? ''}`);
      },
    });
    await exp1.flush();
    await waitForAccountInterest(s3, 'EXP', 'svc.> api');
    await waitForAccountInterest(s2, 'EXP', 'svc.> api');
    const h = headers();
    h.set('X-Test', '1');
    const answers = await Promise.all([
      imp2.request('svc.a', '', { timeout: 2000, headers: h }),
      imp3.request('svc.b.c', '', { timeout: 2000, headers: h }),
      imp3.request('svc.d', '', { timeout: 2000, headers: h }),
    ]);
    assert.deepEqual(answers.map((m) => m.string()), ['svc.a|IMP', 'svc.b.c|IMP', 'svc.d|IMP']);
    assert.equal(served, 3);
    responder.unsubscribe();
  });

  it('lets a request time out, not fail with no responders, when nobody serves the import anywhere', async () => {
    // The import itself is interest, as in nats-server: the request times out rather than failing fast.
    await assert.rejects(imp2.request('svc.none', '', { timeout: 300 }), /TIMEOUT|timeout/i);
  });

  it('does not run a routed request through the importer\'s service imports again', async () => {
    // A plain IMP subscriber on s3 makes s2 forward IMP svc.x there as well; s3 must not map it
    // into EXP a second time, where its own responder would answer twice.
    const plain = collect(imp3, 'svc.x');
    const exp3 = await exporter(s3.url);
    let served = 0;
    const responder = exp3.subscribe('svc.x', {
      callback: (_e, m) => {
        served++;
        m.respond('ok');
      },
    });
    await Promise.all([imp3.flush(), exp3.flush()]);
    await waitForAccountInterest(s2, 'IMP', 'svc.x');
    await waitForAccountInterest(s2, 'EXP', 'svc.x');
    const r = await imp2.request('svc.x', 'q', { timeout: 2000 });
    assert.equal(r.string(), 'ok');
    await waitUntil(() => plain.length === 1, 3000, 'the plain subscriber');
    await sleep(150);
    assert.equal(served, 1);
    responder.unsubscribe();
    await exp3.close();
  });

  it('follows imports a reload adds for subscriptions made before it', async () => {
    const got = collect(imp2, 'late.>');
    await imp2.flush();
    await waitForAccountInterest(s1, 'IMP', 'late.>');
    assert.ok(!accountInterest(s1, 'EXP').includes('late.>'));
    const next = {
      EXP: { ...ACCOUNTS.EXP, exports: [...ACCOUNTS.EXP.exports, { stream: 'late.>' }] },
      IMP: { ...ACCOUNTS.IMP, imports: [...ACCOUNTS.IMP.imports, { stream: { account: 'EXP', subject: 'late.>' } }] },
    };
    for (const node of [s1, s2, s3]) node.srv.server.reload({ ...node.srv.server.options, accounts: next });
    await waitForAccountInterest(s1, 'EXP', 'late.>');
    exp1.publish('late.news', 'x');
    await exp1.flush();
    await waitUntil(() => got.length === 1, 3000, 'the newly imported message');
    assert.deepEqual(got, ['late.news:x']);
  });
});
