/**
 * verify_and_map against the reference: nats-server 2.9.10 is started with
 * `verify_and_map` and a set of user names, a client presents a certificate,
 * and /connz?auth=1 tells which user nats-server mapped it to (or the
 * connection is refused). tlsMapUsername(certIdentities(cert), names) must
 * pick the same user, which pins down both the identity strings and the
 * order nats-server tries them in.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { certIdentities, tlsMapUsername } from '../../src/tls/index.js';
import { NATS_SERVER_BIN, startNatsServer } from '../helpers/nats-server.js';
import { freePort } from '../helpers/ports.js';
import { makeCerts, type CertFiles, type CertSet } from './certs.js';
import { dial, readInfo, startTls } from './helpers.js';

const skip = existsSync(NATS_SERVER_BIN) ? false : `reference server not found at ${NATS_SERVER_BIN}`;

let certs: CertSet;

before(async () => {
  certs = await makeCerts();
});
after(() => certs.cleanup());

/** Connects with `client` to a nats-server that maps certificates to `users`; the name it chose, or null when refused. */
async function referenceMapping(client: CertFiles, users: string[]): Promise<string | null> {
  const httpPort = await freePort();
  const conf = [
    `http: "127.0.0.1:${httpPort}"`,
    `tls { cert_file: ${JSON.stringify(certs.server.cert)}, key_file: ${JSON.stringify(certs.server.key)}, ca_file: ${JSON.stringify(certs.ca.cert)}, verify_and_map: true }`,
    `authorization { users = [ ${users.map((u) => `{ user: ${JSON.stringify(u)} }`).join(', ')} ] }`,
  ].join('\n');
  const ref = await startNatsServer({ config: conf });
  try {
    const raw = await dial(ref.port);
    await readInfo(raw);
    const s = await startTls(raw, { ca: certs.ca.cert, client });
    const answer = await new Promise<string>((resolve) => {
      let buf = '';
      s.on('data', (d: Buffer) => {
        buf += d.toString('latin1');
        if (buf.includes('PONG') || buf.includes('-ERR')) resolve(buf);
      });
      s.on('error', () => resolve(buf));
      s.once('close', () => resolve(buf));
      s.write('CONNECT {"verbose":false}\r\nPING\r\n');
    });
    if (!answer.includes('PONG')) {
      s.destroy();
      return null;
    }
    const r = await fetch(`http://127.0.0.1:${httpPort}/connz?auth=1`);
    const connz = (await r.json()) as { connections: Array<{ authorized_user?: string }> };
    s.destroy();
    return connz.connections[0]?.authorized_user ?? null;
  } finally {
    await ref.stop();
  }
}

function ours(client: CertFiles, users: string[]): string | null {
  return tlsMapUsername(certIdentities(new X509Certificate(readFileSync(client.cert))), users);
}

async function same(client: CertFiles, users: string[], expected: string | null): Promise<void> {
  assert.equal(ours(client, users), expected, `Natter mapping of ${client.cert} among ${JSON.stringify(users)}`);
  assert.equal(await referenceMapping(client, users), expected, `nats-server mapping of ${client.cert} among ${JSON.stringify(users)}`);
}

test('seed users.json: CN=nats.io,OU=CNCF and CN=nats.io,OU=ACME', { skip }, async () => {
  const seed = ['CN=nats.io,OU=ACME', 'CN=nats.io,OU=CNCF'];
  await same(certs.cncf, seed, 'CN=nats.io,OU=CNCF');
  await same(certs.acme, seed, 'CN=nats.io,OU=ACME');
  await same(certs.sans, seed, null);
});

test('DN rules: reordered RDNs and attribute type case', { skip }, async () => {
  await same(certs.cncf, ['OU=CNCF,CN=nats.io'], 'OU=CNCF,CN=nats.io');
  await same(certs.cncf, ['cn=nats.io, ou=CNCF'], 'cn=nats.io, ou=CNCF');
  await same(certs.cncf, ['CN=NATS.IO,OU=CNCF'], null);
});

test('SAN order: emails, then DNS names, then URIs, then the subject', { skip }, async () => {
  const all = ['CN=app,OU=CNCF', 'spiffe://nats.io/ns/acme/sa/app', '*.svc.nats.io', 'app.nats.io', 'bob@example.com'];
  await same(certs.sans, all, 'bob@example.com');
  await same(certs.sans, all.slice(0, 4), 'app.nats.io');
  await same(certs.sans, all.slice(0, 2), 'spiffe://nats.io/ns/acme/sa/app');
  await same(certs.sans, all.slice(0, 1), 'CN=app,OU=CNCF');
});

test("Go's subject string: fixed attribute order, merged OUs, escapes, domain components", { skip }, async () => {
  const ids = certIdentities(new X509Certificate(readFileSync(certs.rich.cert)));
  assert.ok(ids.subjectWithDomainComponents !== null);
  await same(certs.rich, [ids.subject, ids.subjectWithDomainComponents], ids.subjectWithDomainComponents);
  await same(certs.rich, [ids.subject], ids.subject);
  // The certificate's own order (openssl's RFC 2253 rendering) does not map.
  await same(certs.rich, ['C=US,ST=CA,L=Los Angeles,O=Synadia,OU=Ops,OU=Team #1,UID=alice+CN=Alice\\, Smith,DC=nats,DC=io'], null);
  // A subject emailAddress is neither a SAN nor part of Go's subject string.
  await same(certs.withEmailSubject, ['CN=nats.io,OU=CNCF'], 'CN=nats.io,OU=CNCF');
  await same(certs.withEmailSubject, ['ops@nats.io'], null);
});
