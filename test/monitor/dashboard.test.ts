/**
 * The live dashboard in a real browser: Debian's headless Chromium driven by
 * playwright-core. A missing or broken Chromium fails these tests; it is
 * never a reason to skip them (.ci/run installs the package).
 *
 * The page is loaded from Natter while official clients make traffic, and
 * once more with its JSON answered by a clustered nats-server 2.9.10 with
 * JetStream, so the routes, streams and consumers sections are shown real
 * data before Natter has those subsystems.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { get, getJson, startMonitored } from './helpers.js';
import { freePort } from '../helpers/ports.js';
import { startNatsServer, type NatsServerHandle } from '../helpers/nats-server.js';
import { sleep, waitUntil } from '../helpers/wait.js';

const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';
/** Set to 1 to refresh the README's screenshot (docs/dashboard.png) from this run. */
const UPDATE_SCREENSHOT = process.env.NATTER_UPDATE_SCREENSHOT === '1';
const REPO_SCREENSHOT = join(import.meta.dirname, '..', '..', '..', 'docs', 'dashboard.png');

let browser: Browser;
let shots: string;

before(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: the dashboard tests need Debian's chromium package (apt-get install -y chromium)`);
  }
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  shots = mkdtempSync(join(tmpdir(), 'natter-dashboard-'));
});

after(async () => {
  await browser?.close();
});

/** A page that records script errors, console errors and failed loads, for the test to assert there were none. */
async function open(url: string, onPage?: (p: Page) => Promise<void>): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console: ${msg.text()}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`${r.status()} for ${r.url()}`);
  });
  if (onPage !== undefined) await onPage(page);
  await page.goto(url);
  return { page, problems };
}

/** A tile's raw number (its data-value), or NaN before the first answer. */
async function tile(page: Page, id: string): Promise<number> {
  return Number(await page.getAttribute(`#${id}`, 'data-value'));
}

async function waitFor(page: Page, what: string, cond: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) {
      const status = await page.textContent('#status');
      throw new Error(`timed out waiting for ${what} (status: ${status})`);
    }
    await sleep(100);
  }
}

/** The text of every cell of a section's table, row by row. */
async function rows(page: Page, section: string): Promise<string[][]> {
  return page.$$eval(`#${section} tbody tr`, (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));
}

async function sectionText(page: Page, section: string): Promise<string> {
  return (await page.textContent(`#${section} .body`)) ?? '';
}

test('the dashboard and its files are served with their content types', async () => {
  const m = await startMonitored();
  try {
    const html = await get(m.base, '/dashboard');
    assert.equal(html.status, 200);
    assert.equal(html.contentType, 'text/html; charset=utf-8');
    assert.ok(html.text.includes('src="dashboard/client.js"'), 'relative script URL');
    const js = await get(m.base, '/dashboard/client.js');
    assert.equal(js.status, 200);
    assert.equal(js.contentType, 'text/javascript; charset=utf-8');
    assert.ok(js.text.includes('getJson'), 'the compiled client');
    assert.ok(!js.text.includes('sourceMappingURL'), 'no pointer to a map that is not served');
    const css = await get(m.base, '/dashboard/style.css');
    assert.equal(css.status, 200);
    assert.equal(css.contentType, 'text/css; charset=utf-8');
    assert.equal((await get(m.base, '/dashboard/')).status, 404);
    assert.equal((await get(m.base, '/dashboard/nope.js')).status, 404);
  } finally {
    await m.close();
  }
});

const PW = 'pw';

