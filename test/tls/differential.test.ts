/**
 * Differential tests against nats-server 2.9.10: the same certificates and
 * the same `tls` block (one configuration text, read by nats-server from a
 * file and by Natter's config parser), then the same client behaviour on both.
 * Compared: INFO's TLS fields, what a plain client receives and when the
 * connection ends, which client certificates are refused and the log line
 * saying why, pinned certificates, and plain HTTP on the HTTPS monitor port.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { optionsFromConfigText } from '../../src/config/index.js';
import { pinnedCertId } from '../../src/tls/index.js';
import { closeAllNatter, startNatter } from '../helpers/natter.js';
import { NATS_SERVER_BIN, startNatsServer, type NatsServerHandle } from '../helpers/nats-server.js';
import { freePort } from '../helpers/ports.js';
import { makeCerts, type CertFiles, type CertSet } from './certs.js';
import { LogCapture } from '../helpers/log-capture.js';
import { dial, PLAIN_HTTP_ON_HTTPS, readInfo, record, tlsPing } from './helpers.js';
import { sleep } from '../helpers/wait.js';

const skip = existsSync(NATS_SERVER_BIN) ? false : `reference server not found at ${NATS_SERVER_BIN}`;

let certs: CertSet;

before(async () => {
  certs = await makeCerts();
});
after(async () => {
  await closeAllNatter();
  certs.cleanup();
});

interface Pair {
  natter: { port: number; log: LogCapture; close(): Promise<void> };
  ref: NatsServerHandle;
  close(): Promise<void>;
}

/** Both servers with the same configuration text (a `tls` block and whatever else it holds). */
async function startBoth(conf: string): Promise<Pair> {
  const ref = await startNatsServer({ config: conf });
  const log = new LogCapture({ debug: true });
  const srv = await startNatter({ ...optionsFromConfigText(conf).options, host: '127.0.0.1', port: 0, logger: log });
  return {
    natter: { port: srv.port, log, close: () => srv.close() },
    ref,
    close: async () => {
      await srv.close();
      await ref.stop();
    },
  };
}

function tlsBlock(more = ''): string {
  return `tls { cert_file: "${certs.server.cert}", key_file: "${certs.server.key}", ca_file: "${certs.ca.cert}", timeout: 1${more} }\n`;
}

/**
 * The problem part of "... - cid:N - <problem>" log lines, times made
 * comparable. Hang-ups (EOF, reset) are left out: the reference's readiness
 * probe connects and hangs up, and how that ends depends on timing.
 */
function problems(log: string, re: RegExp): string[] {
  return log.split('\n')
    .filter((l) => re.test(l) && !/: EOF$|connection reset by peer$/.test(l))
    .map((l) => l.replace(/^.* - cid:\d+ - /, '').replace(/current time \S+/, 'current time T'));
}

/** Waits until `lines()` holds a line matching `re`. */
async function logged(lines: () => string, re: RegExp): Promise<void> {
  for (let i = 0; i < 200 && !re.test(lines()); i++) await sleep(10);
}

const TLS_KEYS = ['tls_required', 'tls_verify', 'tls_available'];

function tlsFields(info: Record<string, unknown>): string {
  const keys = Object.keys(info).filter((k) => ['headers', 'auth_required', 'max_payload', ...TLS_KEYS].includes(k));
  return keys.map((k) => `${k}=${String(info[k])}`).join(',');
}

test('INFO: tls_required and tls_verify, same values and same place', { skip }, async () => {
  for (const more of ['', ', verify: true', ', verify_and_map: true']) {
    const p = await startBoth(tlsBlock(more));
    const ours = await readInfo(await dial(p.natter.port));
    const theirs = await readInfo(await dial(p.ref.port));
    assert.equal(tlsFields(ours), tlsFields(theirs), `tls block${more}`);
    await p.close();
  }
});

test('a plain client that sends the protocol: INFO, then closed at once without a byte, same log line', { skip }, async () => {
  const p = await startBoth(tlsBlock());
  const seen: Array<{ text: string; after: number }> = [];
  for (const port of [p.natter.port, p.ref.port]) {
    const s = await dial(port);
    const t = record(s);
    await sleep(50);
    s.write('CONNECT {"verbose":false}\r\nPING\r\n');
    seen.push({ text: t.text(), after: await t.closedAfter() });
  }
  for (const { text, after } of seen) {
    assert.match(text, /^INFO \{.*\} \r\n$/);
    assert.ok(after < 800, `closed after ${after}ms`);
  }
  const re = /TLS handshake error/;
  await logged(() => p.ref.log(), re);
  assert.deepEqual(problems(p.natter.log.lines.join('\n'), re), problems(p.ref.log(), re));
  assert.deepEqual(problems(p.ref.log(), re), ['TLS handshake error: tls: first record does not look like a TLS handshake']);
  await p.close();
});

