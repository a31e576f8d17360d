/**
 * Differential test: JWTs and creds made by the test encoder, served by
 * Debian's nats-server 2.9.10 in operator mode with the MEMORY resolver,
 * and checked by Natter's authenticator. Both must agree on every case,
 * which proves the JWTs are what nats-server accepts and that Natter
 * refuses what it refuses.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fromSeed } from '@nats-io/nkeys';
import { connect, credsAuthenticator, errors } from '@nats-io/transport-node';
import { startNatsServer, type NatsServerHandle } from '../helpers/nats-server.js';
import { silentLogger } from '../../src/log/silent-logger.js';
import { formatCreds, parseCreds } from '../../src/jwt/creds.js';
import { createJwtAuthenticator, type JwtAuthenticator } from '../../src/jwt/operator-mode.js';
import { generateNonce } from '../../src/auth/nkey.js';
import {
  accountJwt,
  encodeRaw,
  forge,
  newAccount,
  newOperator,
  newUser,
  nowSec,
  operatorJwt,
  signNonce,
  userJwt,
  type Identity,
} from './encoder.js';
import { NATS_SERVER_OP_JWT_FILE, NATS_SERVER_OP_SEED, PY } from './vectors.js';

const op = newOperator();
const opSigner = newOperator();
const sys = newAccount();
const acc = newAccount();
const sk = newAccount();
const scoped = newAccount();
const stranger = newOperator();
const strangerAcc = newAccount();
const revokedUser = newUser();
const good = newUser();
const other = newUser();
const expiredAcc = newAccount();
const REVOKED_AT = nowSec() - 100;

const preload: Record<string, string> = {
  [sys.pub]: accountJwt(sys.pub, op.kp),
  [acc.pub]: accountJwt(acc.pub, opSigner.kp, {
    signing_keys: [sk.pub, { kind: 'user_scope', key: scoped.pub, role: 'svc', template: { pub: { allow: ['svc.>'] }, sub: {}, subs: -1, data: -1, payload: -1 } }],
    revocations: { [revokedUser.pub]: nowSec() + 5, [other.pub]: REVOKED_AT },
    default_permissions: { pub: { deny: ['forbidden'] }, sub: {} },
  }),
  [strangerAcc.pub]: accountJwt(strangerAcc.pub, stranger.kp),
  [expiredAcc.pub]: accountJwt(expiredAcc.pub, op.kp, {}, { exp: nowSec() - 5 }),
};

/** A user JWT with exactly these claims, signed by the account. */
function rawUser(claims: Record<string, unknown>, o: { alg?: string; typ?: string; v1Signature?: boolean } = {}): string {
  return encodeRaw({ jti: 'J', iat: nowSec(), iss: acc.pub, sub: good.pub, ...claims }, acc.kp, o);
}

function creds(jwt: string, seed: string): string {
  return formatCreds(jwt, seed);
}

