/**
 * verify_and_map identities: the strings nats-server 2.9.10 compares with
 * user names. Expected values were taken from Go 1.19.8 (the toolchain that
 * built Debian's nats-server 2.9.10): `cert.Subject.ToRDNSequence().String()`,
 * `cert.EmailAddresses`, `cert.DNSNames`, `cert.URIs`; the DN rules follow
 * nats-server's internal/ldap package. identities-differential.test.ts checks
 * the same strings against the running nats-server.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  certIdentities, dnEqual, dnSameRdns, parseDistinguishedName, pinnedCertId, tlsMapUsername, type DistinguishedName,
} from '../../src/tls/index.js';
import { makeCerts, type CertSet } from './certs.js';

let certs: CertSet;
const x509 = (file: string): X509Certificate => new X509Certificate(readFileSync(file));

before(async () => {
  certs = await makeCerts();
});
after(() => certs.cleanup());

/** The seed's users.json. */
const SEED_USERS = ['CN=nats.io,OU=ACME', 'CN=nats.io,OU=CNCF'];

test('seed client certificates: subject in RFC 2253 order, as nats-server prints it', () => {
  const cncf = certIdentities(x509(certs.cncf.cert));
  assert.equal(cncf.subject, 'CN=nats.io,OU=CNCF');
  assert.equal(cncf.subjectWithDomainComponents, null);
  assert.deepEqual([cncf.emails, cncf.dnsNames, cncf.uris], [[], [], []]);
  assert.deepEqual(cncf.dn, [[{ type: 'CN', value: 'nats.io' }], [{ type: 'OU', value: 'CNCF' }]]);
  assert.equal(certIdentities(x509(certs.acme.cert)).subject, 'CN=nats.io,OU=ACME');
  assert.equal(certIdentities(x509(certs.ca.cert)).subject, 'CN=nats.io,OU=nats.io');
  // DER bytes work as well as an X509Certificate.
  assert.equal(certIdentities(x509(certs.cncf.cert).raw).subject, 'CN=nats.io,OU=CNCF');
});

test("seed users.json: each client certificate maps to its own user", () => {
  assert.equal(tlsMapUsername(certIdentities(x509(certs.cncf.cert)), SEED_USERS), 'CN=nats.io,OU=CNCF');
  assert.equal(tlsMapUsername(certIdentities(x509(certs.acme.cert)), SEED_USERS), 'CN=nats.io,OU=ACME');
  assert.equal(tlsMapUsername(certIdentities(x509(certs.sans.cert)), SEED_USERS), null);
});

test('SAN emails, DNS names and URIs in certificate order', () => {
  const ids = certIdentities(x509(certs.sans.cert));
  assert.deepEqual(ids.emails, ['alice@nats.io', 'bob@example.com']);
  assert.deepEqual(ids.dnsNames, ['app.nats.io', '*.svc.nats.io']);
  assert.deepEqual(ids.uris, ['spiffe://nats.io/ns/acme/sa/app']);
  assert.equal(ids.subject, 'CN=app,OU=CNCF');
});

test("Go's order, merged OUs, escapes and domain components", () => {
  const ids = certIdentities(x509(certs.rich.cert));
  // The certificate lists DC, DC, CN+UID, OU, OU, O, L, ST, C; Go prints its own fixed order.
  assert.equal(ids.subject, 'CN=Alice\\, Smith,OU=Team #1+OU=Ops,O=Synadia,L=Los Angeles,ST=CA,C=US');
  assert.equal(ids.subjectWithDomainComponents, 'CN=Alice\\, Smith,OU=Team #1+OU=Ops,O=Synadia,L=Los Angeles,ST=CA,C=US,DC=io,DC=nats');
  // UID is not an attribute nats-server's DN parser knows: no DN matching for this certificate.
  assert.equal(ids.dn, null);
});

test('attributes outside the standard set are left out of the subject string', () => {
  const ids = certIdentities(x509(certs.withEmailSubject.cert));
  assert.equal(ids.subject, 'CN=nats.io,OU=CNCF');
  assert.equal(ids.dn, null);
  assert.deepEqual(ids.emails, []);
});

