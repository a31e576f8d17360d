/**
 * The `tls` block: meanings and defaults, and every refusal with
 * nats-server's text. The table at the end runs the same configuration
 * through `nats-server -t` (2.9.10) and through Natter's config parser and
 * loadTls, and compares the messages (nats-server's file:line:col prefix
 * removed; Natter may add which file it was after the text).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { optionsFromConfigText } from '../../src/config/index.js';
import { loadTls, parseTlsBlock, TlsConfigError } from '../../src/tls/index.js';
import { NATS_SERVER_BIN } from '../helpers/nats-server.js';
import { makeCerts, type CertSet } from './certs.js';

const run = promisify(execFile);
const skipReference = existsSync(NATS_SERVER_BIN) ? false : `reference server not found at ${NATS_SERVER_BIN}`;

let certs: CertSet;
let garbage: string;
let directory: string;

before(async () => {
  certs = await makeCerts();
  garbage = join(certs.dir, 'garbage.pem');
  writeFileSync(garbage, 'this is not PEM\n');
  directory = join(certs.dir, 'a-directory');
  mkdirSync(directory);
});
after(() => certs.cleanup());

function refusal(raw: unknown): string {
  try {
    loadTls(raw);
  } catch (e) {
    assert.ok(e instanceof TlsConfigError, `expected TlsConfigError, got ${String(e)}`);
    return e.message;
  }
  return assert.fail('expected the block to be refused');
}

test('defaults follow nats-server: 2s timeout, TLS 1.2 minimum, ECDHE AEAD suites, no client certificates', () => {
  const c = parseTlsBlock({ cert_file: 'c.pem', key_file: 'k.pem' });
  assert.equal(c.timeoutMs, 2000);
  assert.equal(c.minVersion, 'TLSv1.2');
  assert.equal(c.verify, false);
  assert.equal(c.map, false);
  assert.equal(c.pinnedCerts, null);
  assert.equal(c.handshakeFirst, false);
  assert.deepEqual(c.cipherSuites, [
    'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256', 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256', 'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305',
    'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305', 'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384', 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384',
  ]);
  assert.deepEqual(c.curvePreferences, ['X25519', 'CurveP256', 'CurveP384', 'CurveP521']);
});

test('keys are case-insensitive; verify_and_map and verify_cert_and_check_known_urls imply verify', () => {
  assert.equal(parseTlsBlock({ VERIFY: true }).verify, true);
  const m = parseTlsBlock({ verify_and_map: true });
  assert.deepEqual([m.verify, m.map], [true, true]);
  // Turning mapping off leaves an explicit verify alone.
  const v = parseTlsBlock({ verify: true, verify_and_map: false });
  assert.deepEqual([v.verify, v.map], [true, false]);
  const k = parseTlsBlock({ verify_cert_and_check_known_urls: true }, 'peer');
  assert.deepEqual([k.verify, k.checkKnownUrls], [true, true]);
  assert.throws(() => parseTlsBlock({ verify_cert_and_check_known_urls: true }), { message: 'verify_cert_and_check_known_urls not supported in this context' });
});

test('timeout: seconds (integer or fraction) or a Go duration; 0 is the default', () => {
  assert.equal(parseTlsBlock({ timeout: 5 }).timeoutMs, 5000);
  assert.equal(parseTlsBlock({ timeout: 0.25 }).timeoutMs, 250);
  assert.equal(parseTlsBlock({ timeout: '1.5s' }).timeoutMs, 1500);
  assert.equal(parseTlsBlock({ timeout: '300ms' }).timeoutMs, 300);
  assert.equal(parseTlsBlock({ timeout: 0 }).timeoutMs, 2000);
});

test('handshake_first (and its aliases first, immediate) as nats-server 2.10 reads it', () => {
  const hf = (v: unknown): [boolean, number] => {
    const c = parseTlsBlock({ handshake_first: v });
    return [c.handshakeFirst, c.handshakeFirstFallbackMs];
  };
  assert.deepEqual(hf(true), [true, 0]);
  assert.deepEqual(hf(false), [false, 0]);
  assert.deepEqual(hf('on'), [true, 0]);
  assert.deepEqual(hf('OFF'), [false, 0]);
  assert.deepEqual(hf('auto'), [true, 50]);
  assert.deepEqual(hf('auto_fallback'), [true, 50]);
  assert.deepEqual(hf('300ms'), [true, 300]);
  assert.equal(parseTlsBlock({ first: true }).handshakeFirst, true);
  assert.equal(parseTlsBlock({ immediate: 'true' }).handshakeFirst, true);
  assert.throws(() => parseTlsBlock({ handshake_first: 'maybe' }), { message: 'field "handshake_first"\'s value "maybe" is invalid' });
  assert.throws(() => parseTlsBlock({ handshake_first: 1 }), { message: 'field "handshake_first" should be a boolean or a string, got int64' });
});

test('min_version as nats-server 2.10 reads it', () => {
  assert.equal(parseTlsBlock({ min_version: '1.3' }).minVersion, 'TLSv1.3');
  assert.equal(parseTlsBlock({ min_version: '1.2' }).minVersion, 'TLSv1.2');
  assert.throws(() => parseTlsBlock({ min_version: '1.1' }), { message: 'error parsing tls config: unsupported TLS version: TLS 1.1' });
  assert.throws(() => parseTlsBlock({ min_version: '1.4' }), { message: 'error parsing tls config: unknown version: 1.4' });
  assert.throws(() => parseTlsBlock({ min_version: 1.2 }), { message: "error parsing tls config: 'min_version' wrong type: 1.2" });
});

test('pinned_certs are lower-cased; an empty list pins nothing', () => {
  const id = 'AB'.repeat(32);
  assert.deepEqual([...(parseTlsBlock({ pinned_certs: [id] }).pinnedCerts ?? [])], ['ab'.repeat(32)]);
  assert.equal(parseTlsBlock({ pinned_certs: [] }).pinnedCerts, null);
});

test('a block that names nothing still loads (nats-server starts, handshakes then fail)', () => {
  const m = loadTls({ verify: true });
  assert.equal(m.certificate, null);
});

test('certificate, key and CA load; the certificate is the first of cert_file', () => {
  const m = loadTls({ cert_file: certs.server.cert, key_file: certs.server.key, ca_file: certs.ca.cert, verify: true });
  assert.match(m.certificate?.subject ?? '', /OU=Operator/);
  assert.equal(m.contextOptions.honorCipherOrder, true);
  assert.equal(m.contextOptions.minVersion, 'TLSv1.2');
});

test('broken material names the file', () => {
  const pair = { cert_file: certs.server.cert, key_file: certs.server.key };
  assert.equal(refusal({ ...pair, key_file: join(certs.dir, 'nope.pem') }),
    `error parsing X509 certificate/key pair: open ${join(certs.dir, 'nope.pem')}: no such file or directory`);
  assert.equal(refusal({ ...pair, key_file: directory }), `error parsing X509 certificate/key pair: read ${directory}: is a directory`);
  assert.equal(refusal({ ...pair, key_file: certs.cncf.key }),
    `error parsing X509 certificate/key pair: tls: private key does not match public key (key_file ${certs.cncf.key} for cert_file ${certs.server.cert})`);
  assert.equal(refusal({ ...pair, key_file: certs.server2.key }),
    `error parsing X509 certificate/key pair: tls: private key type does not match public key type (key_file ${certs.server2.key} for cert_file ${certs.server.cert})`);
  assert.equal(refusal({ ...pair, key_file: garbage }), `error parsing X509 certificate/key pair: tls: failed to find any PEM data in key input (key_file ${garbage})`);
  assert.equal(refusal({ ...pair, cert_file: garbage }), `error parsing X509 certificate/key pair: tls: failed to find any PEM data in certificate input (cert_file ${garbage})`);
  assert.equal(refusal({ ...pair, key_file: certs.server.cert }),
    `error parsing X509 certificate/key pair: tls: found a certificate rather than a key in the PEM for the private key (key_file ${certs.server.cert})`);
  assert.equal(refusal({ ...pair, ca_file: garbage }), 'failed to parse root ca certificate');
  // Accepted by nats-server (Go still has RC4); OpenSSL 3 has no such suite left.
  assert.equal(refusal({ ...pair, cipher_suites: ['TLS_RSA_WITH_RC4_128_SHA'] }), 'error creating TLS context: no cipher match');
  assert.equal(refusal({ ...pair, ca_file: join(certs.dir, 'nope.pem') }), `open ${join(certs.dir, 'nope.pem')}: no such file or directory`);
});

/** [what, the tls block as configuration text] */
const REFUSED: ReadonlyArray<readonly [string, (c: CertSet, g: string, d: string) => string]> = [
  ['missing key file', (c) => `cert_file: "${c.server.cert}", key_file: "${c.dir}/nope.pem"`],
  ['unreadable key (a directory)', (c, _g, d) => `cert_file: "${c.server.cert}", key_file: "${d}"`],
  ['key of another certificate', (c) => `cert_file: "${c.server.cert}", key_file: "${c.cncf.key}"`],
  ['key of another type', (c) => `cert_file: "${c.server.cert}", key_file: "${c.server2.key}"`],
  ['key file without PEM', (c, g) => `cert_file: "${c.server.cert}", key_file: "${g}"`],
  ['certificate file without PEM', (c, g) => `cert_file: "${g}", key_file: "${c.server.key}"`],
  ['certificate as the key', (c) => `cert_file: "${c.server.cert}", key_file: "${c.server.cert}"`],
  ['key without certificate', (c) => `key_file: "${c.server.key}"`],
  ['certificate without key', (c) => `cert_file: "${c.server.cert}"`],
  ['missing CA file', (c) => `cert_file: "${c.server.cert}", key_file: "${c.server.key}", ca_file: "${c.dir}/nope.pem"`],
  ['CA file without certificates', (c, g) => `cert_file: "${c.server.cert}", key_file: "${c.server.key}", ca_file: "${g}"`],
  ['unknown field', () => 'foo: 1'],
  ['verify not a boolean', () => 'verify: "yes"'],
  ['verify_and_map not a boolean', () => 'verify_and_map: 1'],
  ['insecure not a boolean', () => 'insecure: "no"'],
  ['cert_file not a string', () => 'cert_file: 5'],
  ['empty cipher_suites', () => 'cipher_suites: []'],
  ['unknown cipher', () => 'cipher_suites: ["TLS_NOPE"]'],
  ['cipher_suites not a list', () => 'cipher_suites: "TLS_NOPE"'],
  ['empty curve_preferences', () => 'curve_preferences: []'],
  ['unknown curve', () => 'curve_preferences: ["CurveP999"]'],
  ['timeout not a duration', () => 'timeout: "abc"'],
  ['timeout of the wrong type', () => 'timeout: true'],
  ['pinned cert that is not a sha256', () => 'pinned_certs: ["abc"]'],
  ['pinned_certs not a list', () => 'pinned_certs: "abc"'],
  ['connection_rate_limit of the wrong type', () => 'connection_rate_limit: "x"'],
  ['verify_cert_and_check_known_urls on the client port', () => 'verify_cert_and_check_known_urls: true'],
];

