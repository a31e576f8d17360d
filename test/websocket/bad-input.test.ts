/**
 * Bad input on the websocket port, replayed against Natter and nats-server
 * 2.9.10 alike: malformed upgrade requests and wrong origins (same status,
 * body and logged reason), framing violations (same close status), frames
 * split at every byte (same protocol answers), oversized messages, a
 * connection that never upgrades. Throughout, a well-behaved client on the
 * same server keeps working.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect as wsConnect, StringCodec, type NatsConnection } from 'nats.ws';
import net from 'node:net';
import { closeAllNatter } from '../helpers/natter.js';
import { LogCapture } from '../helpers/log-capture.js';
import { sleep, waitUntil } from '../helpers/wait.js';
import {
  frame, installWebSocketGlobal, rawHttp, rawWebsocket, startWsNatsServer, startWsNatter, upgradeRequest,
  type RawHttpAnswer, type RawWs, type WsNatsServer, type WsNatter,
} from './helpers.js';

const sc = StringCodec();
// Distinct hosts: nats-server 2.9.10 keeps one allowed origin per host (a later entry replaces an earlier one), later versions all of them, as Natter does.
const BLOCK = { allowed_origins: ['http://good.example', 'https://other.example:8443'] };
const BLOCK_CONF = 'allowed_origins: ["http://good.example", "https://other.example:8443"]';

let ours: WsNatter;
let ref: WsNatsServer;
let log: LogCapture;
/** A client that must keep working whatever the others send. */
let bystander: NatsConnection;

before(async () => {
  installWebSocketGlobal();
  log = new LogCapture();
  ours = await startWsNatter(BLOCK, { logger: log, max_payload: 64 * 1024 });
  ref = await startWsNatsServer(BLOCK_CONF, 'max_payload: 65536');
  bystander = await wsConnect({ servers: ours.wsUrl });
  bystander.subscribe('alive', { callback: (_e, m) => { m.respond(m.data); } });
  await bystander.flush();
});

after(async () => {
  // The bystander saw everything and still answers.
  const probe = await wsConnect({ servers: ours.wsUrl });
  const r = await probe.request('alive', sc.encode('still'), { timeout: 2000 });
  assert.equal(sc.decode(r.data), 'still');
  await probe.close();
  await bystander.close();
  await ref.stop();
  await closeAllNatter();
});

/** The `websocket handshake error: <reason>` lines, in order. */
function handshakeReasons(text: string): string[] {
  return [...text.matchAll(/websocket handshake error: ([^\n]*)/g)].map((m) => m[1].trim());
}

/** The HTTP answer, or a 0 status and empty fields when the server closed without one. */
async function answerOrClose(port: number, request: string | Buffer): Promise<RawHttpAnswer> {
  try {
    return await rawHttp(port, request);
  } catch {
    return { status: 0, headers: {}, body: '', raw: '' };
  }
}

test('bad upgrade requests are answered and logged as nats-server answers and logs them', async () => {
  const cases: Array<(port: number) => string | Buffer> = [
    (p) => `GET / HTTP/1.1\r\nHost: 127.0.0.1:${p}\r\n\r\n`,
    (p) => upgradeRequest(p).replace('GET', 'POST').replace('\r\n\r\n', '\r\nContent-Length: 0\r\n\r\n'),
    (p) => upgradeRequest(p).replace('Connection: Upgrade', 'Connection: keep-alive'),
    (p) => upgradeRequest(p).replace(/Sec-WebSocket-Key: [^\r]*\r\n/, ''),
    (p) => upgradeRequest(p).replace('Version: 13', 'Version: 12'),
    (p) => upgradeRequest(p, 'Origin: http://evil.example\r\n'),
    (p) => upgradeRequest(p, 'Origin: https://good.example\r\n'),
    (p) => upgradeRequest(p, 'Origin: not a url\r\n'),
    (p) => upgradeRequest(p) + 'PING\r\n',
  ];
  const before = handshakeReasons(ref.log()).length;
  const logBefore = handshakeReasons(log.text()).length;
  for (const [i, make] of cases.entries()) {
    const a = await answerOrClose(ours.wsPort, make(ours.wsPort));
    const b = await answerOrClose(ref.wsPort, make(ref.wsPort));
    const what = `case ${i}: ${JSON.stringify(make(ours.wsPort).toString())}`;
    assert.equal(a.status, b.status, what);
    assert.equal(a.body, b.body, what);
    for (const h of ['content-type', 'sec-websocket-version', 'x-content-type-options']) assert.equal(a.headers[h], b.headers[h], `${what}: ${h}`);
  }
  await waitUntil(() => handshakeReasons(ref.log()).length - before === cases.length, 3000, 'nats-server logging every refusal');
  const theirs = handshakeReasons(ref.log()).slice(before);
  assert.deepEqual(handshakeReasons(log.text()).slice(logBefore), theirs);

  // A key that is not 16 bytes of base64: nats-server 2.9.10 lets it through, later versions refuse it as here.
  const badKey = await rawHttp(ours.wsPort, upgradeRequest(ours.wsPort, '', 'c2hvcnQ='));
  assert.equal(badKey.status, 400);
  assert.match(log.text(), /websocket handshake error: invalid websocket key/);

  // An allowed origin (scheme and port included) upgrades on both.
  for (const origin of ['http://good.example', 'https://other.example:8443']) {
    for (const port of [ours.wsPort, ref.wsPort]) {
      const ws = await rawWebsocket(port, `Origin: ${origin}\r\n`);
      ws.socket.destroy();
    }
  }
});

