/**
 * The websocket listener's TLS follows a configuration reload, as the
 * client port's does: certificate files read again (same block, new
 * contents), a changed `tls` block taken (nats-server lets only `tls`
 * change in the websocket block), client certificate checks turned on, and
 * a reload that cannot load its files refused with the old certificate
 * still served. Connections made before a reload keep working.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import tls from 'node:tls';
import { pinnedCertId } from '../../src/tls/index.js';
import { closeAllNatter } from '../helpers/natter.js';
import { LogCapture } from '../helpers/log-capture.js';
import { waitUntil } from '../helpers/wait.js';
import { makeCerts, type CertSet } from '../tls/certs.js';
import { frame, FrameReader, startWsNatter, upgradeRequest } from './helpers.js';

let certs: CertSet;

before(async () => {
  certs = await makeCerts();
});
after(async () => {
  await closeAllNatter();
  certs.cleanup();
});

/** A wss connection: TLS to the port (trusting the test CA), then the upgrade; the subject of the server's certificate and the socket. */
function wss(port: number, client?: { cert: string; key: string }): Promise<{ subject: string; socket: tls.TLSSocket; reader: FrameReader }> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      port,
      host: '127.0.0.1',
      servername: 'localhost',
      ca: readFileSync(certs.ca.cert),
      ...(client === undefined ? {} : { cert: readFileSync(client.cert), key: readFileSync(client.key) }),
    });
    const reader = new FrameReader();
    let head = '';
    let upgraded = false;
    socket.on('error', reject);
    socket.on('close', () => {
      if (!upgraded) reject(new Error(`closed before the upgrade: ${head}`));
    });
    socket.once('secureConnect', () => socket.write(upgradeRequest(port)));
    socket.on('data', (d: Buffer) => {
      if (upgraded) {
        reader.push(d);
        return;
      }
      head += d.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      upgraded = true;
      if (!head.startsWith('HTTP/1.1 101')) {
        reject(new Error(head));
        return;
      }
      reader.push(Buffer.from(head.slice(end + 4), 'latin1'));
      resolve({ subject: socket.getPeerX509Certificate()?.subject ?? '', socket, reader });
    });
  });
}

async function pingPong(c: { socket: tls.TLSSocket; reader: FrameReader }): Promise<void> {
  const before = c.reader.text().split('PONG').length;
  c.socket.write(frame(2, Buffer.from('CONNECT {"verbose":false}\r\nPING\r\n')));
  await waitUntil(() => c.reader.text().split('PONG').length > before, 3000, 'PONG');
}

test('new wss connections get the reloaded certificate; the old connection goes on; a block change to tls alone is accepted', async () => {
  const cert = join(certs.dir, 'ws-live.pem');
  const key = join(certs.dir, 'ws-live-key.pem');
  copyFileSync(certs.server.cert, cert);
  copyFileSync(certs.server.key, key);
  const log = new LogCapture();
  const srv = await startWsNatter({ tls: { cert_file: cert, key_file: key } }, { logger: log });
  try {
    const first = await wss(srv.wsPort);
    assert.match(first.subject, /OU=Operator$/m);
    await pingPong(first);

    // Same configuration, new files.
    copyFileSync(certs.server2.cert, cert);
    copyFileSync(certs.server2.key, key);
    assert.deepEqual(srv.server.reload({ ...srv.server.options }), []);
    const second = await wss(srv.wsPort);
    assert.match(second.subject, /OU=Operator2$/m);
    assert.ok(log.has(/Websocket TLS certificate loaded: .*OU=Operator2/), log.text());
    await pingPong(first);

    // The block's tls itself changes (other files): accepted, and nothing is logged as a changed option.
    const ws = srv.server.options.websocket as Record<string, unknown>;
    assert.deepEqual(srv.server.reload({ ...srv.server.options, websocket: { ...ws, tls: { cert_file: certs.server.cert, key_file: certs.server.key } } }), []);
    assert.match((await wss(srv.wsPort)).subject, /OU=Operator$/m);
    for (const c of [first, second]) c.socket.destroy();
  } finally {
    await srv.close();
  }
});

test('a reload turning on client certificates refuses wss clients without one', async () => {
  const srv = await startWsNatter({ tls: { cert_file: certs.server.cert, key_file: certs.server.key } });
  try {
    await pingPong(await wss(srv.wsPort));
    const ws = srv.server.options.websocket as Record<string, unknown>;
    srv.server.reload({ ...srv.server.options, websocket: { ...ws, tls: { cert_file: certs.server.cert, key_file: certs.server.key, ca_file: certs.ca.cert, verify: true } } });
    await assert.rejects(wss(srv.wsPort));
    await pingPong(await wss(srv.wsPort, certs.acme));
  } finally {
    await srv.close();
  }
});

test('a reload that narrows pinned_certs lets go the wss clients it no longer lists, and only them', async () => {
  const id = (f: string): string => pinnedCertId(new X509Certificate(readFileSync(f))) ?? '';
  const log = new LogCapture();
  const block = (pinned: string[]): Record<string, unknown> => ({
    tls: { cert_file: certs.server.cert, key_file: certs.server.key, ca_file: certs.ca.cert, verify: true, pinned_certs: pinned },
  });
  const srv = await startWsNatter(block([id(certs.acme.cert), id(certs.cncf.cert)]), { logger: log });
  try {
    const acme = await wss(srv.wsPort, certs.acme);
    const cncf = await wss(srv.wsPort, certs.cncf);
    await pingPong(acme);
    await pingPong(cncf);
    const gone = new Promise((resolve) => cncf.socket.once('close', resolve));
    const ws = srv.server.options.websocket as Record<string, unknown>;
    srv.server.reload({ ...srv.server.options, websocket: { ...ws, ...block([id(certs.acme.cert)]) } });
    await gone;
    assert.ok(log.has(/Disconnect 1 clients due to pinned certs reload/), log.text());
    await pingPong(acme);
    await assert.rejects(wss(srv.wsPort, certs.cncf));
    acme.socket.destroy();
  } finally {
    await srv.close();
  }
});

test('refused reloads: files that do not load, another websocket setting, TLS turned off; the current certificate stays', async () => {
  const srv = await startWsNatter({ tls: { cert_file: certs.server.cert, key_file: certs.server.key } });
  try {
    const ws = srv.server.options.websocket as Record<string, unknown>;
    const missing = join(certs.dir, 'nope.pem');
    assert.throws(
      () => srv.server.reload({ ...srv.server.options, websocket: { ...ws, tls: { cert_file: missing, key_file: certs.server.key } } }),
      /error parsing X509 certificate\/key pair: open .*nope\.pem: no such file or directory/,
    );
    assert.throws(() => srv.server.reload({ ...srv.server.options, websocket: { ...ws, compression: true } }), /config reload not supported for websocket/);
    const withoutTls = Object.fromEntries(Object.entries(ws).filter(([k]) => k !== 'tls'));
    assert.throws(() => srv.server.reload({ ...srv.server.options, websocket: withoutTls }), /config reload not supported for websocket: TLS can be turned on or off only with a restart/);
    // Still the first certificate, still served.
    const c = await wss(srv.wsPort);
    assert.match(c.subject, /OU=Operator$/m);
    await pingPong(c);
    c.socket.destroy();
  } finally {
    await srv.close();
  }
});
