/**
 * NATS JWTs at the wire level: three base64url chunks (header, claims,
 * signature), the header `{"typ":"JWT","alg":"ed25519-nkey"}`, and an
 * ed25519 signature by the issuer's nkey. As nats-io/jwt v2 decodes them:
 *
 * - `typ` must be "JWT" (any case); `alg` must be "ed25519-nkey" or the
 *   legacy "ed25519" (any case).
 * - Version 2 claims carry `nats.type` and `nats.version`; version 1 claims
 *   (a top-level `type`) are signed over the claims chunk alone, version 2
 *   over `header.claims`.
 * - The issuer must be a public nkey of a kind allowed for the claim type.
 */
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { decodePublicKey, NKEY_PREFIX_ACCOUNT, NKEY_PREFIX_USER } from '../auth/nkey.js';

/** Prefix byte of operator public keys ('O'). */
export const NKEY_PREFIX_OPERATOR = 14 << 3;
export { NKEY_PREFIX_ACCOUNT, NKEY_PREFIX_USER };

/** The newest claims version this module understands (nats-io/jwt's libVersion). */
export const JWT_LIB_VERSION = 2;

export const ALGORITHM_NKEY = 'ed25519-nkey';
export const ALGORITHM_NKEY_V1 = 'ed25519';

export type ClaimKind = 'operator' | 'account' | 'user' | 'activation' | 'generic';

/** Any problem with a JWT; the message says what, for debug logs and tests. */
export class JwtError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JwtError';
  }
}

export interface JwtHeader {
  readonly typ: string;
  readonly alg: string;
}

/** A JWT whose signature checked out, claims still untyped. */
export interface DecodedJwt {
  readonly header: JwtHeader;
  /** The parsed claims object. */
  readonly payload: Readonly<Record<string, unknown>>;
  /** 1 for legacy claims, else `nats.version`. */
  readonly version: number;
  /** `type` (v1) or `nats.type` (v2); 'generic' when neither names a known kind. */
  readonly kind: ClaimKind;
  readonly issuer: string;
}

/** Which nkey kinds may issue each claim type (nats-io/jwt's ExpectedPrefixes). */
const ISSUER_PREFIXES: Readonly<Record<ClaimKind, readonly number[] | null>> = {
  operator: [NKEY_PREFIX_OPERATOR],
  account: [NKEY_PREFIX_OPERATOR],
  user: [NKEY_PREFIX_ACCOUNT],
  activation: [NKEY_PREFIX_ACCOUNT, NKEY_PREFIX_OPERATOR],
  generic: null,
};

const KNOWN_KINDS: ReadonlySet<string> = new Set(['operator', 'account', 'user', 'activation']);
const ALL_PREFIXES = [NKEY_PREFIX_OPERATOR, NKEY_PREFIX_ACCOUNT, NKEY_PREFIX_USER];

const RAW_URL = /^[A-Za-z0-9_-]*$/;
const RAW_STD = /^[A-Za-z0-9+/]*$/;

/**
 * Unpadded base64url, with unpadded standard base64 as fallback. Node's
 * decoder skips characters it does not know, so the alphabet is checked
 * first, as Go's strict decoders would.
 */
export function decodeBase64Raw(s: string): Buffer | null {
  if (s.length % 4 === 1) return null;
  if (RAW_URL.test(s)) return Buffer.from(s, 'base64url');
  if (RAW_STD.test(s)) return Buffer.from(s, 'base64');
  return null;
}

/** A node:crypto verifier for a public nkey of one of the given kinds; null if it is none of them. */
export function nkeyVerifier(key: string, prefixes: readonly number[] = ALL_PREFIXES): KeyObject | null {
  for (const p of prefixes) {
    const raw = decodePublicKey(key, p);
    if (raw !== null) {
      return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
    }
  }
  return null;
}

export function isPublicKeyOf(key: string, prefix: number): boolean {
  return decodePublicKey(key, prefix) !== null;
}

function parseJsonObject(bytes: Buffer, what: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw new JwtError(`${what} is not valid JSON: ${(e as Error).message}`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new JwtError(`${what} is not a JSON object`);
  return v as Record<string, unknown>;
}

function parseHeader(chunk: string): JwtHeader {
  const bytes = decodeBase64Raw(chunk);
  if (bytes === null) throw new JwtError('header is not base64url');
  const h = parseJsonObject(bytes, 'header');
  const typ = typeof h.typ === 'string' ? h.typ : '';
  const alg = typeof h.alg === 'string' ? h.alg : '';
  if (typ.toUpperCase() !== 'JWT') throw new JwtError(`not supported type ${JSON.stringify(typ)}`);
  const lower = alg.toLowerCase();
  if (lower !== ALGORITHM_NKEY && lower !== ALGORITHM_NKEY_V1) throw new JwtError(`unexpected ${JSON.stringify(alg)} algorithm`);
  return { typ, alg };
}

function kindAndVersion(payload: Record<string, unknown>): { kind: ClaimKind; version: number } {
  const nats = payload.nats;
  const natsObj = nats !== null && typeof nats === 'object' && !Array.isArray(nats) ? (nats as Record<string, unknown>) : {};
  let type: unknown;
  let version: number;
  if (typeof payload.type === 'string' && payload.type !== '') {
    type = payload.type;
    version = 1;
  } else {
    type = natsObj.type;
    version = typeof natsObj.version === 'number' && Number.isInteger(natsObj.version) ? natsObj.version : 0;
  }
  const kind: ClaimKind = typeof type === 'string' && KNOWN_KINDS.has(type) ? (type as ClaimKind) : 'generic';
  return { kind, version };
}

/**
 * Decodes a JWT and checks its signature against its own issuer (`iss`).
 * Whether that issuer is trusted is the caller's question. Throws JwtError.
 */
export function decodeJwt(token: string): DecodedJwt {
  const chunks = token.split('.');
  if (chunks.length !== 3) throw new JwtError('expected 3 chunks');
  const header = parseHeader(chunks[0]);
  const claimBytes = decodeBase64Raw(chunks[1]);
  if (claimBytes === null) throw new JwtError('claims are not base64url');
  const payload = parseJsonObject(claimBytes, 'claims');
  const { kind, version } = kindAndVersion(payload);
  if (version > JWT_LIB_VERSION) throw new JwtError('JWT was generated by a newer version');
  const sig = decodeBase64Raw(chunks[2]);
  if (sig === null || sig.length !== 64) throw new JwtError('signature is not a base64url ed25519 signature');
  const issuer = typeof payload.iss === 'string' ? payload.iss : '';
  const verifier = nkeyVerifier(issuer);
  if (verifier === null) throw new JwtError(`issuer ${JSON.stringify(issuer)} is not a public nkey`);
  // Version 1 signed the claims chunk only; version 2 signs header and claims.
  const signed = version <= 1 ? chunks[1] : `${chunks[0]}.${chunks[1]}`;
  let ok: boolean;
  try {
    ok = verify(null, Buffer.from(signed, 'latin1'), verifier, sig);
  } catch {
    ok = false;
  }
  if (!ok) throw new JwtError(`claim failed V${version <= 1 ? 1 : 2} signature verification`);
  const prefixes = ISSUER_PREFIXES[kind];
  if (prefixes !== null && !prefixes.some((p) => isPublicKeyOf(issuer, p))) {
    throw new JwtError(`${kind} JWT issuer ${issuer} is not of an expected kind`);
  }
  return { header, payload, version, kind, issuer };
}
