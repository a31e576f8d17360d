/**
 * NKeys as the server needs them: recognising public keys in the
 * configuration and checking the signature a client returns for the INFO
 * nonce. An nkey is base32 (RFC 4648, no padding) of a prefix byte, the 32
 * byte ed25519 public key and a CRC-16/XMODEM of both, little endian.
 * Verification uses node:crypto, which is native and does not block the
 * event loop for long.
 */
import { createPublicKey, randomBytes, verify, type KeyObject } from 'node:crypto';
import { base32Decode, crc16 } from './nkey-encoding.js';


/** Prefix bytes (the top five bits of the first byte) of public keys. */
export const NKEY_PREFIX_USER = 20 << 3;
export const NKEY_PREFIX_ACCOUNT = 0;

/** Prefix byte + 32 key bytes + 2 checksum bytes. */
const RAW_PUBLIC_LENGTH = 35;

/** The 32 raw key bytes of a public nkey with the given prefix, or null. */
export function decodePublicKey(key: string, prefix: number): Buffer | null {
  const raw = base32Decode(key);
  if (raw === null || raw.length !== RAW_PUBLIC_LENGTH) return null;
  const payload = raw.subarray(0, raw.length - 2);
  const checksum = raw.readUInt16LE(raw.length - 2);
  if (crc16(payload) !== checksum) return null;
  if ((payload[0] & 0xf8) !== prefix) return null;
  return Buffer.from(payload.subarray(1));
}

export function isValidPublicUserKey(key: string): boolean {
  return decodePublicKey(key, NKEY_PREFIX_USER) !== null;
}

export function isValidPublicAccountKey(key: string): boolean {
  return decodePublicKey(key, NKEY_PREFIX_ACCOUNT) !== null;
}

/** A verifier for one user's public key; null when the key is not a user nkey. */
export function userKeyVerifier(key: string): KeyObject | null {
  const raw = decodePublicKey(key, NKEY_PREFIX_USER);
  if (raw === null) return null;
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
}

/**
 * Does `sig` (CONNECT's `sig`: unpadded base64url, or standard base64 as
 * nats-server also accepts) sign the nonce text with this key?
 */
export function verifyNonceSignature(verifier: KeyObject, nonce: string, sig: string): boolean {
  const bytes = decodeSignature(sig);
  if (bytes === null || bytes.length !== 64) return false;
  try {
    return verify(null, Buffer.from(nonce, 'latin1'), verifier, bytes);
  } catch {
    return false;
  }
}

/** Eleven random bytes as unpadded base64url: nats-server's 15 character nonce. */
export function generateNonce(): string {
  return randomBytes(11).toString('base64url');
}

// Node's base64 decoders skip characters they do not know; signatures are
// checked against the strict alphabets first, as Go's decoders would.
const RAW_URL = /^[A-Za-z0-9_-]*$/;
const STD = /^[A-Za-z0-9+/]*={0,2}$/;

function decodeSignature(sig: string): Buffer | null {
  if (RAW_URL.test(sig) && sig.length % 4 !== 1) return Buffer.from(sig, 'base64url');
  if (STD.test(sig) && sig.length % 4 === 0) return Buffer.from(sig, 'base64');
  return null;
}