test('INFO over websocket has nats-server\'s fields: no TLS fields, the client port\'s host and port', async () => {
  const info = async (port: number, clientPort: number): Promise<Record<string, unknown>> => {
    const ws = await rawWebsocket(port);
    await waitUntil(() => ws.reader.text().includes('\r\n'), 3000, 'INFO');
    ws.socket.destroy();
    const json = JSON.parse(ws.reader.text().replace(/^INFO /, '').trim()) as Record<string, unknown>;
    assert.equal(json.port, clientPort);
    return json;
  };
  const a = await info(ours.wsPort, ours.port);
  const b = await info(ref.wsPort, ref.port);
  // Natter adds its own version; ids, versions and the runtime differ by nature.
  const keys = (o: Record<string, unknown>): string[] => Object.keys(o).filter((k) => k !== 'natter_version');
  assert.deepEqual(keys(a), keys(b));
  for (const k of ['proto', 'headers', 'max_payload', 'host', 'client_ip']) assert.deepEqual(a[k], b[k], k);
  assert.equal(a.tls_required, undefined);
});

test('a request line the HTTP parser cannot read gets a 400 and the connection closed, on both', async () => {
  const a = await rawHttp(ours.wsPort, 'garbage\r\n\r\n');
  const b = await rawHttp(ref.wsPort, 'garbage\r\n\r\n');
  assert.equal(a.status, 400);
  assert.equal(a.status, b.status);
  assert.equal(a.body, b.body);
});

/**
 * Upgrades, sends CONNECT, then `bytes`; returns the server's close status
 * (null when it sent none) and whether it closed the connection, once it
 * did or a close frame came.
 */
async function violation(port: number, bytes: Buffer): Promise<{ status: number | null; closed: boolean; text: string }> {
  const ws = await rawWebsocket(port);
  ws.socket.write(frame(2, Buffer.from('CONNECT {"verbose":false}\r\nPING\r\n')));
  await waitUntil(() => ws.reader.text().includes('PONG'), 3000, 'PONG after CONNECT');
  let closed = false;
  void ws.closed.then(() => (closed = true));
  ws.socket.write(bytes);
  await Promise.race([ws.closed, waitUntil(() => ws.reader.closeStatus() !== null, 3000, 'a close frame')]).catch(() => undefined);
  const out = { status: ws.reader.closeStatus(), closed, text: ws.reader.text() };
  ws.socket.destroy();
  return out;
}

test('framing violations close the connection with a protocol error (1002)', async () => {
  const pub = Buffer.from('PUB x 1\r\na\r\n');
  // nats-server 2.9.10 closes the connection for these; its close frame (1002 and the
  // reason) is queued but not sent before it closes, which later versions fixed.
  const cases: Array<[string, Buffer]> = [
    ['unmasked frame', frame(2, pub, { mask: false })],
    ['unknown opcode', frame(3, pub)],
    ['continuation without a start', frame(0, pub)],
    ['fragmented control frame', frame(9, Buffer.from('hi'), { fin: false })],
    ['control frame longer than 125 bytes', frame(9, Buffer.alloc(126))],
  ];
  for (const [what, bytes] of cases) {
    const a = await violation(ours.wsPort, bytes);
    const b = await violation(ref.wsPort, bytes);
    assert.equal(a.status, 1002, `${what}: ${JSON.stringify(a)}`);
    assert.ok(b.closed, `nats-server closes on ${what}`);
  }
  // Checks nats-server 2.9.10 does not make yet (later versions do, with 1002): refused here.
  for (const [what, bytes] of [
    ['RSV2 set', Buffer.concat([Buffer.from([0xa2]), frame(2, pub).subarray(1)])],
    ['compressed frame without the extension', frame(2, pub, { rsv1: true })],
  ] as Array<[string, Buffer]>) {
    const a = await violation(ours.wsPort, bytes);
    assert.equal(a.status, 1002, `${what}: ${JSON.stringify(a)}`);
  }
  assert.ok(log.has(/ - wid:\d+ - read error: /), log.text());
});