test('live numbers, rates and the chart move while official clients publish', async (t) => {
  const m = await startMonitored({
    server_name: 'natter-demo',
    accounts: {
      ORDERS: { users: [{ user: 'orders', password: PW }] },
      BILLING: { users: [{ user: 'billing', password: PW }] },
    },
  });
  let load: NodeJS.Timeout | undefined;
  try {
    const { page, problems } = await open(`${m.base}/dashboard`);
    await waitFor(page, 'the first answer', async () => (await page.getAttribute('#status', 'data-state')) === 'live');
    assert.equal(await page.textContent('#server-name'), 'natter-demo');
    assert.equal(await tile(page, 't-in-msgs'), 0);
    assert.equal(await tile(page, 't-connections'), 0);
    assert.equal(await sectionText(page, 'routes'), 'Clustering is not configured.');
    assert.equal(await sectionText(page, 'streams'), 'JetStream is not configured.');
    assert.equal(await sectionText(page, 'consumers'), 'JetStream is not configured.');

    const producer = await m.connect({ user: 'orders', pass: PW, name: 'order-service' });
    const worker1 = await m.connect({ user: 'orders', pass: PW, name: 'order-worker-1' });
    const worker2 = await m.connect({ user: 'orders', pass: PW, name: 'order-worker-2' });
    // A client-chosen name is text, never markup.
    const stats = await m.connect({ user: 'orders', pass: PW, name: 'order-stats' });
    const audit = await m.connect({ user: 'billing', pass: PW, name: '<b>billing-audit</b>' });
    const billing = await m.connect({ user: 'billing', pass: PW, name: 'billing-api' });
    // Each order reaches one worker and the stats service: twice as many messages out as in.
    worker1.subscribe('orders.>', { queue: 'workers', callback: () => {} });
    worker2.subscribe('orders.>', { queue: 'workers', callback: () => {} });
    stats.subscribe('orders.>', { callback: () => {} });
    audit.subscribe('invoices.*', { callback: () => {} });
    audit.subscribe('payments.*', { callback: () => {} });
    await Promise.all([worker1.flush(), worker2.flush(), stats.flush(), audit.flush()]);

    // Bounded load: a varying number of messages every 50 ms, stopped in `finally` at the latest.
    let tick = 0;
    const order = new Uint8Array(512);
    const invoice = new Uint8Array(2048);
    load = setInterval(() => {
      tick++;
      const n = 20 + Math.round(15 * Math.sin(tick / 6));
      for (let i = 0; i < n; i++) producer.publish(`orders.${i % 4}`, order);
      if (tick % 2 === 0) for (let i = 0; i < n / 4; i++) billing.publish('invoices.new', invoice);
    }, 50);

    await waitFor(page, 'messages counted', async () => (await tile(page, 't-in-msgs')) > 0);
    await waitFor(page, 'rates above zero', async () =>
      (await tile(page, 't-in-msgs-rate')) > 0 && (await tile(page, 't-out-msgs-rate')) > 0 &&
      (await tile(page, 't-in-bytes-rate')) > 0 && (await tile(page, 't-out-bytes-rate')) > 0);
    const first = await tile(page, 't-in-msgs');
    await waitFor(page, 'the total to move again', async () => (await tile(page, 't-in-msgs')) > first);
    await waitFor(page, 'a chart with history', async () => Number(await page.getAttribute('#chart-msgs', 'data-points')) >= 4);
    assert.ok(Number(await page.getAttribute('#chart-bytes', 'data-points')) >= 4);

    assert.equal(await tile(page, 't-connections'), 6);
    assert.equal(await tile(page, 't-total-connections'), 6);
    assert.ok((await tile(page, 't-out-msgs')) > (await tile(page, 't-in-msgs')), 'fan-out');
    let subscriptions = 0;
    for (const a of m.srv.server.accounts.values()) subscriptions += a.sublist.size;
    assert.ok(subscriptions >= 5);
    assert.equal(await tile(page, 't-subscriptions'), subscriptions);
    assert.ok((await tile(page, 't-mem')) > 0);

    const conns = await rows(page, 'connections');
    assert.deepEqual(conns.map((r) => r[1]), ['order-service', 'order-worker-1', 'order-worker-2', 'order-stats', '<b>billing-audit</b>', 'billing-api']);
    assert.equal(await page.$('#connections td b'), null, 'a connection name is never parsed as HTML');
    assert.ok(conns.every((r) => r[3] === 'ORDERS' || r[3] === 'BILLING'), 'account column');

    await page.selectOption('#conn-sort', 'subs');
    await waitFor(page, 'the table sorted by subscriptions', async () => (await rows(page, 'connections'))[0]?.[1] === '<b>billing-audit</b>');

    const accounts = await rows(page, 'accounts');
    const orders = accounts.find((r) => r[0] === 'ORDERS');
    assert.ok(orders !== undefined, JSON.stringify(accounts));
    assert.equal(orders[1], '4', 'ORDERS connections');
    assert.ok(accounts.some((r) => r[0] === '$SYS (system)'), 'the system account is marked');
    assert.ok((await sectionText(page, 'subscriptions')).startsWith(`subscriptions${subscriptions}`));

    // A few more seconds of history make a chart worth looking at.
    await waitFor(page, 'a longer history', async () => Number(await page.getAttribute('#chart-msgs', 'data-points')) >= 7, 15_000);
    const shot = join(shots, 'dashboard.png');
    await page.screenshot({ path: shot, fullPage: true });
    assert.ok(statSync(shot).size > 20_000, 'the screenshot has content');
    t.diagnostic(`screenshot: ${shot}`);
    if (UPDATE_SCREENSHOT) {
      mkdirSync(join(REPO_SCREENSHOT, '..'), { recursive: true });
      copyFileSync(shot, REPO_SCREENSHOT);
      t.diagnostic(`copied to ${REPO_SCREENSHOT}`);
    }
    assert.deepEqual(problems, []);
    await page.close();
  } finally {
    clearInterval(load);
    await m.close();
  }
});

