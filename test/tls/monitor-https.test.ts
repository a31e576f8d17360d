/**
 * HTTPS monitoring (`https_port`) with the client port's `tls` block, as
 * nats-server does it: same certificate, no client certificate asked for,
 * Go's answer to plain HTTP on the HTTPS port, and certificates that follow
 * a reload.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { closeAllNatter, startNatter } from '../helpers/natter.js';
import { makeCerts, type CertSet } from './certs.js';
import { LogCapture } from '../helpers/log-capture.js';
import { dial, httpsGet, PLAIN_HTTP_ON_HTTPS, record } from './helpers.js';
import { sleep } from '../helpers/wait.js';

let certs: CertSet;

before(async () => {
  certs = await makeCerts();
});
after(async () => {
  await closeAllNatter();
  certs.cleanup();
});

test('https_port serves the monitoring endpoints over TLS, without asking for a client certificate', async () => {
  const log = new LogCapture({ debug: true });
  const srv = await startNatter({
    logger: log,
    https_port: -1,
    tls: { cert_file: certs.server.cert, key_file: certs.server.key, ca_file: certs.ca.cert, verify: true },
  });
  const base = srv.server.monitorURLs[0];
  assert.match(base, /^https:\/\/127\.0\.0\.1:\d+$/);
  await log.waitFor(/\[INF\] Starting https monitor on 127\.0\.0\.1:\d+$/);
  const varz = await httpsGet(`${base}/varz`, certs.ca.cert);
  assert.equal(varz.status, 200);
  assert.equal(varz.type, 'application/json');
  assert.equal((JSON.parse(varz.body) as { server_id: string }).server_id, srv.server.id);
  assert.match(varz.subject, /OU=Operator$/m);
  const missing = await httpsGet(`${base}/nope`, certs.ca.cert);
  assert.equal(missing.status, 404);
  await srv.close();
});

test('plain HTTP on the HTTPS port gets Go\'s 400 answer', async () => {
  const srv = await startNatter({ https_port: -1, tls: { cert_file: certs.server.cert, key_file: certs.server.key } });
  const port = Number(new URL(srv.server.monitorURLs[0]).port);
  const s = await dial(port);
  const t = record(s);
  s.write('GET /varz HTTP/1.1\r\nHost: localhost\r\n\r\n');
  await t.closedAfter();
  assert.equal(t.text(), PLAIN_HTTP_ON_HTTPS);
  await srv.close();
});

test('a failed handshake on the HTTPS port is logged the way nats-server logs it', async () => {
  const log = new LogCapture({ debug: true });
  const srv = await startNatter({ logger: log, https_port: -1, tls: { cert_file: certs.server.cert, key_file: certs.server.key } });
  const port = Number(new URL(srv.server.monitorURLs[0]).port);
  const s = await dial(port);
  const t = record(s);
  s.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5]));
  await t.closedAfter();
  await log.waitFor(/\[ERR\] monitoring: TLS handshake error from 127\.0\.0\.1:\d+: /);
  // The monitor still answers.
  assert.equal((await httpsGet(`${srv.server.monitorURLs[0]}/healthz`, certs.ca.cert)).status, 200);
  await srv.close();
});

test('https_port without a tls block does not start', async () => {
  await assert.rejects(startNatter({ https_port: -1 }), { message: 'TLS cert and key required for HTTPS' });
});

test('HTTPS monitoring follows a certificate reload', async () => {
  const cert = join(certs.dir, 'monitor-live.pem');
  const key = join(certs.dir, 'monitor-live-key.pem');
  copyFileSync(certs.server.cert, cert);
  copyFileSync(certs.server.key, key);
  const srv = await startNatter({ https_port: -1, tls: { cert_file: cert, key_file: key } });
  const base = srv.server.monitorURLs[0];
  assert.match((await httpsGet(`${base}/varz`, certs.ca.cert)).subject, /OU=Operator$/m);
  copyFileSync(certs.server2.cert, cert);
  copyFileSync(certs.server2.key, key);
  srv.server.reload({ ...srv.server.options });
  await sleep(10);
  assert.match((await httpsGet(`${base}/varz`, certs.ca.cert)).subject, /OU=Operator2$/m);
  await srv.close();
});

test('closing the server ends monitoring connections that never finished their handshake', async () => {
  const srv = await startNatter({ https_port: -1, tls: { cert_file: certs.server.cert, key_file: certs.server.key } });
  const port = Number(new URL(srv.server.monitorURLs[0]).port);
  const silent = record(await dial(port));
  const halfway = await dial(port);
  const t = record(halfway);
  halfway.write(Buffer.from('160301020001', 'hex'));
  await sleep(50);
  const began = Date.now();
  await srv.close();
  await Promise.all([silent.closedAfter(), t.closedAfter()]);
  assert.ok(Date.now() - began < 1000);
});
