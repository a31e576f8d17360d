/**
 * TLS on the client port, end to end: the official client
 * (@nats-io/transport-node) and raw sockets against an embedded Natter with
 * certificates made by openssl for this run.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type net from 'node:net';
import { connect, type ConnectionOptions, type NatsConnection } from '@nats-io/transport-node';
import type { StartOptions } from '../../src/index.js';
import { peerCertificateOf, pinnedCertId } from '../../src/tls/index.js';
import { closeAllNatter, startNatter, type TestNatter } from '../helpers/natter.js';
import { Rng } from '../helpers/random.js';
import { makeCerts, type CertFiles, type CertSet } from './certs.js';
import { LogCapture } from '../helpers/log-capture.js';
import { dial, readInfo, record, startTls, tlsPing } from './helpers.js';
import { sleep } from '../helpers/wait.js';

let certs: CertSet;

before(async () => {
  certs = await makeCerts();
});
after(async () => {
  await closeAllNatter();
  certs.cleanup();
});

interface Started {
  srv: TestNatter;
  log: LogCapture;
}

async function start(tls: Record<string, unknown>, extra: StartOptions = {}): Promise<Started> {
  const log = new LogCapture({ debug: true });
  const srv = await startNatter({
    logger: log,
    tls: { cert_file: certs.server.cert, key_file: certs.server.key, ca_file: certs.ca.cert, timeout: 2, ...tls },
    ...extra,
  });
  return { srv, log };
}

function clientTls(client?: CertFiles, more: Record<string, unknown> = {}): ConnectionOptions['tls'] {
  return { caFile: certs.ca.cert, ...(client === undefined ? {} : { certFile: client.cert, keyFile: client.key }), ...more };
}

async function connectOnce(srv: TestNatter, tls: ConnectionOptions['tls']): Promise<NatsConnection> {
  return connect({ servers: srv.url, tls, reconnect: false, timeout: 3000 });
}

/** Publishes and receives one message on `nc`. */
async function roundTrip(nc: NatsConnection, subject: string): Promise<void> {
  const sub = nc.subscribe(subject, { max: 1 });
  nc.publish(subject, 'hello');
  for await (const m of sub) assert.equal(m.string(), 'hello');
}

/** A TLS record that starts a ClientHello and never completes it. */
const PARTIAL_CLIENT_HELLO = Buffer.from('160301020001', 'hex');

test('TLS connect and pub/sub with the official client', async () => {
  const { srv } = await start({});
  const nc = await connectOnce(srv, clientTls());
  await roundTrip(nc, 'tls.plain');
  const sub = nc.subscribe('tls.req');
  (async () => {
    for await (const m of sub) m.respond(m.data);
  })();
  assert.equal((await nc.request('tls.req', 'ping')).string(), 'ping');
  await nc.close();
  await srv.close();
});

test('INFO advertises tls_required (and tls_verify with verify) where nats-server puts them', async () => {
  const plain = await startNatter({});
  const plainInfo = await readInfo(await dial(plain.port));
  assert.equal('tls_required' in plainInfo, false);
  await plain.close();

  const { srv } = await start({});
  const info = await readInfo(await dial(srv.port));
  assert.equal(info.tls_required, true);
  assert.equal('tls_verify' in info, false);
  assert.equal('tls_available' in info, false);
  const keys = Object.keys(info);
  assert.ok(keys.indexOf('headers') < keys.indexOf('tls_required') && keys.indexOf('tls_required') < keys.indexOf('max_payload'), keys.join(','));
  await srv.close();

  const v = await start({ verify: true });
  const vinfo = await readInfo(await dial(v.srv.port));
  assert.equal(vinfo.tls_required, true);
  assert.equal(vinfo.tls_verify, true);
  const vkeys = Object.keys(vinfo);
  assert.equal(vkeys.indexOf('tls_verify'), vkeys.indexOf('tls_required') + 1);
  await v.srv.close();
});

test('a plain client gets the INFO and then the connection ends, without another byte', async () => {
  const { srv, log } = await start({});
  const s = await dial(srv.port);
  const t = record(s);
  await sleep(50);
  s.write('CONNECT {"verbose":false}\r\nPING\r\n');
  const closedAfter = await t.closedAfter();
  assert.match(t.text(), /^INFO \{.*\} \r\n$/);
  assert.ok(closedAfter < 1000, `closed after ${closedAfter}ms`);
  await log.waitFor(/\[ERR\] 127\.0\.0\.1:\d+ - cid:\d+ - TLS handshake error: tls: first record does not look like a TLS handshake$/);
  await srv.close();
});

