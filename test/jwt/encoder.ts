/**
 * The JWT encoder the tests use: src/jwt/encode.ts under the names the
 * tests were written against, plus the helpers that only tests need
 * (tampered and forged tokens, nonce signatures).
 */
import type { KeyPair } from '@nats-io/nkeys';
import {
  encodeAccount,
  encodeClaims as encodeKind,
  encodeOperator,
  encodeUser,
  signClaims,
  type EncodeOptions,
  type Identity,
} from '../../src/jwt/encode.js';

export { newAccount, newOperator, newUser, nowSec, type EncodeOptions, type Identity } from '../../src/jwt/encode.js';

/** Signs `claims` as they are (no defaults added). */
export function encodeRaw(claims: Record<string, unknown>, signer: KeyPair, o: EncodeOptions = {}): string {
  return signClaims(claims, signer, o);
}

/** Tests name every claim, so a log line tells which one was refused. */
function named(type: string, subject: string, extra: Record<string, unknown>): Record<string, unknown> {
  return { name: `${type}-${subject.slice(0, 6)}`, ...extra };
}

/**
 * A v2 claim of `type` about `subject`, issued (and signed) by `signer`;
 * `nats` fields and top-level `extra` (exp, nbf, iat, iss...) override the defaults.
 */
export function encodeClaims(
  type: 'operator' | 'account' | 'user',
  subject: string,
  signer: KeyPair,
  nats: Record<string, unknown> = {},
  extra: Record<string, unknown> = {},
  o: EncodeOptions = {},
): string {
  return encodeKind(type, subject, signer, nats, named(type, subject, extra), o);
}

export function operatorJwt(op: Identity, nats: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): string {
  return encodeOperator(op.pub, op.kp, nats, named('operator', op.pub, extra));
}

export function accountJwt(account: string, signer: KeyPair, nats: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): string {
  return encodeAccount(account, signer, nats, named('account', account, extra));
}

export function userJwt(user: string, signer: KeyPair, nats: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): string {
  return encodeUser(user, signer, nats, named('user', user, extra));
}

/** Flips one character of the claims chunk, keeping it valid base64url. */
export function tamper(token: string): string {
  const [h, p, s] = token.split('.');
  const i = Math.floor(p.length / 2);
  const flipped = p[i] === 'A' ? 'B' : 'A';
  return `${h}.${p.slice(0, i)}${flipped}${p.slice(i + 1)}.${s}`;
}

/** The CONNECT `sig` a client sends: the nonce signed by the user's key. */
export function signNonce(user: KeyPair, nonce: string): string {
  return Buffer.from(user.sign(new TextEncoder().encode(nonce))).toString('base64url');
}

/** Changes the claims but keeps the original signature (a forged JWT). */
export function forge(token: string, change: (claims: Record<string, unknown>) => void): string {
  const [h, p, s] = token.split('.');
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as Record<string, unknown>;
  change(claims);
  return `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`;
}
