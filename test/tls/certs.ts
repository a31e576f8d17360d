/**
 * Certificates for the TLS tests, made with Debian's openssl CLI into a
 * temporary directory at the start of a test file. The layout follows the
 * seed secure-nats-cluster-operator-tls.md: a CA `CN=nats.io,OU=nats.io`, a
 * server certificate `CN=nats.io,OU=Operator` with the server profile's usages,
 * and client certificates `CN=nats.io,OU=ACME` and `CN=nats.io,OU=CNCF` with
 * the client profile's. Subjects are written OU first, as cfssl (Go) encodes
 * them, so the DER order is the one a cfssl-made certificate has.
 *
 * The seed's certificates use RSA 2048; the extra ones (expired, wrong CA,
 * wrong SAN, reload, identities) use P-256 keys, which openssl makes in a
 * fraction of the time.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface CertFiles {
  cert: string;
  key: string;
}

export interface CertSet {
  dir: string;
  /** The seed's CA. */
  ca: CertFiles;
  /** Server certificate: SANs localhost, 127.0.0.1 and the seed's service names. */
  server: CertFiles;
  /** A second server certificate from the same CA (OU=Operator2), for reloads. */
  server2: CertFiles;
  /** A server certificate whose only SAN is example.com. */
  wrongSanServer: CertFiles;
  /** A server certificate from the other CA. */
  wrongCaServer: CertFiles;
  /** Client `CN=nats.io,OU=ACME`. */
  acme: CertFiles;
  /** Client `CN=nats.io,OU=CNCF`. */
  cncf: CertFiles;
  /** Client `CN=nats.io,OU=CNCF` whose validity ended in 2020. */
  expired: CertFiles;
  /** Client `CN=nats.io,OU=CNCF` signed by an unrelated CA. */
  wrongCa: CertFiles;
  /** The unrelated CA. */
  otherCa: CertFiles;
  /** Client with email, DNS and URI SANs (identities tests). */
  sans: CertFiles;
  /** Client with every attribute kind nats-server's ordering cares about. */
  rich: CertFiles;
  /** Client whose subject carries an emailAddress attribute (outside nats-server's DN parser). */
  withEmailSubject: CertFiles;
  /** Removes the directory. */
  cleanup(): void;
}

const EXTENSIONS = `
[req]
distinguished_name = dn
[dn]
[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign, digitalSignature
subjectKeyIdentifier = hash
[server_ext]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = DNS:localhost, IP:127.0.0.1, DNS:*.nats-cluster.default.svc, DNS:nats-cluster.default.svc.cluster.local
[wrong_san_ext]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:example.com
[client_ext]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
[sans_ext]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
subjectAltName = email:alice@nats.io, email:bob@example.com, DNS:app.nats.io, DNS:*.svc.nats.io, URI:spiffe://nats.io/ns/acme/sa/app, IP:10.0.0.1
`;

/** The `openssl ca` setup that can put arbitrary dates on a certificate. */
function caConfig(dir: string): string {
  return `
[ca]
default_ca = expired_ca
[expired_ca]
database = ${join(dir, 'index.txt')}
new_certs_dir = ${dir}
serial = ${join(dir, 'serial')}
default_md = sha256
policy = any
copy_extensions = none
unique_subject = no
[any]
organizationalUnitName = optional
commonName = supplied
[client_ext]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
`;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  await run('openssl', args, { cwd });
}

async function key(dir: string, name: string, rsa: boolean): Promise<string> {
  const file = join(dir, `${name}-key.pem`);
  const algo = rsa ? ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'] : ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'];
  await openssl(['genpkey', ...algo, '-out', file], dir);
  return file;
}

async function csr(dir: string, name: string, keyFile: string, subj: string, multiRdn = false): Promise<string> {
  const file = join(dir, `${name}.csr`);
  const extra = multiRdn ? ['-multivalue-rdn'] : [];
  await openssl(['req', '-new', '-key', keyFile, '-out', file, '-subj', subj, '-utf8', ...extra, '-config', join(dir, 'ext.cnf')], dir);
  return file;
}

async function sign(dir: string, name: string, csrFile: string, ca: CertFiles, ext: string, serial: number): Promise<string> {
  const file = join(dir, `${name}.pem`);
  await openssl(['x509', '-req', '-in', csrFile, '-CA', ca.cert, '-CAkey', ca.key, '-set_serial', String(serial), '-days', '30',
    '-sha256', '-extfile', join(dir, 'ext.cnf'), '-extensions', ext, '-out', file], dir);
  return file;
}