test('a plain client that waits is closed at the TLS timeout', async () => {
  const { srv, log } = await start({ timeout: 0.5 });
  const t = record(await dial(srv.port));
  const closedAfter = await t.closedAfter();
  assert.match(t.text(), /^INFO \{.*\} \r\n$/);
  assert.ok(closedAfter >= 450 && closedAfter < 1500, `closed after ${closedAfter}ms`);
  await log.waitFor(/\[ERR\] 127\.0\.0\.1:\d+ - cid:\d+ - TLS handshake timeout$/);
  await srv.close();
});

test('verify: client certificates from the CA are taken (the seed users ACME and CNCF)', async () => {
  const { srv } = await start({ verify: true });
  for (const who of [certs.acme, certs.cncf]) {
    const nc = await connectOnce(srv, clientTls(who));
    await roundTrip(nc, 'tls.verify');
    await nc.close();
  }
  await srv.close();
});

test('verify: no certificate, an expired one or one from another CA is refused, with nats-server log lines', async () => {
  const { srv, log } = await start({ verify: true });
  // A client that stays up the whole time is not disturbed by the refusals.
  const good = await connectOnce(srv, clientTls(certs.cncf));
  const cases: Array<[CertFiles | undefined, RegExp]> = [
    [undefined, /TLS handshake error: tls: client didn't provide a certificate$/],
    [certs.expired, /TLS handshake error: tls: failed to verify client certificate: x509: certificate has expired or is not yet valid: current time \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ is after 2020-02-01T00:00:00Z$/],
    [certs.wrongCa, /TLS handshake error: tls: failed to verify client certificate: x509: certificate signed by unknown authority$/],
  ];
  for (const [client, line] of cases) {
    await assert.rejects(tlsPing(srv.port, { ca: certs.ca.cert, client }), `${client?.cert ?? 'no certificate'} must be refused`);
    await assert.rejects(connectOnce(srv, clientTls(client)));
    await log.waitFor(line);
    await roundTrip(good, 'tls.still.up');
  }
  assert.equal(srv.server.clients.size, 1);
  await good.close();
  await srv.close();
});

test('the client checks the server certificate: wrong SAN and wrong CA are refused by the client', async () => {
  const wrongSan = await start({ cert_file: certs.wrongSanServer.cert, key_file: certs.wrongSanServer.key });
  await assert.rejects(connectOnce(wrongSan.srv, clientTls()), /altnames|does not match/i);
  await wrongSan.srv.close();
  const wrongCa = await start({ cert_file: certs.wrongCaServer.cert, key_file: certs.wrongCaServer.key });
  await assert.rejects(connectOnce(wrongCa.srv, clientTls()), /self[- ]signed|unable to (get|verify)/i);
  await wrongCa.srv.close();
});

test('pinned_certs: the pinned client certificate is taken, another one from the same CA is not', async () => {
  const id = pinnedCertId(new X509Certificate(readFileSync(certs.cncf.cert)));
  const { srv, log } = await start({ verify: true, pinned_certs: [id.toUpperCase()] });
  const nc = await connectOnce(srv, clientTls(certs.cncf));
  await roundTrip(nc, 'tls.pinned');
  await nc.close();
  await assert.rejects(tlsPing(srv.port, { ca: certs.ca.cert, client: certs.acme }));
  await log.waitFor(/TLS handshake error: certificate not pinned$/);
  const acmeId = pinnedCertId(new X509Certificate(readFileSync(certs.acme.cert)));
  await log.waitFor(new RegExp(`Failed pinned cert test for key id: ${acmeId}$`));
  await srv.close();
});

test('handshake_first: TLS before INFO; a client waiting for a clear INFO gets nothing', async () => {
  const { srv } = await start({ handshake_first: true, timeout: 0.5 });
  const nc = await connectOnce(srv, clientTls(undefined, { handshakeFirst: true }));
  assert.equal(nc.info?.tls_required, true);
  await roundTrip(nc, 'tls.first');
  await nc.close();
  const t = record(await dial(srv.port));
  await t.closedAfter();
  assert.equal(t.text(), '');
  await srv.close();
});

test('handshake_first "auto": TLS-first clients and INFO-first clients both get in', async () => {
  const { srv } = await start({ handshake_first: 'auto' });
  const first = await connectOnce(srv, clientTls(undefined, { handshakeFirst: true }));
  const later = await connectOnce(srv, clientTls());
  await roundTrip(first, 'tls.auto.1');
  await roundTrip(later, 'tls.auto.2');
  await first.close();
  await later.close();
  await srv.close();
});

test('a handshake that never finishes is cut at the timeout; others carry on', async () => {
  const { srv, log } = await start({ timeout: 0.5 });
  const good = await connectOnce(srv, clientTls());
  const s = await dial(srv.port);
  await readInfo(s);
  const t = record(s);
  s.resume();
  s.write(PARTIAL_CLIENT_HELLO);
  const closedAfter = await t.closedAfter();
  assert.ok(closedAfter >= 400 && closedAfter < 1500, `closed after ${closedAfter}ms`);
  assert.equal(t.text(), '');
  await log.waitFor(/TLS handshake timeout$/);
  await roundTrip(good, 'tls.after.timeout');
  await good.close();
  await srv.close();
});

test('garbage on the TLS port: logged, closed, no crash, other clients unaffected', async () => {
  const { srv, log } = await start({ timeout: 1 });
  const good = await connectOnce(srv, clientTls());
  const rng = new Rng(20240611);
  const payloads: Buffer[] = [
    Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
    Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5]),
    Buffer.from([0x16, 0x99, 0x99, 0x00]),
    Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28]),
  ];
  for (let i = 0; i < 12; i++) payloads.push(Buffer.from(Array.from({ length: 1 + rng.int(600) }, () => rng.int(256))));
  const closes: Array<Promise<number>> = [];
  for (const p of payloads) {
    const s: net.Socket = await dial(srv.port);
    await readInfo(s);
    const t = record(s);
    s.resume();
    s.write(p);
    closes.push(t.closedAfter());
  }
  const times = await Promise.all(closes);
  // Everything is closed by the 1s handshake deadline at the latest.
  assert.ok(Math.max(...times) < 2000, times.join(','));
  await log.waitFor(/first record does not look like a TLS handshake/);
  await roundTrip(good, 'tls.after.garbage');
  const again = await connectOnce(srv, clientTls());
  await roundTrip(again, 'tls.new.after.garbage');
  assert.equal(srv.server.clients.size, 2);
  await again.close();
  await good.close();
  await srv.close();
});

