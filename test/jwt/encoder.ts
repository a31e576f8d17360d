/**
 * Test-only JWT encoder: builds operator, account and user JWTs in the
 * nats-io/jwt v2 layout, signed with @nats-io/nkeys key pairs, so the tests
 * can make any claim (valid, expired, tampered, wrongly signed) they need.
 */
import { createHash } from 'node:crypto';
import { createAccount, createOperator, createUser, type KeyPair } from '@nats-io/nkeys';

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function base32(bytes: Uint8Array): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += B32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += B32[(value << (5 - bits)) & 31];
  return out;
}

export interface Identity {
  readonly kp: KeyPair;
  readonly pub: string;
  readonly seed: string;
}

function identity(kp: KeyPair): Identity {
  return { kp, pub: kp.getPublicKey(), seed: new TextDecoder().decode(kp.getSeed()) };
}

export const newOperator = (): Identity => identity(createOperator());
export const newAccount = (): Identity => identity(createAccount());
export const newUser = (): Identity => identity(createUser());

export interface EncodeOptions {
  /** Header `alg`; defaults to "ed25519-nkey". */
  readonly alg?: string;
  readonly typ?: string;
  /** Sign the claims chunk alone, as version 1 JWTs were. */
  readonly v1Signature?: boolean;
}

/** Signs `claims` as they are (no defaults added). */
export function encodeRaw(claims: Record<string, unknown>, signer: KeyPair, o: EncodeOptions = {}): string {
  const header = Buffer.from(JSON.stringify({ typ: o.typ ?? 'JWT', alg: o.alg ?? 'ed25519-nkey' })).toString('base64url');
  const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
  const signed = o.v1Signature === true ? payload : `${header}.${payload}`;
  const sig = Buffer.from(signer.sign(new TextEncoder().encode(signed))).toString('base64url');
  return `${header}.${payload}.${sig}`;
}

export const nowSec = (): number => Math.floor(Date.now() / 1000);

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
  const claims: Record<string, unknown> = {
    jti: '',
    iat: nowSec(),
    iss: signer.getPublicKey(),
    name: `${type}-${subject.slice(0, 6)}`,
    sub: subject,
    ...extra,
    nats: { ...nats, type, version: 2 },
  };
  // nats-io/jwt's jti is a hash of the claims without it; any unique value works.
  claims.jti = base32(createHash('sha256').update(JSON.stringify(claims)).digest());
  return encodeRaw(claims, signer, o);
}

export function operatorJwt(op: Identity, nats: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): string {
  return encodeClaims('operator', op.pub, op.kp, nats, extra);
}

export function accountJwt(
  account: string,
  signer: KeyPair,
  nats: Record<string, unknown> = {},
  extra: Record<string, unknown> = {},
): string {
  // What nsc writes for a new account: unlimited everything.
  const limits = { subs: -1, data: -1, payload: -1, imports: -1, exports: -1, wildcards: true, conn: -1, leaf: -1 };
  return encodeClaims('account', account, signer, { limits, ...nats }, extra);
}

export function userJwt(
  user: string,
  signer: KeyPair,
  nats: Record<string, unknown> = {},
  extra: Record<string, unknown> = {},
): string {
  return encodeClaims('user', user, signer, { pub: {}, sub: {}, subs: -1, data: -1, payload: -1, ...nats }, extra);
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