async function referenceError(conf: string): Promise<string> {
  const file = join(certs.dir, 'ref.conf');
  writeFileSync(file, conf);
  try {
    await run(NATS_SERVER_BIN, ['-t', '-c', file]);
    return '';
  } catch (e) {
    const stderr = String((e as { stderr?: unknown }).stderr ?? '');
    // "nats-server: <file>:<line>:<col>: <problem>"
    return stderr.trim().replace(/^nats-server: [^:]+:\d+:\d+: /, '');
  }
}

test('differential: refusals read as nats-server 2.9.10 words them', { skip: skipReference }, async () => {
  for (const [what, block] of REFUSED) {
    const conf = `tls { ${block(certs, garbage, directory)} }\n`;
    const theirs = await referenceError(conf);
    assert.notEqual(theirs, '', `${what}: nats-server accepted ${conf}`);
    const raw = optionsFromConfigText(conf).options.tls;
    const ours = refusal(raw);
    assert.ok(ours === theirs || ours.startsWith(`${theirs} (`), `${what}:\n  nats-server: ${theirs}\n  natter:      ${ours}`);
  }
});

test('differential: what nats-server 2.9.10 accepts loads', { skip: skipReference }, async () => {
  const c = certs;
  const accepted = [
    `cert_file: "${c.server.cert}", key_file: "${c.server.key}", ca_file: "${c.ca.cert}", verify: true, timeout: 2`,
    `cert_file: "${c.server.cert}", key_file: "${c.server.key}", verify_and_map: true, timeout: "500ms"`,
    `cert_file: "${c.server.cert}", key_file: "${c.server.key}", cipher_suites: ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_AES_128_GCM_SHA256"], curve_preferences: ["CurveP256"]`,
    `cert_file: "${c.server.cert}", key_file: "${c.server.key}", pinned_certs: ["${'Ab'.repeat(32)}"], connection_rate_limit: 10, insecure: true`,
    'verify: true',
  ];
  for (const block of accepted) {
    const conf = `tls { ${block} }\n`;
    assert.equal(await referenceError(conf), '', `nats-server refused ${conf}`);
    loadTls(optionsFromConfigText(conf).options.tls);
  }
});
