/**
 * Operator mode through the real server: accounts preloaded from JWTs
 * (MEMORY resolver), users connecting with creds through the official client,
 * account isolation, JWT permissions, INFO nonce, and refusals.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { connect, credsAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { startNatter, type TestNatter } from '../helpers/natter.js';
import { formatCreds } from '../../src/jwt/creds.js';
import { waitUntil } from '../helpers/wait.js';
import { RawSession } from '../helpers/session.js';
import { accountJwt, newAccount, newOperator, newUser, nowSec, operatorJwt, tamper, userJwt } from './encoder.js';

const op = newOperator();
const sys = newAccount();
const appA = newAccount();
const appB = newAccount();
const alice = newUser();
const bob = newUser();
const limited = newUser();

let dir: string;
let srv: TestNatter;

function credsFor(jwt: string, seed: string): Uint8Array {
  return new TextEncoder().encode(formatCreds(jwt, seed));
}

function dial(jwt: string, seed: string): Promise<NatsConnection> {
  return connect({ servers: srv.url, authenticator: credsAuthenticator(credsFor(jwt, seed)), reconnect: false, timeout: 3000 });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'natter-op-'));
  const opFile = join(dir, 'op.jwt');
  writeFileSync(opFile, operatorJwt(op, { system_account: sys.pub }));
  srv = await startNatter({
    operator: opFile,
    resolver: 'MEMORY',
    resolver_preload: {
      [sys.pub]: accountJwt(sys.pub, op.kp),
      [appA.pub]: accountJwt(appA.pub, op.kp),
      [appB.pub]: accountJwt(appB.pub, op.kp),
    },
  });
});

after(async () => {
  await srv.close();
  rmSync(dir, { recursive: true, force: true });
});

test('INFO asks for authentication and carries a nonce', async () => {
  const s = await RawSession.connect(srv.port);
  try {
    assert.equal(s.info.auth_required, true);
    assert.equal(typeof s.info.nonce, 'string');
  } finally {
    s.close();
  }
});

test('users of one account talk; another account does not hear them', async () => {
  const a1 = await dial(userJwt(alice.pub, appA.kp), alice.seed);
  const b1 = await dial(userJwt(bob.pub, appB.kp), bob.seed);
  try {
    const inA = a1.subscribe('news', { max: 1 });
    let crossed = 0;
    b1.subscribe('news', { callback: () => { crossed++; } });
    await a1.flush();
    await b1.flush();
    // A seed that does not belong to the JWT's user cannot sign the nonce.
    await assert.rejects(dial(userJwt(newUser().pub, appA.kp), newUser().seed));
    a1.publish('news', 'for A only');
    for await (const m of inA) assert.equal(m.string(), 'for A only');
    await b1.flush();
    assert.equal(crossed, 0);
    const accounts = [...srv.server.clients.values()].map((c) => c.account.name).sort();
    assert.deepEqual(accounts, [appA.pub, appB.pub].sort());
  } finally {
    await a1.close();
    await b1.close();
  }
});

test('user JWT permissions are enforced', async () => {
  const nc = await dial(userJwt(limited.pub, appA.kp, { pub: { allow: ['ok.>'] }, sub: { allow: ['ok.>'] } }), limited.seed);
  const errors: string[] = [];
  (async () => {
    for await (const s of nc.status()) if (s.type === 'error') errors.push(String((s as { error?: Error }).error?.message));
  })().catch(() => undefined);
  try {
    nc.publish('nope', 'x');
    nc.subscribe('nope.>');
    await nc.flush();
    // The -ERR lines precede the PONG on the wire, but the client hands them to
    // status() asynchronously: wait for both rather than a fixed delay.
    await waitUntil(() => errors.length >= 2, 3000, 'two permission errors');
    assert.deepEqual(errors.sort(), [
      'Permissions Violation for Publish to "nope"',
      'Permissions Violation for Subscription to "nope.>"',
    ]);
  } finally {
    await nc.close();
  }
});

test('expired, tampered and unknown-account users are refused', async () => {
  await assert.rejects(dial(userJwt(alice.pub, appA.kp, {}, { exp: nowSec() - 10 }), alice.seed));
  await assert.rejects(dial(tamper(userJwt(alice.pub, appA.kp)), alice.seed));
  const stranger = newAccount();
  await assert.rejects(dial(userJwt(alice.pub, stranger.kp), alice.seed));
});

test('the operator names the system account', () => {
  assert.equal(srv.server.systemAccountName, sys.pub);
  assert.ok(srv.server.accounts.has(sys.pub));
});