const CASES: ReadonlyArray<{ name: string; creds: string; accepted: boolean }> = [
  { name: 'user issued by the account', creds: creds(userJwt(good.pub, acc.kp, { pub: { allow: ['ok.>', '_INBOX.>'] }, sub: { allow: ['ok.>', '_INBOX.>'] } }), good.seed), accepted: true },
  { name: 'user issued by a signing key', creds: creds(userJwt(good.pub, sk.kp, { issuer_account: acc.pub }), good.seed), accepted: true },
  { name: 'bearer token', creds: creds(userJwt(good.pub, acc.kp, { bearer_token: true }), good.seed), accepted: true },
  { name: 'user expiring in an hour', creds: creds(userJwt(good.pub, acc.kp, {}, { exp: nowSec() + 3600 }), good.seed), accepted: true },
  { name: 'user of a scoped signing key', creds: creds(userJwt(good.pub, scoped.kp, { issuer_account: acc.pub, subs: 0, data: 0, payload: 0 }), good.seed), accepted: true },
  { name: 'user with a queue permission and a subject that never matches', creds: creds(userJwt(good.pub, acc.kp, { sub: { allow: ['jobs.* workers', 'a..b'] } }), good.seed), accepted: true },
  { name: 'user from an allowed source network', creds: creds(userJwt(good.pub, acc.kp, { src: ['127.0.0.0/8'] }), good.seed), accepted: true },
  { name: 'version 1 user JWT (legacy alg, claims-only signature)', creds: creds(rawUser({ type: 'user', nats: { pub: {}, sub: {} } }, { alg: 'ed25519', v1Signature: true }), good.seed), accepted: true },
  { name: 'version 2 claims with the legacy alg', creds: creds(rawUser({ nats: { type: 'user', version: 2 } }, { alg: 'ed25519' }), good.seed), accepted: true },
  { name: 'lower-case typ', creds: creds(rawUser({ nats: { type: 'user', version: 2 } }, { typ: 'jwt' }), good.seed), accepted: true },
  { name: 'issuer_account naming the issuing account itself', creds: creds(userJwt(good.pub, acc.kp, { issuer_account: acc.pub }), good.seed), accepted: true },
  { name: 'lower-case allowed connection type', creds: creds(userJwt(good.pub, acc.kp, { allowed_connection_types: ['standard'] }), good.seed), accepted: true },
  { name: 'user issued after its revocation', creds: creds(userJwt(other.pub, acc.kp, {}, { iat: REVOKED_AT + 1 }), other.seed), accepted: true },
  { name: 'user issued at its revocation time', creds: creds(userJwt(other.pub, acc.kp, {}, { iat: REVOKED_AT }), other.seed), accepted: false },
  { name: 'user of an expired account', creds: creds(userJwt(good.pub, expiredAcc.kp), good.seed), accepted: false },
  { name: 'claims without nats.version (read as version 1, wrongly signed)', creds: creds(rawUser({ nats: { type: 'user' } }), good.seed), accepted: false },
  { name: 'user JWT whose subject is an account key', creds: creds(rawUser({ sub: acc.pub, nats: { type: 'user', version: 2 } }), good.seed), accepted: false },
  { name: 'connect-time range past midnight, before its start', creds: creds(userJwt(good.pub, acc.kp, { times: [{ start: '23:59:59', end: '23:59:58' }], times_location: 'UTC' }), good.seed), accepted: false },
  { name: 'forged permissions', creds: creds(forge(userJwt(good.pub, acc.kp, { pub: { allow: ['ok'] } }), (c) => ((c.nats as Record<string, unknown>).pub = {})), good.seed), accepted: false },
  { name: 'expired user', creds: creds(userJwt(good.pub, acc.kp, {}, { exp: nowSec() - 10 }), good.seed), accepted: false },
  { name: 'not yet valid user', creds: creds(userJwt(good.pub, acc.kp, {}, { nbf: nowSec() + 600 }), good.seed), accepted: false },
  { name: 'seed of another user', creds: creds(userJwt(good.pub, acc.kp), other.seed), accepted: false },
  { name: 'revoked user', creds: creds(userJwt(revokedUser.pub, acc.kp), revokedUser.seed), accepted: false },
  { name: 'unknown account', creds: creds(userJwt(good.pub, newAccount().kp), good.seed), accepted: false },
  { name: 'account of an untrusted operator', creds: creds(userJwt(good.pub, strangerAcc.kp), good.seed), accepted: false },
  { name: 'user of a scoped signing key with limits of its own', creds: creds(userJwt(good.pub, scoped.kp, { issuer_account: acc.pub }), good.seed), accepted: false },
  { name: 'user from another source network', creds: creds(userJwt(good.pub, acc.kp, { src: ['10.99.0.0/16'] }), good.seed), accepted: false },
  { name: 'user allowed websocket connections only', creds: creds(userJwt(good.pub, acc.kp, { allowed_connection_types: ['WEBSOCKET'] }), good.seed), accepted: false },
  { name: 'user with a malformed source network', creds: creds(userJwt(good.pub, acc.kp, { src: 'x' }), good.seed), accepted: false },
  { name: 'user with a malformed connect time', creds: creds(userJwt(good.pub, acc.kp, { times: [{ start: '8:00', end: '09:00:00' }] }), good.seed), accepted: false },
  { name: 'user with an unknown time zone', creds: creds(userJwt(good.pub, acc.kp, { times_location: 'Mars/Olympus' }), good.seed), accepted: false },
  { name: 'connect times with a one-digit hour', creds: creds(userJwt(good.pub, acc.kp, { times: [{ start: '0:00:00', end: '23:59:59' }], times_location: 'UTC' }), good.seed), accepted: true },
  { name: 'user outside its connect times', creds: creds(userJwt(good.pub, acc.kp, { times: [{ start: '00:00:00', end: '00:00:00' }], times_location: 'UTC' }), good.seed), accepted: false },
  { name: 'signing key without issuer_account', creds: creds(userJwt(good.pub, sk.kp), good.seed), accepted: false },
  { name: 'signing key the account does not list', creds: creds(userJwt(good.pub, newAccount().kp, { issuer_account: acc.pub }), good.seed), accepted: false },
];