test('under http_base_path the page finds its files and endpoints, and says what fails', async () => {
  const m = await startMonitored({ http_base_path: '/mon' });
  let closed = false;
  try {
    // One endpoint failing blanks only the sections it feeds.
    const { page, problems } = await open(`${m.base}/mon/dashboard`, async (p) => {
      await p.route((url) => url.pathname === '/mon/jsz', (route) => route.fulfill({ status: 503, body: 'jsz is down' }));
    });
    await waitFor(page, 'the first answer', async () => (await page.getAttribute('#status', 'data-state')) === 'live');
    assert.equal(await sectionText(page, 'streams'), 'jsz?accounts=true&streams=true&consumers=true: HTTP 503 jsz is down');
    assert.equal(await sectionText(page, 'consumers'), await sectionText(page, 'streams'));
    assert.equal(await sectionText(page, 'routes'), 'Clustering is not configured.');
    const nc = await m.connect({ name: 'under-base-path' });
    nc.publish('x', new Uint8Array(1));
    await nc.flush();
    await waitFor(page, 'the connection', async () => (await tile(page, 't-connections')) === 1 && (await tile(page, 't-in-msgs')) === 1);
    assert.deepEqual((await rows(page, 'connections')).map((r) => r[1]), ['under-base-path']);
    assert.ok(problems.length > 0 && problems.every((p) => p.includes('503')), problems.join('\n'));

    await m.close();
    closed = true;
    await waitFor(page, 'the error state', async () => (await page.getAttribute('#status', 'data-state')) === 'error');
    assert.match((await page.textContent('#status')) ?? '', /unreachable/);
    assert.equal(await tile(page, 't-in-msgs'), 1, 'the last figures stay on screen');
    await page.close();
  } finally {
    if (!closed) await m.close();
  }
});

/** JSON endpoints the dashboard reads; in the next test they are answered by nats-server. */
const JSON_PATHS = new Set(['/varz', '/connz', '/subsz', '/accountz', '/accstatz', '/routez', '/jsz']);

