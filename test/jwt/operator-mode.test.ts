/** Operator mode with the MEMORY resolver: configuration checks and CONNECT authentication. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fromSeed } from '@nats-io/nkeys';
import type { Logger } from '../../src/log/logger.js';
import {
  connectWindow,
  createJwtAuthenticator,
  OperatorConfigError,
  permissionsConfig,
  type JwtAuthenticator,
  type JwtModeOptions,
} from '../../src/jwt/operator-mode.js';
import { generateNonce } from '../../src/auth/nkey.js';
import {
  accountJwt,
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
import { NATS_SERVER_OP_JWT_FILE, PY } from './vectors.js';
import { LogCapture } from '../helpers/log-capture.js';


const op = newOperator();
const opSigner = newOperator();
const sys = newAccount();
const acc = newAccount();
const sk = newAccount();
const scoped = newAccount();

const ACC_JWT = accountJwt(acc.pub, opSigner.kp, {
  signing_keys: [sk.pub, { kind: 'user_scope', key: scoped.pub, role: 'svc', template: { pub: { allow: ['svc.>'] }, sub: { allow: ['_INBOX.>'] } } }],
  default_permissions: { pub: { deny: ['forbidden'] }, sub: {} },
});

function baseOptions(extra: Partial<JwtModeOptions> = {}): JwtModeOptions {
  return {
    operator: operatorJwt(op, { signing_keys: [opSigner.pub], system_account: sys.pub }),
    resolver: 'MEMORY',
    resolver_preload: { [acc.pub]: ACC_JWT, [sys.pub]: accountJwt(sys.pub, op.kp) },
    ...extra,
  };
}

function authenticator(extra: Partial<JwtModeOptions> = {}, logger: Logger = new LogCapture({ debug: true })): JwtAuthenticator {
  const a = createJwtAuthenticator(baseOptions(extra), logger);
  assert.ok(a !== null);
  return a;
}

/** A CONNECT for `user` with `token`, signing `nonce`. */
function connectFor(user: Identity, token: string, nonce: string): Record<string, unknown> {
  return { verbose: false, jwt: token, sig: signNonce(user.kp, nonce) };
}