test('a plain client that waits: INFO, then closed at the TLS timeout without a byte', { skip }, async () => {
  const p = await startBoth(tlsBlock());
  try {
    const [ours, theirs] = await Promise.all([p.natter.port, p.ref.port].map(async (port) => {
      const t = record(await dial(port));
      return { after: await t.closedAfter(), text: t.text() };
    }));
    for (const r of [ours, theirs]) {
      assert.match(r.text, /^INFO \{.*\} \r\n$/, 'nothing after INFO: the -ERR nats-server queues never reaches the wire');
      assert.ok(r.after >= 900 && r.after < 2000, `closed after ${r.after}ms`);
    }
    // nats-server logs its read deadline's error and (unless that already closed the connection)
    // "TLS handshake timeout"; which of its goroutines logs first varies with load.
    const re = /TLS handshake (error|timeout)/;
    await logged(() => p.ref.log(), /i\/o timeout/);
    const normalize = (lines: string[]): string[] => lines.map((l) => l.replace(/read tcp \S+->\S+:/, 'read tcp A->B:'));
    const refLines = normalize(problems(p.ref.log(), re));
    assert.ok(refLines.includes('TLS handshake error: read tcp A->B: i/o timeout'), refLines.join('\n'));
    assert.ok(refLines.every((l) => l === 'TLS handshake error: read tcp A->B: i/o timeout' || l === 'TLS handshake timeout'), refLines.join('\n'));
    assert.deepEqual(normalize(problems(p.natter.log.lines.join('\n'), re)), ['TLS handshake error: read tcp A->B: i/o timeout', 'TLS handshake timeout']);
  } finally {
    await p.close();
  }
});

test('verify: the same client certificates are refused, with the same log line', { skip }, async () => {
  const p = await startBoth(tlsBlock(', verify: true'));
  const cases: Array<[string, CertFiles | undefined]> = [['none', undefined], ['expired', certs.expired], ['wrong CA', certs.wrongCa]];
  for (const [what, client] of cases) {
    for (const port of [p.natter.port, p.ref.port]) {
      await assert.rejects(tlsPing(port, { ca: certs.ca.cert, client }), `${what} refused on port ${port}`);
    }
  }
  for (const good of [certs.acme, certs.cncf]) {
    for (const port of [p.natter.port, p.ref.port]) (await tlsPing(port, { ca: certs.ca.cert, client: good })).socket.destroy();
  }
  const re = /TLS handshake error/;
  await logged(() => p.ref.log(), /unknown authority/);
  const theirs = problems(p.ref.log(), re);
  assert.deepEqual(problems(p.natter.log.lines.join('\n'), re), theirs);
  assert.deepEqual(theirs, [
    "TLS handshake error: tls: client didn't provide a certificate",
    'TLS handshake error: tls: failed to verify client certificate: x509: certificate has expired or is not yet valid: current time T is after 2020-02-01T00:00:00Z',
    'TLS handshake error: tls: failed to verify client certificate: x509: certificate signed by unknown authority',
  ]);
  await p.close();
});

test('pinned_certs: the same id (SHA-256 of the SubjectPublicKeyInfo) lets the same client in', { skip }, async () => {
  const id = pinnedCertId(new X509Certificate(readFileSync(certs.cncf.cert)));
  const p = await startBoth(tlsBlock(`, verify: true, pinned_certs: ["${id}"]`));
  for (const port of [p.natter.port, p.ref.port]) {
    (await tlsPing(port, { ca: certs.ca.cert, client: certs.cncf })).socket.destroy();
    await assert.rejects(tlsPing(port, { ca: certs.ca.cert, client: certs.acme }));
  }
  const re = /TLS handshake error/;
  await logged(() => p.ref.log(), /not pinned/);
  assert.deepEqual(problems(p.natter.log.lines.join('\n'), re), problems(p.ref.log(), re));
  assert.deepEqual(problems(p.ref.log(), re), ['TLS handshake error: certificate not pinned']);
  await p.close();
});

test('HTTPS monitoring: plain HTTP gets the same answer', { skip }, async () => {
  const refHttps = await freePort();
  const ref = await startNatsServer({ config: `${tlsBlock()}https: "127.0.0.1:${refHttps}"\n` });
  const srv = await startNatter({ ...optionsFromConfigText(tlsBlock()).options, host: '127.0.0.1', port: 0, https_port: -1 });
  try {
    const ours = Number(new URL(srv.server.monitorURLs[0]).port);
    const answers: string[] = [];
    for (const port of [ours, refHttps]) {
      const s = await dial(port);
      const t = record(s);
      s.write('GET /varz HTTP/1.1\r\nHost: localhost\r\n\r\n');
      // Both servers close after answering; a server that does not must fail here, not hang the suite.
      const closed = await Promise.race([t.closedAfter().then(() => true), sleep(5000).then(() => false)]);
      s.destroy();
      assert.ok(closed, `port ${port} closed the connection after its answer`);
      answers.push(t.text());
    }
    assert.equal(answers[0], answers[1]);
    assert.equal(answers[1], PLAIN_HTTP_ON_HTTPS);
  } finally {
    await srv.close();
    await ref.stop();
  }
});