test('connection_rate_limit: over the limit gets nats-server\'s -ERR in clear after INFO', async () => {
  const { srv } = await start({ connection_rate_limit: 2 });
  const a = await tlsPing(srv.port, { ca: certs.ca.cert });
  const b = await tlsPing(srv.port, { ca: certs.ca.cert });
  const t = record(await dial(srv.port));
  await t.closedAfter();
  assert.match(t.text(), /^INFO \{.*\} \r\n-ERR 'Connection throttling is active\. Please try again later\.'\r\n$/);
  a.socket.destroy();
  b.socket.destroy();
  await srv.close();
});

test('allow_non_tls: INFO says tls_available; plain and TLS clients both get in', async () => {
  // allow_non_tls is a top-level option next to the tls block (not yet in the typed options).
  const extra: Record<string, unknown> = { allow_non_tls: true };
  const { srv } = await start({}, extra as StartOptions);
  const s = await dial(srv.port);
  const info = await readInfo(s);
  assert.equal(info.tls_available, true);
  assert.equal('tls_required' in info, false);
  const t = record(s);
  s.resume();
  s.write('CONNECT {"verbose":false}\r\nPING\r\n');
  for (let i = 0; i < 50 && !t.text().includes('PONG'); i++) await sleep(10);
  assert.equal(t.text(), 'PONG\r\n');
  s.destroy();
  const secure = await tlsPing(srv.port, { ca: certs.ca.cert });
  secure.socket.destroy();
  await srv.close();
});

test('shutdown cuts connections that are still in their handshake', async () => {
  const { srv } = await start({ timeout: 30 });
  const s = await dial(srv.port);
  await readInfo(s);
  const t = record(s);
  s.resume();
  s.write(PARTIAL_CLIENT_HELLO);
  await sleep(50);
  const began = Date.now();
  await srv.close();
  await t.closedAfter();
  assert.ok(Date.now() - began < 1000);
});

test('the TLS socket is what the Client reads: its peer certificate is there for authentication', async () => {
  const { srv } = await start({ verify: true });
  const nc = await connectOnce(srv, clientTls(certs.cncf));
  await nc.flush();
  const [client] = [...srv.server.clients.values()];
  assert.match(peerCertificateOf(client.socket)?.subject ?? '', /OU=CNCF/);
  await nc.close();
  await srv.close();
  // A plain port has none.
  const plain = await startNatter({});
  const raw = await dial(plain.port);
  await readInfo(raw);
  await sleep(20);
  const [plainClient] = [...plain.server.clients.values()];
  assert.equal(peerCertificateOf(plainClient.socket), null);
  raw.destroy();
  await plain.close();
});

test('the server presents the certificate of cert_file', async () => {
  const { srv } = await start({});
  const raw = await dial(srv.port);
  await readInfo(raw);
  const s = await startTls(raw, { ca: certs.ca.cert });
  assert.match(s.getPeerX509Certificate()?.subject ?? '', /OU=Operator$/m);
  s.destroy();
  await srv.close();
});
