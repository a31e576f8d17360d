/**
 * JWT encoding: operator, account, user, activation and generic claims in
 * the nats-io/jwt v2 layout, signed with @nats-io/nkeys key pairs. This is
 * what `natter auth` and the KubeCon credentials provisioner mint tokens
 * with; decoding and validation live in jwt.ts and claims.ts.
 *
 * Compatibility facts kept here (checked against nats-server 2.9.10 by the
 * differential tests in test/cli/auth/):
 * - the header is `{"typ":"JWT","alg":"ed25519-nkey"}`; v2 signs
 *   `header.claims` (base64url without padding, both chunks);
 * - `jti` is nats-io/jwt's claim hash: unpadded base32 of the SHA-512/256
 *   digest of the JSON of the standard fields alone (aud, exp, iat, iss,
 *   name, nbf, sub in that order, empty ones left out, jti itself empty);
 * - the defaults are nsc's: accounts and users unlimited (-1), wildcard
 *   exports allowed, empty pub/sub permissions.
 */
import { createHash } from 'node:crypto';
import { createAccount, createOperator, createUser, type KeyPair } from '@nats-io/nkeys';
import { ALGORITHM_NKEY, JWT_LIB_VERSION, type ClaimKind } from './jwt.js';
import { base32Encode } from '../auth/nkey-encoding.js';

/** A key pair with its public key and seed as text, the form keys are stored and printed in. */
export interface Identity {
  readonly kp: KeyPair;
  readonly pub: string;
  readonly seed: string;
}

export function identityOf(kp: KeyPair): Identity {
  return { kp, pub: kp.getPublicKey(), seed: new TextDecoder().decode(kp.getSeed()) };
}

export const newOperator = (): Identity => identityOf(createOperator());
export const newAccount = (): Identity => identityOf(createAccount());
export const newUser = (): Identity => identityOf(createUser());

export interface EncodeOptions {
  /** Header `alg`; defaults to "ed25519-nkey". */
  readonly alg?: string;
  readonly typ?: string;
  /** Sign the claims chunk alone, as version 1 JWTs were. */
  readonly v1Signature?: boolean;
}

/**
 * JSON as Go's encoding/json writes it: `<`, `>`, `&`, U+2028 and U+2029
 * escaped as \u00XX. nats-io/jwt hashes and signs that text, so a subject
 * like `foo.>` must be written `foo.\u003e` for the same jti and bytes.
 */
