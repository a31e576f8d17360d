/**
 * A real browser: Debian's headless Chromium (driven by playwright-core, as
 * the dashboard test does) loads a small page served by this test, which
 * imports the official nats.ws ESM bundle from node_modules and connects to
 * Natter over wss:// with a certificate from a test CA (Chromium is told to
 * trust that certificate's key). The page publishes, subscribes and does
 * request/reply both ways with a Node client on the client port. The page's
 * origin is the only one the websocket block allows; a page from another
 * origin is refused. A missing Chromium fails the test (.ci/run installs it).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { closeAllNatter } from '../helpers/natter.js';
import { freePort } from '../helpers/ports.js';
import { waitUntil } from '../helpers/wait.js';
import { makeCerts, type CertSet } from '../tls/certs.js';
import { startWsNatter, type WsNatter } from './helpers.js';

const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';
/** The repository root, found from the build output or the sources alike. */
const REPO = (() => {
  let dir = import.meta.dirname;
  for (let up = 0; up < 5 && !existsSync(join(dir, 'tsconfig.json')); up++) dir = join(dir, '..');
  return dir;
})();
const BUNDLE = join(REPO, 'node_modules', 'nats.ws', 'esm', 'nats.js');

let certs: CertSet;
let browser: Browser;
let pages: http.Server;
let pageOrigin: string;
let otherOrigin: string;
let srv: WsNatter;
let nc: NatsConnection;

/** The page: it only loads the bundle; the test drives it with page.evaluate. */
const PAGE = `<!doctype html><meta charset="utf-8"><title>natter websocket</title>
<script type="module">import * as nats from '/nats.js'; globalThis.nats = nats; globalThis.ready = true;</script>`;

before(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: the browser test needs Debian's chromium package (apt-get install -y chromium)`);
  certs = await makeCerts();
  const bundle = readFileSync(BUNDLE);
  pages = http.createServer((req, res) => {
    if (req.url === '/nats.js') {
      res.writeHead(200, { 'Content-Type': 'text/javascript' });
      res.end(bundle);
    } else if (req.url === '/') {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      res.end(PAGE);
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  const port = await freePort();
  await new Promise<void>((r) => pages.listen(port, '127.0.0.1', r));
  // Two origins on one page server: the host name is part of the origin.
  pageOrigin = `http://127.0.0.1:${port}`;
  otherOrigin = `http://localhost:${port}`;
  srv = await startWsNatter({
    tls: { cert_file: certs.server.cert, key_file: certs.server.key },
    allowed_origins: [pageOrigin],
  });
  nc = await connect({ servers: srv.url });
  const spki = new X509Certificate(readFileSync(certs.server.cert)).publicKey.export({ type: 'spki', format: 'der' });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync',
      // Trust exactly the test server's key, as a browser trusts a CA-issued certificate.
      `--ignore-certificate-errors-spki-list=${createHash('sha256').update(spki).digest('base64')}`],
  });
});

after(async () => {
  await browser?.close();
  await nc?.close();
  await closeAllNatter();
  await new Promise<void>((r) => (pages === undefined ? r() : pages.close(() => r())));
  certs?.cleanup();
});

async function openPage(origin: string): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  await page.goto(`${origin}/`);
  await page.waitForFunction(() => (globalThis as unknown as { ready?: boolean }).ready === true);
  return { page, problems };
}

test('nats.ws in Chromium over wss://: publish, subscribe, request/reply with a Node client', async () => {
  const { page, problems } = await openPage(pageOrigin);
  const wsUrl = srv.wsUrl.replace('127.0.0.1', 'localhost');
  // Node side: a service the browser calls, and a subscriber for what the browser publishes.
  nc.subscribe('node.svc', { callback: (_e, m) => { m.respond(new TextEncoder().encode(`node got ${new TextDecoder().decode(m.data)}`)); } });
  const fromBrowser: string[] = [];
  nc.subscribe('browser.out', { callback: (_e, m) => { fromBrowser.push(new TextDecoder().decode(m.data)); } });
  await nc.flush();

  // Browser side: connects, serves browser.svc, collects browser.in, publishes, and calls node.svc.
  const reply = await page.evaluate(async (url: string) => {
    type Nats = typeof import('nats.ws');
    const w = globalThis as unknown as { nats: Nats; nc: import('nats.ws').NatsConnection; got: string[] };
    const { connect, StringCodec } = w.nats;
    const sc = StringCodec();
    const nc = await connect({ servers: url });
    w.nc = nc;
    w.got = [];
    nc.subscribe('browser.svc', { callback: (_e, m) => { m.respond(sc.encode(`browser got ${sc.decode(m.data)}`)); } });
    nc.subscribe('browser.in', { callback: (_e, m) => { w.got.push(sc.decode(m.data)); } });
    await nc.flush();
    for (let i = 0; i < 3; i++) nc.publish('browser.out', sc.encode(`hello ${i}`));
    const r = await nc.request('node.svc', sc.encode('a question'), { timeout: 5000 });
    return sc.decode(r.data);
  }, wsUrl);
  assert.equal(reply, 'node got a question');
  await waitUntil(() => fromBrowser.length === 3, 5000, 'the browser\'s publishes');
  assert.deepEqual(fromBrowser, ['hello 0', 'hello 1', 'hello 2']);

  const r = await nc.request('browser.svc', new TextEncoder().encode('ping'), { timeout: 5000 });
  assert.equal(new TextDecoder().decode(r.data), 'browser got ping');
  for (const s of ['one', 'two']) nc.publish('browser.in', new TextEncoder().encode(s));
  await nc.flush();
  await page.waitForFunction(() => (globalThis as unknown as { got: string[] }).got.length === 2);
  assert.deepEqual(await page.evaluate(() => (globalThis as unknown as { got: string[] }).got), ['one', 'two']);

  // The browser's connection is an ordinary client on the server, labelled as a websocket one.
  assert.ok([...srv.server.clients.values()].some((c) => / - wid:\d+$/.test(c.label())));
  await page.evaluate(async () => (globalThis as unknown as { nc: import('nats.ws').NatsConnection }).nc.close());
  await page.close();
  assert.deepEqual(problems, []);
});

test('a page from an origin the block does not allow cannot connect', async () => {
  const { page } = await openPage(otherOrigin);
  const wsUrl = srv.wsUrl.replace('127.0.0.1', 'localhost');
  const outcome = await page.evaluate(async (url: string) => {
    const w = globalThis as unknown as { nats: typeof import('nats.ws') };
    try {
      const nc = await w.nats.connect({ servers: url, reconnect: false, timeout: 3000 });
      await nc.close();
      return 'connected';
    } catch (e) {
      return `refused: ${(e as Error).message}`;
    }
  }, wsUrl);
  assert.match(outcome, /^refused/);
  await page.close();
});
