/**
 * src/jwt/encode.ts against published vectors: tokens made by nats-io/jwt
 * (the PY vectors) are reproduced byte for byte from their seeds and
 * claims, which pins the header, Go's JSON text, the jti hash, field order
 * and the signature.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fromSeed } from '@nats-io/nkeys';
import { base32Encode } from '../../src/auth/nkey-encoding.js';
import {
  claimsHash,
  encodeAccount,
  encodeActivation,
  encodeGeneric,
  encodeOperator,
  encodeUser,
  goJson,
  newAccount,
  newOperator,
  newUser,
} from '../../src/jwt/encode.js';
import { decodeJwt } from '../../src/jwt/jwt.js';
import { decodeAccountClaims, decodeUserClaims } from '../../src/jwt/claims.js';
import { PY } from './vectors.js';

const kp = (seed: string) => fromSeed(new TextEncoder().encode(seed));
const payloadOf = (token: string): Record<string, unknown> => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')) as Record<string, unknown>;

describe('JWT encoder', () => {
  it('base32 without padding (RFC 4648 vectors)', () => {
    const enc = (s: string): string => base32Encode(new TextEncoder().encode(s));
    assert.deepEqual(['', 'f', 'fo', 'foo', 'foob', 'fooba', 'foobar'].map(enc), ['', 'MY', 'MZXQ', 'MZXW6', 'MZXW6YQ', 'MZXW6YTB', 'MZXW6YTBOI']);
  });

  it("writes JSON as Go does (HTML characters escaped)", () => {
    assert.equal(goJson({ s: 'a.> & <b>\u2028' }), '{"s":"a.\\u003e \\u0026 \\u003cb\\u003e\\u2028"}');
  });

  it('computes the jti as nats-io/jwt does', () => {
    for (const token of [PY.accountJwt, PY.userJwt]) {
      const claims = payloadOf(token);
      assert.equal(claimsHash(claims), claims.jti);
    }
  });

  it('reproduces nats-io/jwt account and user JWTs byte for byte', () => {
    const acc = payloadOf(PY.accountJwt);
    const accountToken = encodeAccount(PY.account, kp(PY.operatorSeed), { limits: (acc.nats as Record<string, unknown>).limits }, { name: 'my-account', iat: acc.iat as number });
    assert.equal(accountToken, PY.accountJwt);
    const user = payloadOf(PY.userJwt);
    const n = user.nats as Record<string, unknown>;
    // The vectors hold no account seed: the user JWT's header and claims are
    // reproduced (issuer given), the signature is another key's.
    const userToken = encodeUser(PY.user, newAccount().kp, { pub: n.pub, sub: n.sub, data: n.data }, { name: 'my-user', iat: user.iat as number, iss: PY.account });
    assert.equal(userToken.split('.').slice(0, 2).join('.'), PY.userJwt.split('.').slice(0, 2).join('.'));
  });

  it('builds every claim type with nsc defaults, decodable and valid', () => {
    const op = newOperator();
    const acc = newAccount();
    const sk = newAccount();
    const user = newUser();
    const opJwt = decodeJwt(encodeOperator(op.pub, op.kp, { system_account: acc.pub }, { name: 'O' }));
    assert.equal(opJwt.kind, 'operator');
    assert.deepEqual(opJwt.payload.nats, { system_account: acc.pub, type: 'operator', version: 2 });
    const a = decodeAccountClaims(encodeAccount(acc.pub, op.kp, { signing_keys: [sk.pub] }, { name: 'A' }));
    assert.equal(a.iss, op.pub);
    assert.equal(a.nats.limits.conn, -1);
    assert.equal(a.nats.limits.wildcards, true);
    assert.ok(a.nats.signing_keys.has(sk.pub));
    const u = decodeUserClaims(encodeUser(user.pub, sk.kp, { issuer_account: acc.pub, bearer_token: true }, { name: 'U', exp: 4102444800 }));
    assert.equal(u.iss, sk.pub);
    assert.equal(u.nats.issuer_account, acc.pub);
    assert.equal(u.nats.bearer_token, true);
    assert.equal(u.exp, 4102444800);
    assert.equal(u.nats.subs, -1);
    const act = decodeJwt(encodeActivation(acc.pub, sk.kp, { subject: 'svc.a', kind: 'service', issuerAccount: newAccount().pub }));
    assert.equal(act.kind, 'activation');
    assert.equal((act.payload.nats as Record<string, unknown>).kind, 'service');
    assert.equal(act.payload.name, 'svc.a');
    const gen = decodeJwt(encodeGeneric(user.pub, acc.kp, { note: 'x' }));
    assert.equal(gen.kind, 'generic');
    // Standard fields in Go's order, jti the hash of them.
    const p = payloadOf(encodeUser(user.pub, acc.kp, {}, { name: 'U', aud: 'A', nbf: 5, exp: 9, iat: 7 }));
    assert.deepEqual(Object.keys(p), ['aud', 'exp', 'jti', 'iat', 'iss', 'name', 'nbf', 'sub', 'nats']);
    assert.equal(p.jti, claimsHash(p));
  });
});
