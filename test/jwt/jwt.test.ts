/** JWT decoding and signature checks, typed claims, validation, creds files. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fromSeed } from '@nats-io/nkeys';
import { decodeJwt, JwtError } from '../../src/jwt/jwt.js';
import {
  decodeAccountClaims,
  decodeOperatorClaims,
  decodeUserClaims,
  isUserRevoked,
  sourceAllowed,
  validateAccountClaims,
  validateOperatorClaims,
  validateUserClaims,
} from '../../src/jwt/claims.js';
import { armouredBlocks, formatCreds, parseCreds, parseDecoratedJwt } from '../../src/jwt/creds.js';
import {
  accountJwt,
  encodeClaims,
  encodeRaw,
  forge,
  newAccount,
  newOperator,
  newUser,
  nowSec,
  operatorJwt,
  tamper,
  userJwt,
} from './encoder.js';
import { NATS_SERVER_OP_JWT_FILE, PY } from './vectors.js';

describe('published vectors', () => {
  it('decodes nats-server\'s version 1 operator JWT (legacy ed25519, claims-only signature)', () => {
    const token = parseDecoratedJwt(NATS_SERVER_OP_JWT_FILE);
    const d = decodeJwt(token);
    assert.equal(d.version, 1);
    assert.equal(d.kind, 'operator');
    assert.equal(d.header.alg, 'ed25519');
    const op = decodeOperatorClaims(token);
    assert.equal(op.sub, 'OCAT33MTVU2VUOIMGNGUNXJ66AH2RLSDAF3MUBCYAY5QMIL65NQM6XQG');
    assert.equal(op.iss, op.sub);
    assert.equal(op.name, 'Synadia Communications Inc.');
    assert.equal(op.exp, 1859121275);
    assert.deepEqual(op.nats.signing_keys, [
      'ODSKR7MYFQZ5MMAJ6FPMEETCTE3RIHOFLTYPJRMAVVN4OLV2YYAMHCAC',
      'ODSKACSRBWP537DZDRVJ657JOIGOPOQ6KG7T4HN6OK4F6IECGXDAHNP2',
      'ODSKI36LZB44OY5IVCR6P52FZJZYMYWZVWNUDTLEZ5TK2PN3OEMRTABR',
    ]);
    assert.deepEqual(validateOperatorClaims(op, 1600000000), []);
    assert.throws(() => decodeJwt(tamper(token)), JwtError);
  });

  it('decodes the published version 2 account and user JWTs', () => {
    const acc = decodeAccountClaims(PY.accountJwt);
    assert.equal(acc.iss, PY.operator);
    assert.equal(acc.sub, PY.account);
    assert.equal(acc.name, 'my-account');
    assert.equal(acc.iat, 1678973945);
    assert.equal(acc.nats.limits.conn, -1);
    assert.equal(acc.nats.limits.wildcards, true);
    assert.deepEqual(validateAccountClaims(acc, nowSec()), []);
    const user = decodeUserClaims(PY.userJwt);
    assert.equal(user.iss, PY.account);
    assert.equal(user.sub, PY.user);
    assert.deepEqual(user.nats.pub, { allow: ['foo.>', 'bar.>'], deny: null });
    assert.deepEqual(user.nats.sub, { allow: ['_INBOX.>'], deny: null });
    assert.equal(user.nats.data, 1073741824);
    assert.equal(user.nats.subs, -1);
    assert.deepEqual(validateUserClaims(user, nowSec()), []);
    assert.equal(fromSeed(new TextEncoder().encode(PY.operatorSeed)).getPublicKey(), PY.operator);
  });
});

describe('decodeJwt', () => {
  const op = newOperator();
  const acc = newAccount();

  it('accepts a v2 JWT signed by its issuer', () => {
    const d = decodeJwt(accountJwt(acc.pub, op.kp));
    assert.equal(d.version, 2);
    assert.equal(d.kind, 'account');
    assert.equal(d.issuer, op.pub);
  });

  it('accepts the legacy alg on v2 claims and any case of typ/alg', () => {
    const base = { iss: op.pub, sub: acc.pub, iat: nowSec(), nats: { type: 'account', version: 2 } };
    assert.equal(decodeJwt(encodeRaw(base, op.kp, { alg: 'ed25519' })).version, 2);
    assert.equal(decodeJwt(encodeRaw(base, op.kp, { alg: 'ED25519-NKEY', typ: 'jwt' })).kind, 'account');
  });

  it('checks v1 claims over the claims chunk and v2 over header and claims', () => {
    const v1 = { iss: op.pub, sub: acc.pub, type: 'account', nats: {} };
    assert.equal(decodeJwt(encodeRaw(v1, op.kp, { alg: 'ed25519', v1Signature: true })).version, 1);
    assert.throws(() => decodeJwt(encodeRaw(v1, op.kp, { alg: 'ed25519' })), /V1 signature/);
    const v2 = { iss: op.pub, sub: acc.pub, nats: { type: 'account', version: 2 } };
    assert.throws(() => decodeJwt(encodeRaw(v2, op.kp, { v1Signature: true })), /V2 signature/);
  });

  it('refuses bad headers, chunks, encodings and newer versions', () => {
    const claims = { iss: op.pub, sub: acc.pub, nats: { type: 'account', version: 2 } };
    assert.throws(() => decodeJwt(encodeRaw(claims, op.kp, { typ: 'JWS' })), /not supported type "JWS"/);
    assert.throws(() => decodeJwt(encodeRaw(claims, op.kp, { alg: 'HS256' })), /unexpected "HS256" algorithm/);
    assert.throws(() => decodeJwt(encodeRaw(claims, op.kp, { alg: 'ed25519-nkeyx' })), /algorithm/);
    const good = encodeRaw(claims, op.kp);
    assert.throws(() => decodeJwt(good.split('.').slice(0, 2).join('.')), /expected 3 chunks/);
    const [h, p, s] = good.split('.');
    assert.throws(() => decodeJwt(`${h}.${p}!.${s}`), /claims are not base64url/);
    assert.throws(() => decodeJwt(`${h}.${p}.${s.slice(0, 20)}`), /signature/);
    assert.throws(() => decodeJwt(`${h}.${Buffer.from('[1]').toString('base64url')}.${s}`), /not a JSON object/);
    const v3 = { ...claims, nats: { type: 'account', version: 3 } };
    assert.throws(() => decodeJwt(encodeRaw(v3, op.kp)), /newer version/);
  });

  it('refuses forged claims and a signer that is not the issuer', () => {
    const token = accountJwt(acc.pub, op.kp);
    assert.throws(() => decodeJwt(forge(token, (c) => (c.name = 'evil'))), /V2 signature/);
    const other = newOperator();
    assert.throws(() => decodeJwt(forge(token, (c) => (c.iss = other.pub))), /signature/);
    assert.throws(() => decodeJwt(encodeRaw({ iss: other.pub, sub: acc.pub, nats: { type: 'account', version: 2 } }, op.kp)), /signature/);
  });

  it('refuses issuers of the wrong kind', () => {
    const user = newUser();
    // A user JWT must come from an account key; an account JWT from an operator key.
    assert.throws(() => decodeJwt(encodeClaims('user', user.pub, op.kp)), /not of an expected kind/);
    assert.throws(() => decodeJwt(encodeClaims('account', acc.pub, acc.kp)), /not of an expected kind/);
    assert.throws(() => decodeJwt(encodeRaw({ iss: 'nobody', nats: { type: 'user', version: 2 } }, op.kp)), /not a public nkey/);
  });
});

describe('typed claims', () => {
  const op = newOperator();
  const acc = newAccount();
  const sk = newAccount();
  const user = newUser();

  it('reads missing limits of a version 1 user JWT as no limit, and of a version 2 one as zero (as nats-io/jwt)', () => {
    const base = { jti: 'J', iat: nowSec(), iss: acc.pub, sub: user.pub, name: 'old' };
    const v1 = decodeUserClaims(encodeRaw({ ...base, type: 'user', nats: { pub: {}, sub: {} } }, acc.kp, { alg: 'ed25519', v1Signature: true }));
    assert.deepEqual([v1.nats.subs, v1.nats.data, v1.nats.payload], [-1, -1, -1]);
    const v1Set = decodeUserClaims(encodeRaw({ ...base, type: 'user', nats: { pub: {}, sub: {}, subs: 5 } }, acc.kp, { alg: 'ed25519', v1Signature: true }));
    assert.deepEqual([v1Set.nats.subs, v1Set.nats.data], [5, -1]);
    const v2 = decodeUserClaims(encodeRaw({ ...base, nats: { type: 'user', version: 2, pub: {}, sub: {} } }, acc.kp));
    assert.deepEqual([v2.nats.subs, v2.nats.data, v2.nats.payload], [0, 0, 0]);
  });

  it('reads user permissions, limits and options', () => {
    const token = userJwt(user.pub, sk.kp, {
      pub: { allow: ['a.>'], deny: [] },
      sub: { deny: ['secret'] },
      resp: { max: 3, ttl: 5_000_000_000 },
      src: '10.0.0.0/8, 192.168.1.1/32',
      times: [{ start: '08:00:00', end: '17:00:00' }],
      times_location: 'Europe/Paris',
      bearer_token: true,
      issuer_account: acc.pub,
      allowed_connection_types: ['STANDARD'],
      tags: ['x'],
    });
    const u = decodeUserClaims(token);
    assert.deepEqual(u.nats.pub, { allow: ['a.>'], deny: [] });
    assert.deepEqual(u.nats.sub, { allow: null, deny: ['secret'] });
    assert.deepEqual(u.nats.resp, { max: 3, ttl: 5_000_000_000 });
    assert.deepEqual(u.nats.src, ['10.0.0.0/8', '192.168.1.1/32']);
    assert.equal(u.nats.times_location, 'Europe/Paris');
    assert.equal(u.nats.bearer_token, true);
    assert.equal(u.nats.issuer_account, acc.pub);
    assert.deepEqual(u.nats.tags, ['x']);
    assert.deepEqual(validateUserClaims(u, nowSec()), []);
  });

  it('reads account signing keys (plain and scoped), revocations and default permissions', () => {
    const a = decodeAccountClaims(accountJwt(acc.pub, op.kp, {
      signing_keys: [sk.pub, { kind: 'user_scope', key: user.pub, role: 'r', template: { pub: { allow: ['x'] } } }],
      revocations: { [user.pub]: 100, '*': 50 },
      default_permissions: { pub: { deny: ['no'] }, sub: {} },
      disallow_bearer: true,
    }));
    assert.equal(a.nats.signing_keys.get(sk.pub), null);
    assert.deepEqual(a.nats.signing_keys.get(user.pub)?.template.pub, { allow: ['x'], deny: null });
    assert.equal(a.nats.revocations.get('*'), 50);
    assert.deepEqual(a.nats.default_permissions.pub, { allow: null, deny: ['no'] });
    assert.equal(a.nats.disallow_bearer, true);
    // A user key among the signing keys is a blocking problem.
    assert.deepEqual(validateAccountClaims(a, nowSec()), [`"${user.pub}" is not an account public key`]);
  });

  it('refuses wrong field types and wrong claim types', () => {
    assert.throws(() => decodeUserClaims(userJwt(user.pub, acc.kp, { pub: { allow: 'a' } })), /nats.pub.allow must be an array of strings/);
    assert.throws(() => decodeUserClaims(userJwt(user.pub, acc.kp, { bearer_token: 'yes' })), /bearer_token must be a boolean/);
    assert.throws(() => decodeUserClaims(userJwt(user.pub, acc.kp, {}, { exp: 'soon' })), /claims.exp must be an integer/);
    assert.throws(() => decodeAccountClaims(userJwt(user.pub, acc.kp)), /not an account JWT/);
    assert.throws(() => decodeOperatorClaims(accountJwt(acc.pub, op.kp)), /not an operator JWT/);
    assert.throws(() => decodeAccountClaims(accountJwt(acc.pub, op.kp, { signing_keys: [{ kind: 'other', key: sk.pub }] })), /unknown signing key kind/);
  });

  it('validates times, subjects, keys, CIDRs and connect times', () => {
    const now = nowSec();
    const v = (nats: Record<string, unknown>, extra: Record<string, unknown> = {}): string[] =>
      validateUserClaims(decodeUserClaims(userJwt(user.pub, acc.kp, nats, extra)), now);
    assert.deepEqual(v({}, { exp: now - 1 }), ['claim is expired']);
    assert.deepEqual(v({}, { exp: now }), [], 'expired only after exp');
    assert.deepEqual(v({}, { nbf: now + 60 }), ['claim is not yet valid']);
    // nats-server 2.9.10 admits users whose permissions hold subjects that can never match.
    assert.deepEqual(v({ pub: { allow: ['a..b'] }, sub: { deny: ['.a'] } }), []);
    assert.deepEqual(v({ sub: { allow: ['jobs.* workers'] } }), [], 'a queue permission is valid');
    assert.match(v({ src: ['10.0.0.0/33'] })[0], /invalid cidr/);
    assert.match(v({ times: [{ start: '8:00', end: '09:00:00' }] })[0], /H:MM:SS/);
    assert.deepEqual(v({ times: [{ start: '8:00:00', end: '24:00:00' }] }), ['time range end "24:00:00" is not H:MM:SS']);
    assert.match(v({ times_location: 'Mars/Olympus' })[0], /time zone/);
    assert.match(v({ issuer_account: user.pub })[0], /not a valid account public key/);
    const asAccount = decodeUserClaims(encodeClaims('user', acc.pub, acc.kp));
    assert.match(validateUserClaims(asAccount, now)[0], /not a public user key/);
  });

  it('applies revocations as nats-server does', () => {
    const r = new Map([['U1', 100]]);
    assert.equal(isUserRevoked(r, 'U1', 100), true, 'issued at the revocation time');
    assert.equal(isUserRevoked(r, 'U1', 101), false, 'issued after it');
    assert.equal(isUserRevoked(r, 'U2', 1), false);
    assert.equal(isUserRevoked(new Map([['*', 100]]), 'U2', 99), true);
    assert.equal(isUserRevoked(new Map(), 'U1', 0), false);
  });

  it('checks source addresses against CIDRs', () => {
    assert.equal(sourceAllowed([], ''), true);
    assert.equal(sourceAllowed(['127.0.0.0/8'], '127.0.0.1'), true);
    assert.equal(sourceAllowed(['127.0.0.0/8'], '::ffff:127.0.0.1'), true);
    assert.equal(sourceAllowed(['10.0.0.0/8'], '127.0.0.1'), false);
    assert.equal(sourceAllowed(['::1/128'], '::1'), true);
    assert.equal(sourceAllowed(['10.0.0.0/8'], ''), false);
  });

  it('reads an operator JWT with its system account and signing keys', () => {
    const sys = newAccount();
    const signer = newOperator();
    const o = decodeOperatorClaims(operatorJwt(op, { system_account: sys.pub, signing_keys: [signer.pub], strict_signing_key_usage: true }));
    assert.equal(o.nats.system_account, sys.pub);
    assert.deepEqual(o.nats.signing_keys, [signer.pub]);
    assert.equal(o.nats.strict_signing_key_usage, true);
    assert.deepEqual(validateOperatorClaims(o, nowSec()), []);
  });
});

describe('creds files', () => {
  const acc = newAccount();
  const user = newUser();
  const token = userJwt(user.pub, acc.kp);

  it('round-trips nsc\'s layout, with LF or CRLF line ends', () => {
    const text = formatCreds(token, user.seed);
    assert.deepEqual(parseCreds(text), { jwt: token, seed: user.seed });
    assert.deepEqual(parseCreds(text.replace(/\n/g, '\r\n')), { jwt: token, seed: user.seed });
    assert.equal(parseDecoratedJwt(text), token);
  });

  it('reads an undecorated JWT as itself', () => {
    assert.equal(parseDecoratedJwt(`  ${token}\n`), token);
    assert.deepEqual(armouredBlocks('no armour here'), []);
  });

  it('says what is wrong with bad armour', () => {
    const text = formatCreds(token, user.seed);
    assert.throws(() => parseCreds(text.replace(/-----BEGIN USER NKEY SEED-----[^]*$/, '')), /no USER NKEY SEED block/);
    assert.throws(() => parseCreds(text.replace('------END NATS USER JWT------', '')), /NATS USER JWT block has no END/);
    assert.throws(() => parseCreds(text.replace('------END USER NKEY SEED------', '------END NATS USER JWT------')), /USER NKEY SEED block has no END USER NKEY SEED/);
    assert.throws(() => parseCreds(text.replace(user.seed, acc.seed)), /does not hold a user seed/);
    assert.throws(() => parseCreds(text.replace(token, 'abc.def')), /does not hold a JWT/);
    assert.throws(() => parseCreds(text.replace(token, 'not a jwt!')), /does not hold a JWT or key/);
    assert.throws(() => parseCreds(''), /no NATS USER JWT block/);
  });
});
