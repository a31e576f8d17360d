import { randomBytes } from 'node:crypto';

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
/** nkeys prefix byte for server public keys (renders as a leading 'N'). */
const SERVER_PREFIX = 13 << 3;

function crc16(data: Uint8Array): number {
  // CRC-16/XMODEM, the checksum nkeys appends to every encoded key.
  let crc = 0;
  for (const b of data) {
    crc ^= b << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

function base32(data: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of data) {
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
  return base32(raw);
}