test('mapping order: emails, DNS names, URIs, DN, subject with DCs, subject', () => {
  const sans = certIdentities(x509(certs.sans.cert));
  const all = ['CN=app,OU=CNCF', 'spiffe://nats.io/ns/acme/sa/app', '*.svc.nats.io', 'app.nats.io', 'bob@example.com'];
  assert.equal(tlsMapUsername(sans, all), 'bob@example.com');
  assert.equal(tlsMapUsername(sans, all.slice(0, 4)), 'app.nats.io');
  assert.equal(tlsMapUsername(sans, all.slice(0, 3)), '*.svc.nats.io');
  assert.equal(tlsMapUsername(sans, all.slice(0, 2)), 'spiffe://nats.io/ns/acme/sa/app');
  // The subject is reached through the DN rules here (same RDNs), so the configured spelling is returned.
  assert.equal(tlsMapUsername(sans, ['OU=CNCF,CN=app', 'CN=app,OU=CNCF']), 'CN=app,OU=CNCF');
  assert.equal(tlsMapUsername(sans, ['OU=CNCF,CN=app']), 'OU=CNCF,CN=app');

  const rich = certIdentities(x509(certs.rich.cert));
  assert.equal(tlsMapUsername(rich, [rich.subject, rich.subjectWithDomainComponents ?? '']), rich.subjectWithDomainComponents);
  assert.equal(tlsMapUsername(rich, [rich.subject]), rich.subject);
  // openssl's RFC 2253 rendering of the certificate's own order is not what nats-server compares.
  assert.equal(tlsMapUsername(rich, ['C=US,ST=CA,L=Los Angeles,O=Synadia,OU=Ops,OU=Team #1,UID=alice+CN=Alice\\, Smith,DC=nats,DC=io']), null);
});

test('DN rules: attribute types ignore case, values do not, spaces around RDNs are dropped', () => {
  const cncf = certIdentities(x509(certs.cncf.cert));
  assert.equal(tlsMapUsername(cncf, ['cn=nats.io, ou=CNCF']), 'cn=nats.io, ou=CNCF');
  assert.equal(tlsMapUsername(cncf, ['CN=NATS.IO,OU=CNCF']), null);
  assert.equal(tlsMapUsername(cncf, ['CN=nats.io']), null);
  assert.equal(tlsMapUsername(cncf, ['CN=nats.io,OU=CNCF,O=x']), null);
});

test('parseDistinguishedName', () => {
  const dn = (s: string): DistinguishedName | null => parseDistinguishedName(s);
  assert.deepEqual(dn('CN=nats.io,OU=CNCF'), [[{ type: 'CN', value: 'nats.io' }], [{ type: 'OU', value: 'CNCF' }]]);
  assert.deepEqual(dn('UID=a+CN=b , O=c'), [[{ type: 'UID', value: 'a' }, { type: 'CN', value: 'b' }], [{ type: 'O', value: 'c' }]]);
  assert.deepEqual(dn('CN=Alice\\, Smith'), [[{ type: 'CN', value: 'Alice, Smith' }]]);
  assert.deepEqual(dn('CN=a\\2Cb'), [[{ type: 'CN', value: 'a,b' }]]);
  assert.deepEqual(dn('CN=trailing\\ '), [[{ type: 'CN', value: 'trailing ' }]]);
  assert.deepEqual(dn('CN=caf\\C3\\A9'), [[{ type: 'CN', value: 'café' }]]);
  assert.deepEqual(dn(''), []);
  assert.equal(dn('CN=#04024869'), null, 'BER values are refused');
  assert.equal(dn('nats.io'), null);
  assert.equal(dn('CN=a,b'), null);
  assert.equal(dn('CN=a\\zz'), null);
  assert.equal(dn('CN=a\\z'), null);
  assert.deepEqual(dn('CN=a\\'), [[{ type: 'CN', value: 'a' }]], 'a dangling backslash is dropped, as nats-server does');
});

test('dnEqual and dnSameRdns', () => {
  const p = (s: string): DistinguishedName => parseDistinguishedName(s) ?? assert.fail(s);
  assert.ok(dnEqual(p('CN=a,OU=b'), p('cn=a,ou=b')));
  assert.ok(!dnEqual(p('CN=a,OU=b'), p('OU=b,CN=a')));
  assert.ok(dnSameRdns(p('CN=a,OU=b'), p('OU=b,CN=a')));
  assert.ok(dnEqual(p('CN=a+UID=x,OU=b'), p('UID=x+CN=a,OU=b')));
  assert.ok(!dnSameRdns(p('CN=a,OU=b'), p('CN=a,OU=b,O=c')));
  assert.ok(!dnSameRdns(p('CN=a,OU=b'), p('CN=a,OU=B')));
});

test('pinned certificate id: SHA-256 of the SubjectPublicKeyInfo, lower-case hex', () => {
  for (const c of [certs.cncf, certs.server, certs.sans]) {
    const cert = x509(c.cert);
    const spki = cert.publicKey.export({ type: 'spki', format: 'der' });
    assert.equal(pinnedCertId(cert), createHash('sha256').update(spki).digest('hex'));
  }
  // Not the hash of the whole certificate.
  const cert = x509(certs.cncf.cert);
  assert.notEqual(pinnedCertId(cert), createHash('sha256').update(cert.raw).digest('hex'));
});

test('malformed DER is refused with an error, not a crash', () => {
  assert.throws(() => certIdentities(Buffer.from([0x30, 0x03, 0x02, 0x01])), /malformed certificate/);
  assert.throws(() => certIdentities(Buffer.from('not a certificate')), /malformed certificate/);
  const raw = x509(certs.cncf.cert).raw;
  assert.throws(() => certIdentities(raw.subarray(0, raw.length / 2)), /malformed certificate/);
});