async function selfSigned(dir: string, name: string, subj: string): Promise<CertFiles> {
  const k = await key(dir, name, true);
  const file = join(dir, `${name}.pem`);
  await openssl(['req', '-x509', '-new', '-key', k, '-out', file, '-days', '30', '-sha256', '-subj', subj,
    '-config', join(dir, 'ext.cnf'), '-extensions', 'ca_ext'], dir);
  return { cert: file, key: k };
}

async function issued(dir: string, name: string, ca: CertFiles, subj: string, ext: string, serial: number, rsa = false, multiRdn = false): Promise<CertFiles> {
  const k = await key(dir, name, rsa);
  const c = await csr(dir, name, k, subj, multiRdn);
  return { cert: await sign(dir, name, c, ca, ext, serial), key: k };
}

/** A client certificate valid only during 2020, signed with `openssl ca` (x509 -req cannot backdate). */
async function expiredClient(dir: string, ca: CertFiles): Promise<CertFiles> {
  const caDir = join(dir, 'expired-ca');
  mkdirSync(caDir);
  writeFileSync(join(caDir, 'index.txt'), '');
  writeFileSync(join(caDir, 'serial'), '1000\n');
  writeFileSync(join(caDir, 'ca.cnf'), caConfig(caDir));
  const k = await key(dir, 'expired', false);
  const c = await csr(dir, 'expired', k, '/OU=CNCF/CN=nats.io');
  const file = join(dir, 'expired.pem');
  await openssl(['ca', '-batch', '-config', join(caDir, 'ca.cnf'), '-cert', ca.cert, '-keyfile', ca.key, '-in', c, '-out', file,
    '-startdate', '20200101000000Z', '-enddate', '20200201000000Z', '-extensions', 'client_ext', '-notext'], dir);
  return { cert: file, key: k };
}

/** Makes the whole set; a few seconds, once per test file. */
export async function makeCerts(): Promise<CertSet> {
  const dir = mkdtempSync(join(tmpdir(), 'natter-tls-'));
  writeFileSync(join(dir, 'ext.cnf'), EXTENSIONS);
  const ca = await selfSigned(dir, 'ca', '/OU=nats.io/CN=nats.io');
  const otherCa = await selfSigned(dir, 'other-ca', '/OU=elsewhere/CN=other');
  const [server, server2, wrongSanServer, wrongCaServer, acme, cncf, expired, wrongCa, sans, rich, withEmailSubject] = await Promise.all([
    issued(dir, 'server', ca, '/OU=Operator/CN=nats.io', 'server_ext', 2, true),
    issued(dir, 'server2', ca, '/OU=Operator2/CN=nats.io', 'server_ext', 3),
    issued(dir, 'wrong-san', ca, '/OU=Operator/CN=nats.io', 'wrong_san_ext', 4),
    issued(dir, 'wrong-ca-server', otherCa, '/OU=Operator/CN=nats.io', 'server_ext', 5),
    issued(dir, 'acme', ca, '/OU=ACME/CN=nats.io', 'client_ext', 6, true),
    issued(dir, 'cncf', ca, '/OU=CNCF/CN=nats.io', 'client_ext', 7, true),
    expiredClient(dir, ca),
    issued(dir, 'wrong-ca', otherCa, '/OU=CNCF/CN=nats.io', 'client_ext', 8),
    issued(dir, 'sans', ca, '/OU=CNCF/CN=app', 'sans_ext', 9),
    // The attributes in an order Go does not use, a two-valued RDN, escapes and domain components.
    issued(dir, 'rich', ca, '/DC=io/DC=nats/CN=Alice\\, Smith+UID=alice/OU=Team #1/OU=Ops/O=Synadia/L=Los Angeles/ST=CA/C=US', 'client_ext', 10, false, true),
    issued(dir, 'email-subject', ca, '/OU=CNCF/CN=nats.io/emailAddress=ops@nats.io', 'client_ext', 11),
  ]);
  return {
    dir, ca, server, server2, wrongSanServer, wrongCaServer, acme, cncf, expired, wrongCa, otherCa, sans, rich, withEmailSubject,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** The PEM text of a file. */
export function pem(file: string): string {
  return readFileSync(file, 'utf8');
}