describe('operator mode configuration', () => {
  it('is off without an operator', () => {
    assert.equal(createJwtAuthenticator({ resolver: 'MEMORY' }, new LogCapture({ debug: true })), null);
  });

  it('loads the operator from a file, armoured or not, or inline', () => {
    const dir = mkdtempSync(join(tmpdir(), 'natter-jwt-'));
    try {
      const file = join(dir, 'op.jwt');
      writeFileSync(file, NATS_SERVER_OP_JWT_FILE);
      const a = createJwtAuthenticator({ operator: file, resolver: 'MEM' }, new LogCapture({ debug: true }));
      assert.ok(a !== null);
      assert.deepEqual(a.accounts(), []);
      assert.equal(a.systemAccount, null);
      writeFileSync(file, operatorJwt(op, { system_account: sys.pub }));
      assert.equal(createJwtAuthenticator({ operator: [file], resolver: 'memory' }, new LogCapture({ debug: true }))?.systemAccount, sys.pub);
      assert.throws(() => createJwtAuthenticator({ operator: join(dir, 'missing.jwt'), resolver: 'MEMORY' }, new LogCapture({ debug: true })), /error parsing operator JWT: ENOENT/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names the accounts by public key, with the system account', () => {
    const a = authenticator();
    assert.deepEqual(a.accounts().sort(), [acc.pub, sys.pub].sort());
    assert.equal(a.systemAccount, sys.pub);
    const noSysPreload = authenticator({ resolver_preload: { [acc.pub]: ACC_JWT } });
    assert.deepEqual(noSysPreload.accounts().sort(), [acc.pub, sys.pub].sort());
  });

  it('refuses what nats-server refuses at start', () => {
    const log = new LogCapture({ debug: true });
    const o = baseOptions();
    const refuse = (extra: Partial<JwtModeOptions>, msg: RegExp): void => {
      assert.throws(() => createJwtAuthenticator({ ...o, ...extra }, log), (e: unknown) => e instanceof OperatorConfigError && msg.test(e.message));
    };
    refuse({ resolver: undefined }, /operators require an account resolver/);
    refuse({ resolver: 'URL("http://localhost:9090/jwt/v1/accounts/")' }, /the URL account resolver is not supported/);
    refuse({ resolver: 'SOMEWHERE' }, /unknown account resolver "SOMEWHERE"/);
    refuse({ resolver: { type: 'full' } }, /resolver dir: dir has no value and needs to point to a directory/);
    refuse({ resolver: { type: 'full', dir: '/nonexistent', ttl: '1h' } }, /resolver ttl: FULL does not accept ttl/);
    refuse({ resolver: { type: 'cache', dir: '/nonexistent', allow_delete: true } }, /resolver allow_delete: CACHE does not accept allow_delete/);
    refuse({ resolver: { type: 'cache', dir: '/nonexistent', interval: '2m' } }, /resolver interval: CACHE does not accept sync/);
    refuse({ resolver: { type: 'other', dir: '/nonexistent' } }, /resolver type must be full or cache/);
    refuse({ resolver: { type: 'full', dir: '/nonexistent', ttl: 'soon' } }, /resolver ttl:/);
    refuse({ resolver: { type: 'full', dir: '/nonexistent', colour: 'blue' } }, /unknown resolver field "colour"/);
    refuse({ resolver: { type: 'full', dir: '/dev/null' } }, /resolver: dir needs to point to an accessible directory/);
    refuse({ accounts: { A: {} } }, /do not allow Accounts/);
    refuse({ authorization: { users: [] } }, /do not allow users/);
    refuse({ system_account: newAccount().pub }, /system_account in config and operator JWT must be identical/);
    refuse({ operator: operatorJwt(op), system_account: 'SYS' }, /system_account "SYS" is not an account public key/);
    refuse({ operator: operatorJwt(op, { signing_keys: [acc.pub] }) }, /error parsing operator JWT: "A[A-Z0-9]+" is not an operator public key/);
    refuse({ operator: 'eyJnot-a-jwt' }, /error parsing operator JWT/);
    refuse({ operator: accountJwt(acc.pub, op.kp) }, /error parsing operator JWT: not an operator JWT/);
    refuse({ operator: 42 }, /operator must be/);
    refuse({ resolver_preload: { [acc.pub]: 7 } }, /should be a string JWT/);
    refuse({ resolver_preload: 'x' }, /resolver_preload must be a map/);
    assert.ok(createJwtAuthenticator({ ...o, authorization: { token: 't' } }, log) !== null, 'a token alone is not refused');
  });

  it('skips preloaded accounts that are broken, misnamed or untrusted, and says so', () => {
    const log = new LogCapture({ debug: true });
    const stranger = newOperator();
    const other = newAccount();
    const a = createJwtAuthenticator(baseOptions({
      resolver_preload: {
        [acc.pub]: ACC_JWT,
        [other.pub]: accountJwt(other.pub, stranger.kp),
        [sys.pub]: accountJwt(acc.pub, op.kp),
        AXXX: 'garbage',
      },
    }), log);
    assert.deepEqual(a?.accounts().sort(), [acc.pub, sys.pub].sort(), 'the system account stays named');
    assert.ok(log.lines.includes(`[ERR] Preloaded account [${other.pub}] not valid: not signed by a trusted operator key`));
    assert.ok(log.lines.includes(`[ERR] Preloaded account [${sys.pub}] not valid: the JWT is for account ${acc.pub}`));
    assert.ok(log.lines.some((l) => l.startsWith('[ERR] Preloaded account [AXXX] not valid: expected 3 chunks')));
  });

  it('with strict_signing_key_usage trusts only the operator signing keys', () => {
    const log = new LogCapture({ debug: true });
    const a = createJwtAuthenticator(baseOptions({
      operator: operatorJwt(op, { signing_keys: [opSigner.pub], strict_signing_key_usage: true }),
    }), log);
    assert.deepEqual(a?.accounts(), [acc.pub], 'the account signed by the identity key is refused');
  });
});

describe('CONNECT with a user JWT', () => {
  const a = authenticator();
  const user = newUser();
  const nonce = generateNonce();

  it('accepts a user issued by the account, signing the nonce', async () => {
    const token = userJwt(user.pub, acc.kp, { pub: { allow: ['a.>'] } });
    const who = await a.authenticate(connectFor(user, token, nonce), nonce);
    assert.ok(who !== null);
    assert.equal(who.kind, 'nkey');
    assert.equal(who.name, user.pub);
    assert.equal(who.account, acc.pub);
    assert.equal(who.signingKey, '');
    assert.equal(who.expiresAt, null);
    assert.equal(who.permissions?.canPublish('a.b'), true);
    assert.equal(who.permissions?.canPublish('b'), false);
  });

  it('refuses missing, malformed, forged and expired JWTs, and bad signatures', async () => {
    const log = new LogCapture({ debug: true });
    const b = authenticator({}, log);
    const token = userJwt(user.pub, acc.kp);
    const refused = async (connect: Record<string, unknown>, why: string, n: string | null = nonce): Promise<void> => {
      log.lines.length = 0;
      assert.equal(await b.authenticate(connect, n), null, why);
      assert.ok(log.lines.some((l) => l.includes(why)), `${why} in ${log.lines.join(' | ')}`);
    };
    await refused({}, 'Authentication requires a user JWT');
    await refused({ jwt: 'abc', sig: 'x' }, 'User JWT not valid: expected 3 chunks');
    await refused({ ...connectFor(user, token, nonce), jwt: forge(token, (c) => (c.name = 'x')) }, 'claim failed V2 signature verification');
    await refused(connectFor(user, userJwt(user.pub, acc.kp, {}, { exp: nowSec() - 10 }), nonce), 'User JWT no longer valid: claim is expired');
    await refused(connectFor(user, userJwt(user.pub, acc.kp, {}, { nbf: nowSec() + 100 }), nonce), 'claim is not yet valid');
    await refused({ jwt: token }, 'Signature missing');
    await refused(connectFor(user, token, 'another-nonce'), 'Signature not verified');
    await refused(connectFor(newUser(), token, nonce), 'Signature not verified');
    await refused(connectFor(user, token, nonce), 'Signature not verified', null);
    await refused(connectFor(user, userJwt(user.pub, newAccount().kp), nonce), 'Account JWT lookup error');
  });

  it('accepts a user issued by a signing key with issuer_account, and refuses unknown signers', async () => {
    const token = userJwt(user.pub, sk.kp, { issuer_account: acc.pub });
    const who = await a.authenticate(connectFor(user, token, nonce), nonce);
    assert.equal(who?.account, acc.pub);
    assert.equal(who?.signingKey, sk.pub);
    const stranger = newAccount();
    assert.equal(await a.authenticate(connectFor(user, userJwt(user.pub, stranger.kp, { issuer_account: acc.pub }), nonce), nonce), null);
    // Without issuer_account the signing key is looked up as an account, which it is not.
    assert.equal(await a.authenticate(connectFor(user, userJwt(user.pub, sk.kp), nonce), nonce), null);
  });

  it('gives users of a scoped key the scope template, and refuses them permissions of their own', async () => {
    const token = userJwt(user.pub, scoped.kp, { issuer_account: acc.pub, pub: {}, sub: {}, subs: 0, data: 0, payload: 0 });
    const who = await a.authenticate(connectFor(user, token, nonce), nonce);
    assert.equal(who?.permissions?.canPublish('svc.x'), true);
    assert.equal(who?.permissions?.canPublish('other'), false);
    const withOwn = userJwt(user.pub, scoped.kp, { issuer_account: acc.pub, pub: { allow: ['>'] }, subs: 0, data: 0, payload: 0 });
    assert.equal(await a.authenticate(connectFor(user, withOwn, nonce), nonce), null);
  });

  it('lets bearer tokens in without a signature, unless the account disallows them', async () => {
    const bearer = userJwt(user.pub, acc.kp, { bearer_token: true });
    assert.equal((await a.authenticate({ jwt: bearer }, nonce))?.name, user.pub);
    assert.equal((await a.authenticate({ jwt: bearer }, null))?.name, user.pub);
    const strict = authenticator({ resolver_preload: { [acc.pub]: accountJwt(acc.pub, op.kp, { disallow_bearer: true }) } });
    assert.equal(await strict.authenticate({ jwt: bearer }, nonce), null);
  });

  it('refuses revoked users and users of an expired account', async () => {
    const token = userJwt(user.pub, acc.kp, {}, { iat: nowSec() - 100 });
    const revoked = authenticator({ resolver_preload: { [acc.pub]: accountJwt(acc.pub, op.kp, { revocations: { [user.pub]: nowSec() - 50 } }) } });
    assert.equal(await revoked.authenticate(connectFor(user, token, nonce), nonce), null);
    const later = userJwt(user.pub, acc.kp, {}, { iat: nowSec() });
    assert.equal((await revoked.authenticate(connectFor(user, later, nonce), nonce))?.name, user.pub, 'issued after the revocation');
    const all = authenticator({ resolver_preload: { [acc.pub]: accountJwt(acc.pub, op.kp, { revocations: { '*': nowSec() } }) } });
    assert.equal(await all.authenticate(connectFor(user, later, nonce), nonce), null);
    const log = new LogCapture({ debug: true });
    const expired = authenticator({ resolver_preload: { [acc.pub]: accountJwt(acc.pub, op.kp, {}, { exp: nowSec() - 1 }) } }, log);
    assert.ok(log.lines.some((l) => l.includes('claim is expired')), 'warned at load');
    assert.equal(await expired.authenticate(connectFor(user, later, nonce), nonce), null);
  });

  it('checks source addresses, connection types and connect times', async () => {
    const src = userJwt(user.pub, acc.kp, { src: ['10.1.0.0/16'] });
    assert.equal(await a.authenticate(connectFor(user, src, nonce), nonce, '127.0.0.1'), null);
    assert.equal((await a.authenticate(connectFor(user, src, nonce), nonce, '10.1.2.3'))?.name, user.pub);
    const ws = userJwt(user.pub, acc.kp, { allowed_connection_types: ['WEBSOCKET'] });
    assert.equal(await a.authenticate(connectFor(user, ws, nonce), nonce), null);
    assert.equal((await a.authenticate(connectFor(user, ws, nonce), nonce, '', 'WEBSOCKET'))?.name, user.pub);
    const unknownOnly = userJwt(user.pub, acc.kp, { allowed_connection_types: ['CARRIER_PIGEON'] });
    assert.equal(await a.authenticate(connectFor(user, unknownOnly, nonce), nonce), null);
    const never = userJwt(user.pub, acc.kp, { times: [{ start: '00:00:00', end: '00:00:00' }], times_location: 'UTC' });
    assert.equal(await a.authenticate(connectFor(user, never, nonce), nonce), null);
  });

  it('ends the connection at the JWT expiry', async () => {
    const exp = nowSec() + 3600;
    const who = await a.authenticate(connectFor(user, userJwt(user.pub, acc.kp, {}, { exp }), nonce), nonce);
    assert.equal(who?.expiresAt, exp * 1000);
  });

  it('gives users without permissions the account defaults', async () => {
    const who = await a.authenticate(connectFor(user, userJwt(user.pub, acc.kp), nonce), nonce);
    assert.equal(who?.permissions?.canPublish('forbidden'), false);
    assert.equal(who?.permissions?.canPublish('fine'), true);
    const plain = authenticator({ resolver_preload: { [acc.pub]: accountJwt(acc.pub, op.kp) } });
    assert.equal((await plain.authenticate(connectFor(user, userJwt(user.pub, acc.kp), nonce), nonce))?.permissions, null);
  });

  it('accepts the published account and user JWTs under an operator made from the published seed', async () => {
    const pyOp: Identity = { kp: fromSeed(new TextEncoder().encode(PY.operatorSeed)), pub: PY.operator, seed: PY.operatorSeed };
    const b = createJwtAuthenticator({ operator: operatorJwt(pyOp), resolver: 'MEMORY', resolver_preload: { [PY.account]: PY.accountJwt } }, new LogCapture({ debug: true }));
    const userKp = fromSeed(new TextEncoder().encode(PY.userSeed));
    const who = await b?.authenticate({ jwt: PY.userJwt, sig: signNonce(userKp, nonce) }, nonce);
    assert.equal(who?.account, PY.account);
    assert.equal(who?.permissions?.canPublish('foo.x'), true);
    assert.equal(who?.permissions?.canPublish('baz'), false);
    assert.equal(who?.permissions?.canSubscribe('_INBOX.a', null), true);
  });
});

describe('JWT permissions and connect times', () => {
  it('maps pub/sub/resp as nats-server builds them', () => {
    const none = { allow: null, deny: null };
    assert.equal(permissionsConfig({ pub: none, sub: { allow: [], deny: [] }, resp: null }), null);
    assert.deepEqual(permissionsConfig({ pub: none, sub: none, resp: { max: 0, ttl: 0 } }), {
      publish: { allow: [], deny: null },
      subscribe: null,
      response: { maxMsgs: 1, expiresMs: 120000 },
    });
    assert.deepEqual(permissionsConfig({ pub: { allow: ['a'], deny: ['b'] }, sub: none, resp: { max: 5, ttl: 2_000_000_000 } }), {
      publish: { allow: ['a'], deny: ['b'] },
      subscribe: null,
      response: { maxMsgs: 5, expiresMs: 2000 },
    });
  });

  it('computes connect windows in a zone, including ranges past midnight', () => {
    const at = new Date('2026-01-15T10:00:00Z');
    const utc = (start: string, end: string) => connectWindow({ times: [{ start, end }], times_location: 'UTC' }, at);
    assert.deepEqual(utc('09:00:00', '11:00:00'), { allowed: true, endsAt: at.getTime() + 3600_000 });
    assert.equal(utc('11:00:00', '12:00:00').allowed, false);
    assert.deepEqual(utc('22:00:00', '11:00:00').allowed, false, 'nats-server only admits after the start of a wrapping range');
    assert.deepEqual(utc('09:30:00', '01:00:00'), { allowed: true, endsAt: at.getTime() + 15 * 3600_000 });
    // 10:00 UTC is 11:00 in Paris in January.
    assert.equal(connectWindow({ times: [{ start: '10:30:00', end: '11:30:00' }], times_location: 'Europe/Paris' }, at).allowed, true);
    assert.deepEqual(connectWindow({ times: [], times_location: '' }, at), { allowed: true, endsAt: null });
  });
});
