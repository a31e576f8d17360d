/**
 * Websocket clients of a cluster are told the websocket URLs of its
 * servers, as nats-server tells them: routes carry `ws_connect_urls` next
 * to `connect_urls`, and a websocket client's INFO `connect_urls` lists
 * websocket URLs (its own server's and every routed server's), never the
 * client port's; an async INFO follows when a server joins or leaves.
 * Natter with Natter, and Natter with nats-server 2.9.10 both ways.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { connect as tcpConnect } from '@nats-io/transport-node';
import { closeAllNatter } from '../helpers/natter.js';
import { freePort, waitForListen } from '../helpers/ports.js';
import { waitUntil } from '../helpers/wait.js';
import { routeTo, startNatsNode, startNode, waitForMesh, type NatterNode } from '../cluster/helpers.js';
import { frame, rawWebsocket, type RawWs } from './helpers.js';

after(() => closeAllNatter());

/** A Natter cluster node with a websocket listener on 127.0.0.1 (so its URL is one, known address). */
async function wsNode(name: string, routes: string[] = []): Promise<NatterNode & { wsPort: number }> {
  const wsPort = await freePort();
  const node = await startNode(name, { websocket: { host: '127.0.0.1', port: wsPort, no_tls: true }, clusterBlock: { routes } });
  return { ...node, wsPort };
}

/** Every INFO the websocket connection received so far, parsed. */
function infos(ws: RawWs): Array<Record<string, unknown>> {
  return ws.reader.text().split('\r\n').filter((l) => l.startsWith('INFO ')).map((l) => JSON.parse(l.slice(5)) as Record<string, unknown>);
}

/** A raw websocket client that said CONNECT with protocol 1 (so the server sends it async INFO). */
async function wsClient(port: number): Promise<RawWs> {
  const ws = await rawWebsocket(port);
  ws.socket.write(frame(2, Buffer.from('CONNECT {"verbose":false,"protocol":1}\r\nPING\r\n')));
  await waitUntil(() => ws.reader.text().includes('PONG'), 3000, 'PONG');
  return ws;
}

/** The first line a route port sends: the route INFO. */
function routeInfo(port: number): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let data = '';
    s.on('data', (d: Buffer) => {
      data += d.toString('latin1');
      const end = data.indexOf('\r\n');
      if (end < 0) return;
      s.destroy();
      resolve(JSON.parse(data.slice(5, end)) as Record<string, unknown>);
    });
    s.on('error', reject);
  });
}

test('Natter routes carry ws_connect_urls; websocket clients hear websocket URLs, TCP clients client URLs, and updates as servers come and go', async () => {
  const a = await wsNode('A');
  const early = await wsClient(a.wsPort);
  const b = await wsNode('B', [routeTo(a.routePort)]);
  try {
    await waitForMesh([a, b], [], 1);
    const info = await routeInfo(b.routePort);
    assert.deepEqual(info.ws_connect_urls, [`127.0.0.1:${b.wsPort}`]);
    // In nats-server's order: right after connect_urls.
    const keys = Object.keys(info);
    assert.equal(keys.indexOf('ws_connect_urls'), keys.indexOf('connect_urls') + 1);

    const both = [`127.0.0.1:${a.wsPort}`, `127.0.0.1:${b.wsPort}`];
    const late = await wsClient(a.wsPort);
    const greeting = infos(late)[0];
    assert.deepEqual(greeting.connect_urls, both);
    assert.equal(greeting.cluster, 'c');

    // The client connected before B came heard of it in an async INFO.
    await waitUntil(() => infos(early).some((i) => JSON.stringify(i.connect_urls) === JSON.stringify(both)), 3000, 'the async INFO with B');

    // A TCP client hears client-port URLs only.
    const tcp = await tcpConnect({ servers: a.url, reconnect: false });
    const urls = tcp.info?.connect_urls ?? [];
    assert.ok(urls.length > 0 && urls.every((u) => !both.includes(u)), urls.join(','));
    await tcp.close();

    // B leaves: its URL goes, in another async INFO.
    await b.close();
    await waitUntil(() => JSON.stringify(infos(early).at(-1)?.connect_urls) === JSON.stringify([`127.0.0.1:${a.wsPort}`]), 3000, 'the async INFO without B');
    early.socket.destroy();
    late.socket.destroy();
  } finally {
    await a.close();
    await b.close();
  }
});

test('with nats-server in the cluster: each side gives its websocket clients the other\'s websocket URL', async () => {
  const nWs = await freePort();
  const n = await startNatsNode('N', 'name: c', { extra: `websocket { host: "127.0.0.1", port: ${nWs}, no_tls: true }` });
  const a = await wsNode('A', [routeTo(n.routePort)]);
  try {
    await waitForListen(nWs);
    await waitForMesh([a], [n], 1);
    const want = (first: number, second: number): string[] => [`127.0.0.1:${first}`, `127.0.0.1:${second}`];
    // Natter's websocket client: its own URL, then nats-server's (from nats-server's route INFO).
    await waitUntil(async () => {
      const c = await wsClient(a.wsPort);
      c.socket.destroy();
      return JSON.stringify(infos(c)[0].connect_urls) === JSON.stringify(want(a.wsPort, nWs));
    }, 3000, 'Natter telling its websocket client both URLs');
    // nats-server's websocket client: nats-server's URL, then Natter's (from Natter's route INFO).
    const c = await wsClient(nWs);
    assert.deepEqual(infos(c)[0].connect_urls, want(nWs, a.wsPort));
    c.socket.destroy();
  } finally {
    await a.close();
    await n.close();
  }
});

test('a cluster node without websocket announces none, and its peer\'s websocket clients hear only websocket URLs', async () => {
  const a = await wsNode('A');
  const b = await startNode('B', { clusterBlock: { routes: [routeTo(a.routePort)] } });
  try {
    await waitForMesh([a, b], [], 1);
    assert.equal((await routeInfo(b.routePort)).ws_connect_urls, undefined);
    // No other server has websocket URLs to offer: the field stays out, as nats-server leaves it out.
    const c = await wsClient(a.wsPort);
    assert.equal(infos(c)[0].connect_urls, undefined);
    assert.equal(infos(c)[0].cluster, 'c');
    c.socket.destroy();
  } finally {
    await a.close();
    await b.close();
  }
});