test('routes, streams and consumers render nats-server 2.9.10\'s own answers', async () => {
  const m = await startMonitored();
  const dirs = [mkdtempSync(join(tmpdir(), 'natter-js-a-')), mkdtempSync(join(tmpdir(), 'natter-js-b-'))];
  const servers: NatsServerHandle[] = [];
  let nc: NatsConnection | null = null;
  try {
    const [clusterA, clusterB, monA, monB] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    const node = (name: string, dir: string, own: number, peer: number, extra: string[]): Promise<NatsServerHandle> =>
      startNatsServer({
        args: ['-n', name, '-js', '-sd', dir, '--cluster_name', 'c1',
          '-cluster', `nats://127.0.0.1:${own}`, '-routes', `nats://127.0.0.1:${peer}`, ...extra],
      });
    servers.push(await node('nA', dirs[0], clusterA, clusterB, ['-m', String(monA)]));
    servers.push(await node('nB', dirs[1], clusterB, clusterA, ['-m', String(monB)]));
    const monitors = [`http://127.0.0.1:${monA}`, `http://127.0.0.1:${monB}`];
    await waitUntil(async () => {
      const r = await getJson<{ num_routes: number }>(monitors[0], '/routez');
      const j = await getJson<{ meta_cluster?: { leader?: string } }>(monitors[0], '/jsz');
      return r.num_routes === 1 && (j.meta_cluster?.leader ?? '') !== '';
    }, 15_000, 'the cluster and its JetStream leader');

    nc = await connect({ servers: servers[0].url });
    const api = async (subject: string, body: unknown): Promise<Record<string, unknown>> => {
      const r = await nc!.request(subject, JSON.stringify(body), { timeout: 5000 });
      const answer = r.json<Record<string, unknown>>();
      assert.equal(answer.error, undefined, `${subject}: ${JSON.stringify(answer.error)}`);
      return answer;
    };
    await api('$JS.API.STREAM.CREATE.ORDERS', { name: 'ORDERS', subjects: ['orders.>'], storage: 'memory', num_replicas: 1 });
    await api('$JS.API.CONSUMER.DURABLE.CREATE.ORDERS.proc', { stream_name: 'ORDERS', config: { durable_name: 'proc', ack_policy: 'explicit' } });
    for (let i = 0; i < 7; i++) await api('orders.new', { i });
    // A one-replica stream lives on one of the two servers: the page is shown that one's view.
    const hosts = await Promise.all(monitors.map(async (base) => {
      const j = await getJson<{ streams: number }>(base, '/jsz');
      return j.streams === 1;
    }));
    const monitor = monitors[hosts.indexOf(true)];
    assert.ok(monitor !== undefined, 'a server hosts the stream');
    const name = monitor === monitors[0] ? 'nA' : 'nB';
    const own = (await getJson<{ server_id: string }>(monitor, '/varz')).server_id;
    const peer = (await getJson<{ routes: Array<{ remote_id: string }> }>(monitor, '/routez')).routes[0].remote_id;
    assert.notEqual(own, peer);

    // The page and its files come from Natter; its JSON from nats-server.
    const { page, problems } = await open(`${m.base}/dashboard`, async (p) => {
      await p.route((url) => JSON_PATHS.has(url.pathname), async (route) => {
        const u = new URL(route.request().url());
        await route.fulfill({ response: await route.fetch({ url: monitor + u.pathname + u.search }) });
      });
    });
    await waitFor(page, 'the first answer', async () => (await page.getAttribute('#status', 'data-state')) === 'live');
    assert.equal(await page.textContent('#server-name'), name);

    const routes = await rows(page, 'routes');
    assert.equal(routes.length, 1);
    assert.equal(routes[0][1], peer, 'the remote server');
    assert.match((await page.textContent('#routes-note')) ?? '', /cluster c1 · 1 connected/);

    const streams = await rows(page, 'streams');
    assert.deepEqual(streams.map((r) => r.slice(0, 3)), [['$G', 'ORDERS', '7']]);
    assert.equal(streams[0][6], '1', 'consumer count');
    assert.match((await page.textContent('#streams-note')) ?? '', /^1 stream · 1 consumer · 7 messages · /);

    const consumers = await rows(page, 'consumers');
    assert.deepEqual(consumers.map((r) => r.slice(0, 5)), [['$G', 'ORDERS', 'proc', '0', '7']]);

    assert.ok((await rows(page, 'accounts')).some((r) => r[0] === '$G'));
    await page.screenshot({ path: join(shots, 'dashboard-nats-server.png'), fullPage: true });
    assert.deepEqual(problems, []);
    // A poll may be in flight; its answer no longer matters.
    await page.unrouteAll({ behavior: 'ignoreErrors' });
    await page.close();
  } finally {
    await nc?.close();
    await Promise.all(servers.map((s) => s.stop()));
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    await m.close();
  }
});

test('the consumers panel fills from Natter\'s own /jsz consumer_detail', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'natter-js-dash-'));
  const m = await startMonitored({ jetstream: { store_dir: dir } });
  try {
    const nc = await m.connect();
    const api = async (subject: string, body: unknown): Promise<void> => {
      const answer = (await nc.request(subject, JSON.stringify(body), { timeout: 5000 })).json<Record<string, unknown>>();
      assert.equal(answer.error, undefined, `${subject}: ${JSON.stringify(answer.error)}`);
    };
    await api('$JS.API.STREAM.CREATE.ORDERS', { name: 'ORDERS', subjects: ['orders.>'], storage: 'memory' });
    await api('$JS.API.CONSUMER.DURABLE.CREATE.ORDERS.proc', { stream_name: 'ORDERS', config: { durable_name: 'proc', ack_policy: 'explicit' } });
    await api('$JS.API.CONSUMER.DURABLE.CREATE.ORDERS.audit', { stream_name: 'ORDERS', config: { durable_name: 'audit', ack_policy: 'explicit', deliver_subject: 'audit.in' } });
    for (let i = 0; i < 7; i++) await api('orders.new', { i });
    // proc takes one message and leaves it unacknowledged.
    const taken = await (await jetstream(nc).consumers.get('ORDERS', 'proc')).next({ expires: 5000 });
    assert.ok(taken !== null);

    const { page, problems } = await open(`${m.base}/dashboard`);
    await waitFor(page, 'the first answer', async () => (await page.getAttribute('#status', 'data-state')) === 'live');
    const consumers = await rows(page, 'consumers');
    // account, stream, consumer, delivered seq, pending, ack pending
    assert.deepEqual(consumers.map((r) => r.slice(0, 6)), [
      ['$G', 'ORDERS', 'audit', '0', '7', '0'],
      ['$G', 'ORDERS', 'proc', '1', '6', '1'],
    ]);
    assert.deepEqual(problems, []);
    await page.close();
  } finally {
    await m.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
