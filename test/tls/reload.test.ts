/**
 * Certificate reload through Server.reload(next): files replaced in place
 * (the seed's "reload by updating the secret"), a broken replacement, and
 * TLS settings changed by the new configuration. Connections that are up
 * stay up; new handshakes use what the reload loaded.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { TlsConfigError } from '../../src/tls/index.js';
import { closeAllNatter, startNatter, type TestNatter } from '../helpers/natter.js';
import { makeCerts, type CertSet } from './certs.js';
import { LogCapture } from '../helpers/log-capture.js';
import { dial, readInfo, startTls, tlsPing } from './helpers.js';

let certs: CertSet;

before(async () => {
  certs = await makeCerts();
});
after(async () => {
  await closeAllNatter();
  certs.cleanup();
});

interface Rotating {
  srv: TestNatter;
  log: LogCapture;
  /** The paths the configuration names; tests overwrite them. */
  cert: string;
  key: string;
  tls: Record<string, unknown>;
}

let serial = 0;

async function startRotating(extra: Record<string, unknown> = {}): Promise<Rotating> {
  serial++;
  const cert = join(certs.dir, `live-${serial}.pem`);
  const key = join(certs.dir, `live-${serial}-key.pem`);
  copyFileSync(certs.server.cert, cert);
  copyFileSync(certs.server.key, key);
  const log = new LogCapture({ debug: true });
  const tls = { cert_file: cert, key_file: key, ca_file: certs.ca.cert, timeout: 2, ...extra };
  const srv = await startNatter({ logger: log, tls });
  return { srv, log, cert, key, tls };
}

/** The subject of the certificate a new TLS connection is shown. */
async function servedSubject(port: number): Promise<string> {
  const raw = await dial(port);
  await readInfo(raw);
  const s = await startTls(raw, { ca: certs.ca.cert });
  const subject = s.getPeerX509Certificate()?.subject ?? '';
  s.destroy();
  return subject;
}

async function roundTrip(nc: NatsConnection, subject: string): Promise<void> {
  const sub = nc.subscribe(subject, { max: 1 });
  nc.publish(subject, 'x');
  for await (const m of sub) assert.equal(m.string(), 'x');
}

test('files replaced in place: existing connections stay, new handshakes get the new certificate', async () => {
  const r = await startRotating();
  const nc = await connect({ servers: r.srv.url, tls: { caFile: certs.ca.cert }, reconnect: false });
  await roundTrip(nc, 'before');
  assert.match(await servedSubject(r.srv.port), /OU=Operator$/m);

  copyFileSync(certs.server2.cert, r.cert);
  copyFileSync(certs.server2.key, r.key);
  r.srv.server.reload({ ...r.srv.server.options });

  assert.match(await servedSubject(r.srv.port), /OU=Operator2$/m);
  await r.log.waitFor(/\[INF\] TLS certificate loaded: .*OU=Operator2/);
  await roundTrip(nc, 'after');
  assert.equal(nc.isClosed(), false);
  const fresh = await connect({ servers: r.srv.url, tls: { caFile: certs.ca.cert }, reconnect: false });
  await roundTrip(fresh, 'fresh');
  await fresh.close();
  await nc.close();
  await r.srv.close();
});

test('a broken replacement is refused with a log line, and the old certificate stays in force', async () => {
  const r = await startRotating();
  const nc = await connect({ servers: r.srv.url, tls: { caFile: certs.ca.cert }, reconnect: false });
  // A key that belongs to another certificate.
  copyFileSync(certs.cncf.key, r.key);
  assert.throws(() => r.srv.server.reload({ ...r.srv.server.options }), (e: unknown) => {
    assert.ok(e instanceof TlsConfigError);
    assert.match(e.message, /private key does not match public key/);
    return true;
  });
  await r.log.waitFor(new RegExp(`\\[ERR\\] TLS configuration not reloaded, the current one stays in force: error parsing X509 certificate/key pair: tls: private key does not match public key \\(key_file ${r.key} for cert_file ${r.cert}\\)`));
  assert.match(await servedSubject(r.srv.port), /OU=Operator$/m);
  await roundTrip(nc, 'still');

  // Unreadable (gone) and garbage files are refused the same way.
  writeFileSync(r.key, 'garbage');
  assert.throws(() => r.srv.server.reload({ ...r.srv.server.options }), /failed to find any PEM data in key input/);
  assert.throws(() => r.srv.server.reload({ ...r.srv.server.options, tls: { ...r.tls, key_file: join(certs.dir, 'gone.pem') } }), /no such file or directory/);
  assert.match(await servedSubject(r.srv.port), /OU=Operator$/m);
  await nc.close();
  await r.srv.close();
});

test('a reload that turns on verify: INFO says so, new clients need a certificate, connected ones stay', async () => {
  const r = await startRotating();
  const before = await tlsPing(r.srv.port, { ca: certs.ca.cert });
  assert.equal(before.info.tls_verify, undefined);
  r.srv.server.reload({ ...r.srv.server.options, tls: { ...r.tls, verify: true } });
  const raw = await dial(r.srv.port);
  const info = await readInfo(raw);
  raw.destroy();
  assert.equal(info.tls_verify, true);
  await assert.rejects(tlsPing(r.srv.port, { ca: certs.ca.cert }));
  await r.log.waitFor(/client didn't provide a certificate/);
  const withCert = await tlsPing(r.srv.port, { ca: certs.ca.cert, client: certs.acme });
  // The connection made before the reload still answers.
  await new Promise<void>((resolve) => {
    before.socket.once('data', () => resolve());
    before.socket.write('PING\r\n');
  });
  before.socket.destroy();
  withCert.socket.destroy();
  await r.srv.close();
});

test('a reload can turn TLS off and on again', async () => {
  const r = await startRotating();
  const plain = { ...r.srv.server.options };
  delete plain.tls;
  r.srv.server.reload(plain);
  const info = await readInfo(await dial(r.srv.port));
  assert.equal(info.tls_required, undefined);
  r.srv.server.reload({ ...plain, tls: r.tls });
  assert.match(await servedSubject(r.srv.port), /OU=Operator$/m);
  await r.srv.close();
});