async function natsServerAccepts(url: string, text: string): Promise<boolean> {
  try {
    const nc = await connect({ servers: url, authenticator: credsAuthenticator(new TextEncoder().encode(text)), reconnect: false, timeout: 3000 });
    await nc.flush();
    await nc.close();
    return true;
  } catch (e) {
    if (e instanceof errors.AuthorizationError) return false;
    throw e;
  }
}

async function natterAccepts(auth: JwtAuthenticator, text: string): Promise<boolean> {
  const { jwt, seed } = parseCreds(text);
  const nonce = generateNonce();
  const who = await auth.authenticate({ jwt, sig: signNonce(fromSeed(new TextEncoder().encode(seed)), nonce) }, nonce, '127.0.0.1');
  return who !== null;
}

describe('operator mode: the same creds against nats-server 2.9.10 and Natter', () => {
  let server: NatsServerHandle;
  let dir: string;
  let auth: JwtAuthenticator;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'natter-jwt-diff-'));
    const opFile = join(dir, 'op.jwt');
    writeFileSync(opFile, operatorJwt(op, { signing_keys: [opSigner.pub], system_account: sys.pub }));
    const preloadConf = Object.entries(preload).map(([k, v]) => `  ${k}: "${v}"`).join('\n');
    const config = `operator: "${opFile}"\nsystem_account: ${sys.pub}\nresolver: MEMORY\nresolver_preload: {\n${preloadConf}\n}\n`;
    server = await startNatsServer({ config });
    const a = createJwtAuthenticator({ operator: opFile, system_account: sys.pub, resolver: 'MEMORY', resolver_preload: preload }, silentLogger);
    assert.ok(a !== null);
    auth = a;
  });

  after(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const c of CASES) {
    it(`${c.accepted ? 'accepts' : 'refuses'}: ${c.name}`, async () => {
      assert.equal(await natsServerAccepts(server.url, c.creds), c.accepted, `nats-server: ${server.log()}`);
      assert.equal(await natterAccepts(auth, c.creds), c.accepted, 'natter');
    });
  }

  it('applies the same publish permissions: own, account defaults, resp, empty allow, scope template', async () => {
    const subjects = ['ok.a', 'ok.secret', 'forbidden', 'fine', 'x', 'svc.a'];
    const observer = newUser();
    const obs = await connect({ servers: server.url, authenticator: credsAuthenticator(new TextEncoder().encode(creds(userJwt(observer.pub, acc.kp, { sub: { allow: ['>'] } }), observer.seed))), reconnect: false });
    try {
      const users: Array<[string, string]> = [
        ['own allow and deny', userJwt(good.pub, acc.kp, { pub: { allow: ['ok.>'], deny: ['ok.secret'] } })],
        ['account defaults', userJwt(good.pub, acc.kp)],
        ['resp only', userJwt(good.pub, acc.kp, { resp: { max: 1, ttl: 0 } })],
        ['present but empty allow', userJwt(good.pub, acc.kp, { pub: { allow: [], deny: ['x'] } })],
        ['scope template', userJwt(good.pub, scoped.kp, { issuer_account: acc.pub, subs: 0, data: 0, payload: 0 })],
      ];
      for (const [name, token] of users) {
        const got: string[] = [];
        const sub = obs.subscribe('>', { callback: (_e, m) => { got.push(m.subject); } });
        await obs.flush();
        const nc = await connect({ servers: server.url, authenticator: credsAuthenticator(new TextEncoder().encode(creds(token, good.seed))), reconnect: false });
        for (const s of subjects) nc.publish(s, 'x');
        await nc.flush();
        await nc.close();
        await obs.flush();
        sub.unsubscribe();
        const nonce = generateNonce();
        const who = await auth.authenticate({ jwt: token, sig: signNonce(good.kp, nonce) }, nonce);
        const natter = subjects.filter((s) => who?.permissions?.canPublish(s) ?? true);
        assert.deepEqual(natter, got.filter((s) => subjects.includes(s)), name);
      }
    } finally {
      await obs.close();
    }
  });

  it('lets the creds\' user exchange messages on nats-server within its permissions', async () => {
    const nc = await connect({ servers: server.url, authenticator: credsAuthenticator(new TextEncoder().encode(CASES[0].creds)), reconnect: false });
    try {
      nc.subscribe('ok.echo', { callback: (_e, m) => { m.respond(m.data); } });
      const reply = await nc.request('ok.echo', 'hi', { timeout: 2000 });
      assert.equal(reply.string(), 'hi');
    } finally {
      await nc.close();
    }
  });
});

