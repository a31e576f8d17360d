/**
 * verify_and_map end to end, with the secure-nats-cluster seed's users:
 * the client certificate's subject picks the user and its permissions;
 * default_permissions cover the rest; no or unknown certificates are refused.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { closeAllNatter, startNatter, type TestNatter } from '../helpers/natter.js';
import { makeCerts, type CertFiles, type CertSet } from './certs.js';

let certs: CertSet;
let srv: TestNatter;

before(async () => {
  certs = await makeCerts();
  srv = await startNatter({
    tls: { cert_file: certs.server.cert, key_file: certs.server.key, ca_file: certs.ca.cert, verify_and_map: true, timeout: 2 },
    authorization: {
      default_permissions: { publish: ['SANDBOX.*'], subscribe: ['PUBLIC.>', '_INBOX.>'] },
      users: [
        { user: 'CN=nats.io,OU=ACME' },
        { user: 'CN=nats.io,OU=CNCF', permissions: { publish: ['>'], subscribe: ['>'] } },
      ],
    },
  });
});

after(async () => {
  await closeAllNatter();
  certs.cleanup();
});

function dial(client: CertFiles | undefined): Promise<NatsConnection> {
  return connect({
    servers: srv.url,
    reconnect: false,
    tls: { caFile: certs.ca.cert, ...(client === undefined ? {} : { certFile: client.cert, keyFile: client.key }) },
  });
}

function errorsOf(nc: NatsConnection): string[] {
  const out: string[] = [];
  (async () => {
    for await (const s of nc.status()) if (s.type === 'error') out.push(String((s as { error?: Error }).error?.message));
  })().catch(() => undefined);
  return out;
}

test('the CNCF certificate maps to the user with full permissions', async () => {
  const nc = await dial(certs.cncf);
  try {
    const sub = nc.subscribe('anything.at.all', { max: 1 });
    await nc.flush();
    nc.publish('anything.at.all', 'x');
    for await (const m of sub) assert.equal(m.string(), 'x');
  } finally {
    await nc.close();
  }
});

test('the ACME certificate maps to a user with default_permissions', async () => {
  const nc = await dial(certs.acme);
  const errors = errorsOf(nc);
  try {
    const sub = nc.subscribe('PUBLIC.news', { max: 1 });
    await nc.flush();
    const peer = await dial(certs.cncf);
    peer.publish('PUBLIC.news', 'hello');
    await peer.flush();
    for await (const m of sub) assert.equal(m.string(), 'hello');
    await peer.close();
    nc.publish('PRIVATE.x', 'no');
    nc.subscribe('PRIVATE.>');
    await nc.flush();
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(errors.sort(), [
      'Permissions Violation for Publish to "PRIVATE.x"',
      'Permissions Violation for Subscription to "PRIVATE.>"',
    ]);
    assert.equal(nc.isClosed(), false, 'violations keep the connection open');
  } finally {
    await nc.close();
  }
});

test('a client without a certificate is refused', async () => {
  await assert.rejects(dial(undefined));
});

test('a certificate of an unknown subject is an Authorization Violation', async () => {
  await assert.rejects(dial(certs.sans), /Authorization Violation/);
});

test('/connz-style identity: the mapped user is recorded on the connection', async () => {
  const nc = await dial(certs.cncf);
  try {
    await nc.flush();
    const users = [...srv.server.clients.values()].map((c) => c.authUser);
    assert.ok(users.includes('CN=nats.io,OU=CNCF'), users.join(','));
  } finally {
    await nc.close();
  }
});
