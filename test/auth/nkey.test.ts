/** NKeys: recognising public keys, verifying nonce signatures, nonces. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createAccount, createUser, fromPublic, fromSeed } from '@nats-io/nkeys';
import {
  generateNonce,
  isValidPublicAccountKey,
  isValidPublicUserKey,
  userKeyVerifier,
  verifyNonceSignature,
} from '../../src/auth/nkey.js';
import { ACCOUNT_KEY, CHAT_ACCESS, CHAT_USER } from './keys.js';

const enc = new TextEncoder();

function libraryAcceptsUserKey(key: string): boolean {
  try {
    fromPublic(key);
  } catch {
    return false;
  }
  return key.startsWith('U');
}

describe('public nkeys', () => {
  it('recognises user and account keys', () => {
    assert.equal(isValidPublicUserKey(CHAT_ACCESS.publicKey), true);
    assert.equal(isValidPublicUserKey(CHAT_USER.publicKey), true);
    assert.equal(isValidPublicUserKey(ACCOUNT_KEY), false, 'an account key is not a user key');
    assert.equal(isValidPublicAccountKey(ACCOUNT_KEY), true);
    assert.equal(isValidPublicAccountKey(CHAT_ACCESS.publicKey), false);
  });

  it('refuses seeds, bad checksums, bad characters and bad lengths', () => {
    assert.equal(isValidPublicUserKey(CHAT_ACCESS.seed), false);
    assert.equal(isValidPublicUserKey(`${CHAT_ACCESS.publicKey.slice(0, -1)}A`), false);
    assert.equal(isValidPublicUserKey(CHAT_ACCESS.publicKey.toLowerCase()), false);
    assert.equal(isValidPublicUserKey(CHAT_ACCESS.publicKey.slice(0, -2)), false);
    assert.equal(isValidPublicUserKey(`${CHAT_ACCESS.publicKey}AA`), false);
    assert.equal(isValidPublicUserKey('UABC'), false);
    assert.equal(isValidPublicUserKey(''), false);
    assert.equal(isValidPublicUserKey(`${CHAT_ACCESS.publicKey.slice(0, 10)}1${CHAT_ACCESS.publicKey.slice(11)}`), false);
  });

  it('agrees with @nats-io/nkeys on generated keys and single-character changes', () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
    for (let i = 0; i < 40; i++) {
      const key = createUser().getPublicKey();
      assert.equal(isValidPublicUserKey(key), true, key);
      const pos = (i * 7) % key.length;
      const changed = key.slice(0, pos) + alphabet[(alphabet.indexOf(key[pos]) + 1 + i) % 32] + key.slice(pos + 1);
      assert.equal(isValidPublicUserKey(changed), libraryAcceptsUserKey(changed), changed);
      assert.equal(isValidPublicAccountKey(createAccount().getPublicKey()), true);
    }
  });
});

describe('nonce signatures', () => {
  const kp = fromSeed(enc.encode(CHAT_ACCESS.seed));
  const verifier = userKeyVerifier(CHAT_ACCESS.publicKey);
  assert.ok(verifier !== null);

  it('verifies what the client signs with its seed, unpadded base64url as the clients send it', () => {
    const nonce = generateNonce();
    const sig = Buffer.from(kp.sign(enc.encode(nonce))).toString('base64url');
    assert.equal(verifyNonceSignature(verifier, nonce, sig), true);
  });

  it('also takes standard base64, as nats-server does', () => {
    const nonce = 'abcdefghijklmno';
    const sig = Buffer.from(kp.sign(enc.encode(nonce))).toString('base64');
    assert.ok(sig.endsWith('='));
    assert.equal(verifyNonceSignature(verifier, nonce, sig), true);
  });

  it('refuses another nonce, another key, and malformed signatures', () => {
    const nonce = generateNonce();
    const sig = Buffer.from(kp.sign(enc.encode(nonce))).toString('base64url');
    assert.equal(verifyNonceSignature(verifier, `${nonce}x`, sig), false);
    const other = fromSeed(enc.encode(CHAT_USER.seed));
    assert.equal(verifyNonceSignature(verifier, nonce, Buffer.from(other.sign(enc.encode(nonce))).toString('base64url')), false);
    assert.equal(verifyNonceSignature(verifier, nonce, ''), false);
    assert.equal(verifyNonceSignature(verifier, nonce, sig.slice(0, -4)), false, 'too short');
    assert.equal(verifyNonceSignature(verifier, nonce, `${sig.slice(0, 10)}!${sig.slice(10)}`), false, 'bad character');
    assert.equal(verifyNonceSignature(verifier, nonce, 'not a signature at all'), false);
    const flipped = Buffer.from(kp.sign(enc.encode(nonce)));
    flipped[5] ^= 1;
    assert.equal(verifyNonceSignature(verifier, nonce, flipped.toString('base64url')), false);
  });

  it('builds no verifier for keys that are not user keys', () => {
    assert.equal(userKeyVerifier(ACCOUNT_KEY), null);
    assert.equal(userKeyVerifier('nonsense'), null);
  });
});

describe('nonces', () => {
  it('are 15 base64url characters of 11 random bytes, as nats-server sends', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 100; i++) {
      const n = generateNonce();
      assert.match(n, /^[A-Za-z0-9_-]{15}$/);
      seen.add(n);
    }
    assert.equal(seen.size, 100);
  });
});