function seeded(seed: string): Identity {
  const kp = fromSeed(new TextEncoder().encode(seed));
  return { kp, pub: kp.getPublicKey(), seed };
}

/** Starts nats-server with the operator file text and preloads, and a Natter authenticator alike. */
async function bothWith(opText: string, accounts: Record<string, string>): Promise<{ server: NatsServerHandle; auth: JwtAuthenticator; done(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'natter-jwt-diff-'));
  const opFile = join(dir, 'op.jwt');
  writeFileSync(opFile, opText);
  const lines = Object.entries(accounts).map(([k, v]) => `  ${k}: "${v}"`).join('\n');
  const server = await startNatsServer({ config: `operator: "${opFile}"\nresolver: MEMORY\nresolver_preload: {\n${lines}\n}\n` });
  const auth = createJwtAuthenticator({ operator: opFile, resolver: 'MEMORY', resolver_preload: accounts }, silentLogger);
  assert.ok(auth !== null);
  return {
    server,
    auth,
    async done() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describe('published vectors on both servers', () => {
  it('accepts the published v2 account and user JWTs under their operator', async () => {
    const b = await bothWith(operatorJwt(seeded(PY.operatorSeed)), { [PY.account]: PY.accountJwt });
    try {
      const text = formatCreds(PY.userJwt, PY.userSeed);
      assert.equal(await natsServerAccepts(b.server.url, text), true, b.server.log());
      assert.equal(await natterAccepts(b.auth, text), true);
    } finally {
      await b.done();
    }
  });

  it('accepts accounts signed by the operator of nats-server\'s version 1 operator JWT', async () => {
    const legacyOp = seeded(NATS_SERVER_OP_SEED);
    const account = newAccount();
    const user = newUser();
    const b = await bothWith(NATS_SERVER_OP_JWT_FILE, { [account.pub]: accountJwt(account.pub, legacyOp.kp) });
    try {
      const good = formatCreds(userJwt(user.pub, account.kp), user.seed);
      assert.equal(await natsServerAccepts(b.server.url, good), true, b.server.log());
      assert.equal(await natterAccepts(b.auth, good), true);
      const expired = formatCreds(userJwt(user.pub, account.kp, {}, { exp: nowSec() - 1 }), user.seed);
      assert.equal(await natsServerAccepts(b.server.url, expired), false);
      assert.equal(await natterAccepts(b.auth, expired), false);
    } finally {
      await b.done();
    }
  });
});
