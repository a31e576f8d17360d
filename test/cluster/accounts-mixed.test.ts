/**
 * Imports and exports across a route between Natter and nats-server
 * 2.9.10: the importer on one kind of server, the exporter's publishers
 * and responders on the other, both ways round. Both servers must read
 * the other's interest the same way: shadow interest in the exporting
 * account for stream imports, `_R_.<prefix>.>` for service responses.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { headers, type NatsConnection } from '@nats-io/transport-node';
import { sleep, waitUntil } from '../helpers/wait.js';
import { collect, routeTo, startNatsNode, startNode, waitForMesh, type NatsNode, type NatterNode } from './helpers.js';
import { ACCOUNTS, ACCOUNTS_CONF, accountInterest, exporter, importer, waitForAccountInterest } from './account-fixtures.js';

/**
 * Waits until nats-server lists, among its routes' subscriptions, `subject`
 * (and queue) in `account`. Its /routez details name a route subscription
 * by its key, "account subject[ queue]", in the `sid` field.
 */
async function waitForNatsInterest(node: NatsNode, account: string, subject: string, queue?: string): Promise<void> {
  const key = [account, subject, ...(queue === undefined ? [] : [queue])].join(' ');
  await waitUntil(async () => {
    const res = await fetch(`http://127.0.0.1:${node.httpPort}/routez?subs=detail`);
    const body = (await res.json()) as { routes: { subscriptions_list_detail?: { sid: string }[] }[] };
    return body.routes.some((r) => (r.subscriptions_list_detail ?? []).some((s) => s.sid === key));
  }, 3000, `${node.name} to hear of interest in "${key}"`);
}

describe('imports across a route between Natter and nats-server', () => {
  let a: NatterNode;
  let n: NatsNode;
  let expA: NatsConnection;
  let impA: NatsConnection;
  let expN: NatsConnection;
  let impN: NatsConnection;

  before(async () => {
    n = await startNatsNode('N', 'name: c', { extra: ACCOUNTS_CONF });
    a = await startNode('A', { accounts: ACCOUNTS, clusterBlock: { routes: [routeTo(n.routePort)] } });
    await waitForMesh([a], [n], 1);
    [expA, impA, expN, impN] = await Promise.all([exporter(a.url), importer(a.url), exporter(n.url), importer(n.url)]);
  });

  after(async () => {
    await Promise.all([expA, impA, expN, impN].map((nc) => nc?.close()));
    await a?.close();
    await n?.close();
  });

  it('brings a stream published on nats-server to an importer on Natter', async () => {
    const all = collect(impA, 'news.>');
    const narrow = collect(impA, 'pfx.feed.x');
    await impA.flush();
    await waitForNatsInterest(n, 'EXP', 'news.>');
    await waitForNatsInterest(n, 'EXP', 'feed.x');
    expN.publish('news.a', '1');
    expN.publish('feed.x', '2');
    expN.publish('feed.y', '3');
    await expN.flush();
    await waitUntil(() => all.length === 1 && narrow.length === 1, 3000, 'deliveries on Natter');
    await sleep(50);
    assert.deepEqual(all, ['news.a:1']);
    assert.deepEqual(narrow, ['pfx.feed.x:2']);
  });

  it('brings a stream published on Natter to an importer on nats-server', async () => {
    const all = collect(impN, 'news.>');
    const mapped = collect(impN, 'warn.>');
    await impN.flush();
    // nats-server announces its shadow subscriptions in the exporting account.
    await waitForAccountInterest(a, 'EXP', 'news.>');
    await waitUntil(() => accountInterest(a, 'EXP').some((s) => s.startsWith('alerts.')), 3000, 'the mapped shadow interest');
    expA.publish('news.b', '1');
    expA.publish('alerts.x.y', '2');
    await expA.flush();
    await waitUntil(() => all.length === 1 && mapped.length === 1, 3000, 'deliveries on nats-server');
    await sleep(50);
    assert.deepEqual(all, ['news.b:1']);
    assert.deepEqual(mapped, ['warn.y.x:2']);
  });

  it('serves a request from Natter with the responder on nats-server', async () => {
    const responder = expN.subscribe('echo', {
      callback: (_e, m) => {
        m.respond(`n:${m.string()}`);
      },
    });
    await expN.flush();
    await waitForAccountInterest(a, 'EXP', 'echo');
    const answers = await Promise.all([1, 2, 3].map((i) => impA.request('imp.echo', String(i), { timeout: 2000 })));
    assert.deepEqual(answers.map((m) => m.string()), ['n:1', 'n:2', 'n:3']);
    // nats-server carried the answers back on Natter's response wildcard.
    const prefix = a.srv.server.accounts.get('EXP')?.responsePrefix ?? '';
    await waitForNatsInterest(n, 'EXP', `${prefix}>`);
    assert.equal(a.srv.server.accounts.get('EXP')?.responses.size, 0);
    responder.unsubscribe();
    await expN.flush();
  });

  it('serves a request from nats-server with the responder on Natter', async () => {
    const responder = expA.subscribe('svc.>', {
      callback: (_e, m) => {
        const info = m.headers?.get('Nats-Request-Info') ?? '{}';
        m.respond(`a:${m.subject}:${(JSON.parse(info) as { acc?: string }).acc ?? ''}`);
      },
    });
    await expA.flush();
    await waitForNatsInterest(n, 'EXP', 'svc.>');
    const h = headers();
    h.set('X-Req', '1');
    const r = await impN.request('svc.one', 'x', { timeout: 2000, headers: h });
    // nats-server stamps the request with the requesting account before it crosses the route.
    assert.equal(r.string(), 'a:svc.one:IMP');
    responder.unsubscribe();
    await expA.flush();
  });

  it('shares an imported queue group between Natter and nats-server members exactly once', async () => {
    const members = [collect(impA, 'news.jobs.*', { queue: 'wq' }), collect(impN, 'news.jobs.*', { queue: 'wq' })];
    await Promise.all([impA.flush(), impN.flush()]);
    await waitForAccountInterest(a, 'EXP', 'news.jobs.* wq');
    await waitForNatsInterest(n, 'EXP', 'news.jobs.*', 'wq');
    const total = 400;
    for (let i = 0; i < total; i++) (i % 2 === 0 ? expA : expN).publish(`news.jobs.${i}`, String(i));
    await Promise.all([expA.flush(), expN.flush()]);
    await waitUntil(() => members[0].length + members[1].length >= total, 5000, 'queue deliveries');
    await sleep(100);
    const seqs = members.flat().map((s) => Number(s.split(':')[1])).sort((x, y) => x - y);
    assert.deepEqual(seqs, Array.from({ length: total }, (_, i) => i));
  });
});
