/**
 * The official browser clients over WebSocket against an embedded Natter:
 * nats.ws (v1) and @nats-io/nats-core's wsconnect (v3), with `ws` standing in
 * for the browser's WebSocket. Pub/sub, queue groups, request/reply and
 * headers across websocket and TCP clients; the websocket block's auth
 * override, allowed_connection_types, permissions; permessage-deflate;
 * wss:// with a test CA; /varz and /connz.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { WebSocket, type ClientOptions } from 'ws';
import { AckPolicy, connect as wsConnectV1, headers as headersV1, StringCodec, type NatsConnection as NcV1 } from 'nats.ws';
import { wsconnect, type NatsConnection } from '@nats-io/nats-core';
import { connect as tcpConnect } from '@nats-io/transport-node';
import { pinnedCertId } from '../../src/tls/index.js';
import { closeAllNatter } from '../helpers/natter.js';
import { removeDir, tempStoreDir } from '../helpers/jetstream.js';
import { LogCapture } from '../helpers/log-capture.js';
import { waitUntil } from '../helpers/wait.js';
import { makeCerts, type CertSet } from '../tls/certs.js';
import { frame, installWebSocketGlobal, rawWebsocket, startWsNatter, startWsNatsServer, type WsNatter } from './helpers.js';

const sc = StringCodec();
let certs: CertSet;

before(async () => {
  installWebSocketGlobal();
  certs = await makeCerts();
});
after(async () => {
  await closeAllNatter();
  certs.cleanup();
});

async function collect(nc: NcV1 | NatsConnection, subject: string, n: number, queue?: string): Promise<string[]> {
  const got: string[] = [];
  const sub = nc.subscribe(subject, { queue, max: n });
  for await (const m of sub) got.push(sc.decode(m.data));
  return got;
}

test('nats.ws: pub/sub, queue groups, request/reply and headers, with a TCP client on the other side', async () => {
  const srv = await startWsNatter();
  const ws = await wsConnectV1({ servers: srv.wsUrl });
  const tcp = await tcpConnect({ servers: srv.url });
  try {
    // INFO over websocket carries no TLS fields; the client port's facts otherwise.
    assert.equal(ws.info?.tls_required, undefined);
    assert.equal(ws.info?.port, srv.port);
    // Websocket -> TCP and TCP -> websocket.
    const fromWs = collect(tcp, 'a.>', 3);
    const fromTcp = collect(ws, 'b.*', 3);
    await ws.flush();
    await tcp.flush();
    for (let i = 0; i < 3; i++) {
      ws.publish(`a.${i}.x`, sc.encode(`w${i}`));
      tcp.publish(`b.${i}`, new TextEncoder().encode(`t${i}`));
    }
    assert.deepEqual(await fromWs, ['w0', 'w1', 'w2']);
    assert.deepEqual(await fromTcp, ['t0', 't1', 't2']);

    // A queue group spread over a websocket and a TCP member: each message once.
    let wsGot = 0;
    let tcpGot = 0;
    const q1 = ws.subscribe('work', { queue: 'q', callback: () => { wsGot++; } });
    const q2 = tcp.subscribe('work', { queue: 'q', callback: () => { tcpGot++; } });
    await ws.flush();
    await tcp.flush();
    for (let i = 0; i < 200; i++) tcp.publish('work');
    await waitUntil(() => wsGot + tcpGot === 200, 5000, 'queue deliveries');
    assert.ok(wsGot > 0 && tcpGot > 0, `both members served (${wsGot}/${tcpGot})`);
    q1.unsubscribe();
    q2.unsubscribe();

    // Request/reply both ways, with headers.
    tcp.subscribe('svc.tcp', { callback: (_e, m) => { m.respond(new TextEncoder().encode(`tcp:${m.headers?.get('X-Who') ?? ''}`)); } });
    ws.subscribe('svc.ws', { callback: (_e, m) => { m.respond(sc.encode(`ws:${sc.decode(m.data)}`)); } });
    await tcp.flush();
    await ws.flush();
    const h = headersV1();
    h.set('X-Who', 'browser');
    const r1 = await ws.request('svc.tcp', sc.encode('q'), { timeout: 2000, headers: h });
    assert.equal(sc.decode(r1.data), 'tcp:browser');
    const r2 = await tcp.request('svc.ws', new TextEncoder().encode('hello'), { timeout: 2000 });
    assert.equal(new TextDecoder().decode(r2.data), 'ws:hello');

    // No responders reach a websocket requester too.
    await assert.rejects(ws.request('nobody.home', sc.encode(''), { timeout: 2000 }), /503|no responders/i);

    // A payload near max_payload crosses intact.
    const big = new Uint8Array(1024 * 1024 - 100).map((_, i) => i & 0xff);
    const bigGot = new Promise<Uint8Array>((resolve) => {
      tcp.subscribe('big', { max: 1, callback: (_e, m) => resolve(m.data) });
    });
    await tcp.flush();
    ws.publish('big', big);
    assert.deepEqual(Buffer.from(await bigGot), Buffer.from(big));

    // The connection is an ordinary client: /connz shows it, labelled as nats-server labels websocket clients.
    const labels = [...srv.server.clients.values()].map((c) => c.label());
    assert.ok(labels.some((l) => / - wid:\d+$/.test(l)), labels.join(', '));
  } finally {
    await ws.close();
    await tcp.close();
    await srv.close();
  }
});

test('@nats-io/nats-core wsconnect: publish, subscribe, request/reply', async () => {
  const srv = await startWsNatter();
  const nc = await wsconnect({ servers: srv.wsUrl });
  try {
    nc.subscribe('echo', { callback: (_e, m) => { m.respond(m.data); } });
    const got = collect(nc, 'events', 2);
    await nc.flush();
    nc.publish('events', 'one');
    nc.publish('events', 'two');
    assert.deepEqual(await got, ['one', 'two']);
    const r = await nc.request('echo', 'ping', { timeout: 2000 });
    assert.equal(r.string(), 'ping');
  } finally {
    await nc.close();
    await srv.close();
  }
});

test('the websocket authorization block overrides the top-level user for websocket clients only', async () => {
  const srv = await startWsNatter({ authorization: { user: 'web', password: 'wpass', timeout: 1.5 } });
  try {
    // The client port still needs nothing.
    const tcp = await tcpConnect({ servers: srv.url });
    await tcp.close();
    await assert.rejects(wsConnectV1({ servers: srv.wsUrl }), /Authorization Violation/i);
    await assert.rejects(wsConnectV1({ servers: srv.wsUrl, user: 'web', pass: 'nope' }), /Authorization Violation/i);
    const ws = await wsConnectV1({ servers: srv.wsUrl, user: 'web', pass: 'wpass' });
    assert.equal(ws.info?.auth_required, true);
    await ws.close();
    // /varz shows the override's timeout.
    assert.equal(srv.server.websocket?.varz().auth_timeout, 1.5);
  } finally {
    await srv.close();
  }
});

test('a websocket token override; no_auth_user of the websocket block; allowed_connection_types', async () => {
  const tok = await startWsNatter({ authorization: { token: 's3cret' } });
  try {
    await assert.rejects(wsConnectV1({ servers: tok.wsUrl, token: 'wrong' }), /Authorization Violation/i);
    const ok = await wsConnectV1({ servers: tok.wsUrl, token: 's3cret' });
    await ok.close();
  } finally {
    await tok.close();
  }

  const users = {
    authorization: {
      users: [
        { user: 'tcponly', password: 'p', allowed_connection_types: ['STANDARD'] },
        { user: 'webonly', password: 'p', allowed_connection_types: ['WEBSOCKET'] },
        { user: 'guest', password: 'g', permissions: { publish: { allow: ['public.>'] }, subscribe: { allow: ['public.>', '_INBOX.>'] } } },
      ],
    },
  };
  const srv = await startWsNatter({ no_auth_user: 'guest' }, users);
  try {
    await assert.rejects(wsConnectV1({ servers: srv.wsUrl, user: 'tcponly', pass: 'p' }), /Authorization Violation/i);
    const web = await wsConnectV1({ servers: srv.wsUrl, user: 'webonly', pass: 'p' });
    await web.close();
    await assert.rejects(tcpConnect({ servers: srv.url, user: 'webonly', pass: 'p' }), /Authorization Violation/i);
    // Over TCP no_auth_user is not set: credentials are required there.
    await assert.rejects(tcpConnect({ servers: srv.url }), /Authorization Violation/i);

    // Over websocket, no credentials make the client the guest, with the guest's permissions.
    const guest = await wsConnectV1({ servers: srv.wsUrl });
    // nats-server announces auth_required whenever the websocket block overrides authentication.
    assert.equal(guest.info?.auth_required, true);
    const errors: string[] = [];
    (async () => {
      for await (const s of guest.status()) if (s.type === 'error') errors.push(String(s.data));
    })().catch(() => undefined);
    guest.publish('private.x', sc.encode('no'));
    const got = collect(guest, 'public.x', 1);
    await guest.flush();
    guest.publish('public.x', sc.encode('yes'));
    assert.deepEqual(await got, ['yes']);
    await waitUntil(() => errors.some((e) => /PERMISSIONS_VIOLATION/.test(e)), 3000, 'the publish violation');
    await guest.close();
  } finally {
    await srv.close();
  }
});

test('permessage-deflate is negotiated when the block enables compression and the client asks', async () => {
  const plain = await startWsNatter();
  const compressed = await startWsNatter({ compression: true });
  try {
    const offer = async (url: string): Promise<{ extensions: string; echo: string }> => {
      const ws = new WebSocket(url, { perMessageDeflate: true });
      let extensions = '';
      ws.once('upgrade', (res) => {
        extensions = String(res.headers['sec-websocket-extensions'] ?? '');
      });
      const chunks: string[] = [];
      ws.on('message', (d: Buffer) => chunks.push(d.toString()));
      await new Promise((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('error', reject);
      });
      const payload = 'z'.repeat(5000);
      ws.send(`CONNECT {"verbose":false}\r\nSUB c 1\r\nPUB c ${payload.length}\r\n${payload}\r\nPING\r\n`);
      await waitUntil(() => chunks.join('').includes('PONG'), 3000, 'PONG');
      ws.close();
      return { extensions, echo: chunks.join('') };
    };
    const c = await offer(compressed.wsUrl);
    assert.match(c.extensions, /permessage-deflate/);
    assert.match(c.extensions, /server_no_context_takeover/);
    assert.ok(c.echo.includes(`MSG c 1 5000\r\n${'z'.repeat(5000)}\r\n`));
    const p = await offer(plain.wsUrl);
    assert.equal(p.extensions, '');
    assert.deepEqual(compressed.server.websocket?.varz().compression, true);
  } finally {
    await plain.close();
    await compressed.close();
  }
});

test('wss:// with the block tls: nats.ws trusts the test CA, and INFO still carries no TLS fields', async () => {
  const ca = readFileSync(certs.ca.cert);
  const srv = await startWsNatter({ tls: { cert_file: certs.server.cert, key_file: certs.server.key } });
  // The browser trusts the CA through its store; here the global WebSocket is given it.
  class TrustingWebSocket extends WebSocket {
    constructor(url: string, protocols?: string | string[], opts: ClientOptions = {}) {
      super(url, protocols, { ...opts, ca });
    }
  }
  (globalThis as { WebSocket?: unknown }).WebSocket = TrustingWebSocket;
  try {
    assert.match(srv.wsUrl, /^wss:\/\//);
    const nc = await wsConnectV1({ servers: srv.wsUrl });
    assert.equal(nc.info?.tls_required, undefined);
    const got = collect(nc, 'secure', 1);
    await nc.flush();
    nc.publish('secure', sc.encode('over tls'));
    assert.deepEqual(await got, ['over tls']);
    await nc.close();
    // Without the CA the handshake is refused by the client.
    installWebSocketGlobal();
    await assert.rejects(wsConnectV1({ servers: srv.wsUrl, reconnect: false, timeout: 2000 }));
  } finally {
    installWebSocketGlobal();
    await srv.close();
  }
});

test('/varz websocket section has nats-server\'s keys and values for the same block', async () => {
  const block = 'same_origin: true, allowed_origins: ["http://a.example"], compression: true, handshake_timeout: "3s", advertise: "ws.example:443"';
  const ref = await startWsNatsServer(block, 'http_port: -1');
  const log = new LogCapture();
  let srv: WsNatter | null = null;
  try {
    const monitorPort = Number(/Starting http monitor on [^:]+:(\d+)/.exec(ref.log())?.[1]);
    const refVarz = (await (await fetch(`http://127.0.0.1:${monitorPort}/varz`)).json()) as { websocket: Record<string, unknown> };
    srv = await startWsNatter({ same_origin: true, allowed_origins: ['http://a.example'], compression: true, handshake_timeout: '3s', advertise: 'ws.example:443' }, { logger: log });
    const ours = srv.server.websocket?.varz() ?? {};
    const want = { ...refVarz.websocket, port: srv.wsPort, host: '0.0.0.0' };
    assert.deepEqual(JSON.parse(JSON.stringify(ours)), want);
    assert.ok(log.has(/Listening for websocket clients on ws:\/\/0\.0\.0\.0:\d+/), log.text());
    assert.ok(log.has(/\[WRN\] Websocket not configured with TLS\. DO NOT USE IN PRODUCTION!/), log.text());
    assert.deepEqual(srv.server.ports().websocket, ['ws://ws.example:443']);
  } finally {
    await ref.stop();
    await srv?.close();
  }
});

test('a websocket subscriber that stops reading is cut as a slow consumer, as a TCP one is', async () => {
  const srv = await startWsNatter({}, { max_pending: 256 * 1024, max_payload: 64 * 1024 });
  const tcp = await tcpConnect({ servers: srv.url });
  const slow = await rawWebsocket(srv.wsPort);
  try {
    slow.socket.write(frame(2, Buffer.from('CONNECT {"verbose":false}\r\nSUB flood 1\r\nPING\r\n')));
    await waitUntil(() => slow.reader.text().includes('PONG'), 3000, 'PONG');
    // Stop reading: the kernel buffers fill, then the server's queue.
    slow.socket.pause();
    const chunk = new Uint8Array(32 * 1024);
    for (let i = 0; i < 2000 && srv.server.stats.slowConsumers === 0; i++) {
      tcp.publish('flood', chunk);
      if (i % 50 === 0) await tcp.flush();
    }
    await waitUntil(() => srv.server.stats.slowConsumers === 1, 5000, 'the slow consumer to be cut');
    // /connz?state=closed tells why, in nats-server's words.
    assert.deepEqual(srv.server.closed.list().map((c) => c.reason), ['Slow Consumer (Pending Bytes)']);
  } finally {
    slow.socket.destroy();
    await tcp.close();
    await srv.close();
  }
});

test('wss with verify_and_map: the client certificate names the user; X-Forwarded-For shows in the log prefix; pinned_certs', async () => {
  const ca = readFileSync(certs.ca.cert);
  const log = new LogCapture({ debug: true });
  const srv = await startWsNatter(
    { tls: { cert_file: certs.server.cert, key_file: certs.server.key, ca_file: certs.ca.cert, verify_and_map: true } },
    { logger: log, authorization: { users: [{ user: 'CN=nats.io,OU=ACME' }] } },
  );
  const dial = async (cert: { cert: string; key: string } | null): Promise<string> => {
    const ws = new WebSocket(srv.wsUrl, {
      ca,
      ...(cert === null ? {} : { cert: readFileSync(cert.cert), key: readFileSync(cert.key) }),
      headers: { 'X-Forwarded-For': '10.9.8.7' },
    });
    const got: string[] = [];
    ws.on('message', (d: Buffer) => got.push(d.toString()));
    ws.on('error', () => undefined);
    try {
      await new Promise((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('error', reject);
      });
    } catch (e) {
      return `refused: ${(e as Error).message}`;
    }
    ws.send('CONNECT {"verbose":false}\r\nPING\r\n');
    await waitUntil(() => /PONG|-ERR/.test(got.join('')), 3000, 'an answer');
    ws.close();
    return got.join('').replace(/^INFO [^\n]*\n/, '');
  };
  try {
    assert.equal(await dial(certs.acme), 'PONG\r\n');
    assert.ok(log.has(/10\.9\.8\.7\/127\.0\.0\.1:\d+ - wid:\d+ - Client connection created/), log.text());
    // A certificate from the same CA that maps to no user is an authorization violation.
    assert.match(await dial(certs.cncf), /-ERR 'Authorization Violation'/);
    // verify: no certificate, no handshake.
    assert.match(await dial(null), /^refused/);
  } finally {
    await srv.close();
  }
  // pinned_certs: only the listed client keys get through.
  const pinned = await startWsNatter({
    tls: { cert_file: certs.server.cert, key_file: certs.server.key, ca_file: certs.ca.cert, verify: true, pinned_certs: [pinnedCertId(new X509Certificate(readFileSync(certs.acme.cert)))] },
  }, { logger: log });
  try {
    const open = (cert: { cert: string; key: string }): Promise<string> => new Promise((resolve) => {
      const ws = new WebSocket(pinned.wsUrl, { ca, cert: readFileSync(cert.cert), key: readFileSync(cert.key) });
      ws.once('message', () => {
        ws.close();
        resolve('greeted');
      });
      ws.once('error', (e) => resolve(`refused: ${e.message}`));
    });
    assert.equal(await open(certs.acme), 'greeted');
    assert.match(await open(certs.cncf), /^refused/);
    assert.ok(log.has(/websocket TLS handshake error: certificate not pinned/), log.text());
  } finally {
    await pinned.close();
  }
});

test('lame duck: websocket clients hear ldm and are let go; the websocket port takes no one new', async () => {
  const srv = await startWsNatter({}, { lame_duck_duration: 400, lame_duck_grace_period: 100 });
  const nc = await wsConnectV1({ servers: srv.wsUrl, reconnect: false });
  const statuses: string[] = [];
  (async () => {
    for await (const s of nc.status()) statuses.push(String(s.type));
  })().catch(() => undefined);
  const closed = nc.closed();
  const ldm = srv.server.lameDuck();
  await waitUntil(() => statuses.includes('ldm'), 3000, 'the ldm status');
  await assert.rejects(wsConnectV1({ servers: srv.wsUrl, reconnect: false, timeout: 1000 }));
  await ldm;
  await closed;
  await srv.close();
});

test('JetStream through nats.ws: a stream, publishes acked, a consumer fetched', async () => {
  const dir = tempStoreDir();
  const srv = await startWsNatter({}, { jetstream: { store_dir: dir } });
  const nc = await wsConnectV1({ servers: srv.wsUrl });
  try {
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: 'CHAT', subjects: ['chat.>'] });
    const js = nc.jetstream();
    for (let i = 0; i < 5; i++) {
      const ack = await js.publish('chat.room', sc.encode(`m${i}`));
      assert.equal(ack.seq, i + 1);
    }
    await jsm.consumers.add('CHAT', { durable_name: 'reader', ack_policy: AckPolicy.Explicit });
    const consumer = await js.consumers.get('CHAT', 'reader');
    const got: string[] = [];
    const batch = await consumer.fetch({ max_messages: 5, expires: 2000 });
    for await (const m of batch) {
      got.push(sc.decode(m.data));
      m.ack();
    }
    assert.deepEqual(got, ['m0', 'm1', 'm2', 'm3', 'm4']);
  } finally {
    await nc.close();
    await srv.close();
    removeDir(dir);
  }
});

test('browsers get messages of at most 4 KiB, other clients whole flushes (as nats-server sends them)', async () => {
  const srv = await startWsNatter();
  const tcp = await tcpConnect({ servers: srv.url });
  try {
    const receive = async (userAgent: string): Promise<number[]> => {
      const ws = new WebSocket(srv.wsUrl, { headers: { 'User-Agent': userAgent } });
      const sizes: number[] = [];
      let text = '';
      ws.on('message', (d: Buffer) => {
        sizes.push(d.length);
        text += d.toString('latin1');
      });
      await new Promise((resolve) => ws.once('open', resolve));
      ws.send('CONNECT {"verbose":false}\r\nSUB big 1\r\nPING\r\n');
      await waitUntil(() => text.includes('PONG'), 3000, 'PONG');
      sizes.length = 0;
      text = '';
      tcp.publish('big', new Uint8Array(10_000).fill(65));
      await waitUntil(() => text.endsWith('\r\n') && text.length >= 10_000, 3000, 'the message');
      ws.close();
      assert.equal(text, `MSG big 1 10000\r\n${'A'.repeat(10_000)}\r\n`);
      return sizes;
    };
    const browser = await receive('Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36');
    assert.ok(browser.length >= 3 && browser.every((n) => n <= 4096), browser.join(','));
    assert.deepEqual(await receive('node'), [10_000 + 'MSG big 1 10000\r\n\r\n'.length]);
  } finally {
    await tcp.close();
    await srv.close();
  }
});
