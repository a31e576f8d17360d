import { randomBytes } from 'node:crypto';
import { base32Encode, crc16 } from '../auth/nkey-encoding.js';

/** nkeys prefix byte for server public keys (renders as a leading 'N'). */
const SERVER_PREFIX = 13 << 3;

/**
 * A server identity shaped like an nkey server public key (56 chars, 'N...').
 * Generating a real ed25519 pair costs ~20 ms of cold JIT; the ID only has to
 * be unique and well-formed, so it is encoded from random bytes directly.
 */
export function newServerId(): string {
  const raw = new Uint8Array(35);
  raw[0] = SERVER_PREFIX;
  raw.set(randomBytes(32), 1);
  const crc = crc16(raw.subarray(0, 33));
  raw[33] = crc & 0xff;
  raw[34] = crc >> 8;
  return base32Encode(raw);
}