export function goJson(v: unknown): string {
  return JSON.stringify(v).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Signs `claims` exactly as given (no defaults, no jti): the primitive the builders share. */
export function signClaims(claims: Readonly<Record<string, unknown>>, signer: KeyPair, o: EncodeOptions = {}): string {
  const header = Buffer.from(JSON.stringify({ typ: o.typ ?? 'JWT', alg: o.alg ?? ALGORITHM_NKEY })).toString('base64url');
  const payload = Buffer.from(goJson(claims)).toString('base64url');
  const signed = o.v1Signature === true ? payload : `${header}.${payload}`;
  const sig = Buffer.from(signer.sign(new TextEncoder().encode(signed))).toString('base64url');
  return `${header}.${payload}.${sig}`;
}

export const nowSec = (): number => Math.floor(Date.now() / 1000);

/** The standard claim fields (jwt's ClaimsData); 0 and '' mean absent. */
export interface StandardClaims {
  readonly aud?: string;
  readonly exp?: number;
  readonly iat?: number;
  readonly iss?: string;
  readonly name?: string;
  readonly nbf?: number;
}

/** Go's field order of ClaimsData; `omitempty` drops zero values. */
const STANDARD_ORDER = ['aud', 'exp', 'jti', 'iat', 'iss', 'name', 'nbf', 'sub'] as const;

function isEmpty(v: unknown): boolean {
  return v === undefined || v === null || v === '' || v === 0;
}

/** nats-io/jwt's jti: the hash of the standard fields without the jti. */
export function claimsHash(claims: Readonly<Record<string, unknown>>): string {
  const data: Record<string, unknown> = {};
  for (const k of STANDARD_ORDER) {
    if (k !== 'jti' && !isEmpty(claims[k])) data[k] = claims[k];
  }
  return base32Encode(createHash('sha512-256').update(goJson(data)).digest());
}

/**
 * A v2 claim of `kind` about `subject`, issued and signed by `signer`.
 * `iss` defaults to the signer's public key and `iat` to now; `std` may set
 * any standard field (and other top-level keys, which follow them). The
 * `nats` section gets `type` and `version` last, as jwt's GenericFields.
 */
export function encodeClaims(
  kind: ClaimKind,
  subject: string,
  signer: KeyPair,
  nats: Readonly<Record<string, unknown>> = {},
  std: Readonly<Record<string, unknown>> & StandardClaims = {},
  o: EncodeOptions = {},
): string {
  const merged: Record<string, unknown> = { iat: nowSec(), iss: signer.getPublicKey(), ...std, sub: subject };
  const claims: Record<string, unknown> = {};
  for (const k of STANDARD_ORDER) {
    if (k === 'jti') claims.jti = claimsHash(merged);
    else if (!isEmpty(merged[k])) claims[k] = merged[k];
  }
  for (const [k, v] of Object.entries(merged)) {
    if (!(STANDARD_ORDER as readonly string[]).includes(k)) claims[k] = v;
  }
  claims.nats = { ...nats, type: kind, version: JWT_LIB_VERSION };
  return signClaims(claims, signer, o);
}

/** What nsc writes for a new account: no limit on anything, wildcard exports allowed. */
export function nscAccountLimits(): Record<string, unknown> {
  return { subs: -1, data: -1, payload: -1, imports: -1, exports: -1, wildcards: true, conn: -1, leaf: -1 };
}

/** What nsc writes for a new user: no limits, empty permissions (everything allowed). */
export function nscUserDefaults(): Record<string, unknown> {
  return { pub: {}, sub: {}, subs: -1, data: -1, payload: -1 };
}

export function encodeOperator(
  subject: string,
  signer: KeyPair,
  nats: Readonly<Record<string, unknown>> = {},
  std: Readonly<Record<string, unknown>> & StandardClaims = {},
): string {
  return encodeClaims('operator', subject, signer, nats, std);
}

/** An account JWT: nsc's defaults, overridden section by section by `nats`. */
export function encodeAccount(
  subject: string,
  signer: KeyPair,
  nats: Readonly<Record<string, unknown>> = {},
  std: Readonly<Record<string, unknown>> & StandardClaims = {},
): string {
  return encodeClaims('account', subject, signer, { limits: nscAccountLimits(), default_permissions: { pub: {}, sub: {} }, ...nats }, std);
}

/** A user JWT: nsc's defaults, overridden key by key by `nats`. */
export function encodeUser(
  subject: string,
  signer: KeyPair,
  nats: Readonly<Record<string, unknown>> = {},
  std: Readonly<Record<string, unknown>> & StandardClaims = {},
): string {
  return encodeClaims('user', subject, signer, { ...nscUserDefaults(), ...nats }, std);
}

export interface ActivationGrant {
  /** The exported subject the importer may import (may be narrower than the export). */
  readonly subject: string;
  readonly kind: 'stream' | 'service';
  /** The exporting account, when `signer` is one of its signing keys. */
  readonly issuerAccount?: string;
}

/** An activation token: the exporting account lets `importer` import a private export. */
export function encodeActivation(
  importer: string,
  signer: KeyPair,
  grant: ActivationGrant,
  std: Readonly<Record<string, unknown>> & StandardClaims = {},
): string {
  const nats: Record<string, unknown> = { subject: grant.subject, kind: grant.kind };
  if (grant.issuerAccount !== undefined && grant.issuerAccount !== '') nats.issuer_account = grant.issuerAccount;
  return encodeClaims('activation', importer, signer, nats, { name: grant.subject, ...std });
}

/** A claim of no NATS kind (nats-io/jwt's GenericClaims): any `nats` data, any signer. */
export function encodeGeneric(
  subject: string,
  signer: KeyPair,
  nats: Readonly<Record<string, unknown>> = {},
  std: Readonly<Record<string, unknown>> & StandardClaims = {},
): string {
  return encodeClaims('generic', subject, signer, nats, std);
}