test('a message over max_payload is refused as nats-server refuses it; a message over the frame limit closes with 1009', async () => {
  const payload = 'x'.repeat(64 * 1024 + 1);
  const pub = Buffer.from(`PUB big ${payload.length}\r\n${payload}\r\n`);
  const a = await violation(ours.wsPort, frame(2, pub));
  const b = await violation(ref.wsPort, frame(2, pub));
  assert.match(a.text, /-ERR 'Maximum Payload Violation'/);
  assert.match(b.text, /-ERR 'Maximum Payload Violation'/);
  assert.equal(a.status, b.status);
  assert.equal(a.status, 1009);
  // A frame announcing more than the websocket message limit (8 max_payloads here) is not read at all.
  const header = Buffer.from([0x82, 0xff, 0, 0, 0, 0, 0, 0x10, 0, 0, 1, 2, 3, 4]);
  const c = await violation(ours.wsPort, header);
  assert.equal(c.status, 1009);
});

/** A session in several frames (one message fragmented, a ping in between), written one byte per write. */
async function byteByByte(port: number): Promise<string> {
  const ws: RawWs = await rawWebsocket(port);
  ws.socket.setNoDelay(true);
  const bytes = Buffer.concat([
    frame(2, Buffer.from('CONNECT {"verbose":false,"headers":true}\r\nSUB s 1\r\n')),
    frame(2, Buffer.from('PUB s 5\r\nhe'), { fin: false }),
    frame(9, Buffer.from('ping')),
    frame(0, Buffer.from('llo\r\nHPUB s 12 14\r\nNATS/1.0\r\n\r\nhi\r\n'), { fin: false }),
    frame(0, Buffer.from('PING\r\n')),
    frame(1, Buffer.from('PUB s 4\r\ntext\r\nPING\r\n')),
  ]);
  for (let i = 0; i < bytes.length; i++) {
    ws.socket.write(bytes.subarray(i, i + 1));
    await new Promise((r) => setImmediate(r));
  }
  await waitUntil(() => (ws.reader.text().match(/PONG/g) ?? []).length === 2, 5000, 'two PONGs');
  const pong = ws.reader.frames.find((f) => f.opcode === 10);
  ws.socket.destroy();
  // The protocol answers, without the INFO (ids differ); the websocket PONG echoes the PING's payload.
  return ws.reader.text().replace(/^INFO [^\n]*\n/, '') + `|pong:${pong?.payload.toString() ?? 'none'}`;
}

test('frames split at every byte, fragmented messages and interleaved control frames parse as on nats-server', async () => {
  const a = await byteByByte(ours.wsPort);
  const b = await byteByByte(ref.wsPort);
  assert.equal(a, b);
  assert.match(a, /MSG s 1 5\r\nhello\r\n/);
});

test('a connection that never sends its upgrade request is cut after handshake_timeout', async () => {
  const srv = await startWsNatter({ handshake_timeout: '300ms' });
  try {
    const s = net.connect(srv.wsPort, '127.0.0.1');
    s.on('error', () => undefined);
    const start = Date.now();
    await new Promise((resolve) => s.once('close', resolve));
    const took = Date.now() - start;
    assert.ok(took >= 250 && took < 3000, `closed after ${took}ms`);
  } finally {
    await srv.close();
  }
});

test('hundreds of half-open upgrades keep nobody else waiting, and are all cut after handshake_timeout', async () => {
  const srv = await startWsNatter({ handshake_timeout: '1s' });
  const service = await wsConnect({ servers: srv.wsUrl });
  const idle: Array<Promise<void>> = [];
  try {
    service.subscribe('echo', { callback: (_e, m) => { m.respond(m.data); } });
    await service.flush();
    const opened = Date.now();
    for (let i = 0; i < 300; i++) {
      const s = net.connect(srv.wsPort, '127.0.0.1');
      s.on('error', () => undefined);
      idle.push(new Promise((resolve) => s.once('close', () => resolve())));
      // A third say nothing, a third stop inside the request line, a third inside the headers.
      s.once('connect', () => {
        if (i % 3 === 1) s.write('GET / HT');
        else if (i % 3 === 2) s.write(upgradeRequest(srv.wsPort).slice(0, 60));
      });
    }
    // Meanwhile a new websocket client gets in and is answered.
    const late = await wsConnect({ servers: srv.wsUrl });
    const r = await late.request('echo', sc.encode('through'), { timeout: 2000 });
    assert.equal(sc.decode(r.data), 'through');
    await late.close();
    await Promise.all(idle);
    const took = Date.now() - opened;
    assert.ok(took < 6000, `all cut after ${took}ms`);
  } finally {
    await service.close();
    await srv.close();
  }
});

test('max_connections counts websocket clients; the refused one is told why, as on the client port', async () => {
  const srv = await startWsNatter({}, { max_connections: 1 });
  try {
    const first = await rawWebsocket(srv.wsPort);
    const second = await rawWebsocket(srv.wsPort);
    await second.closed;
    assert.match(second.reader.text(), /^INFO .*\r\n-ERR 'maximum connections exceeded'\r\n$/s);
    assert.equal(second.reader.closeStatus(), 1008);
    first.socket.destroy();
    await sleep(0);
  } finally {
    await srv.close();
  }
});
