/**
 * The text encoding of nkeys: RFC 4648 base32 without padding, and the
 * CRC-16/XMODEM checksum appended to every encoded key. Shared by key
 * checks (auth), server IDs and JWT ids (jti).
 */

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const DECODE = new Map<string, number>([...ALPHABET].map((c, i) => [c, i]));

/** Base32 without padding (Go's `base32.StdEncoding.WithPadding(NoPadding)`). */
export function base32Encode(bytes: Uint8Array): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const b of bytes) {
    value = ((value << 8) | b) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

/** The bytes of unpadded base32 text; null for a character outside the alphabet or non-zero trailing bits. */
export function base32Decode(s: string): Buffer | null {
  const out = Buffer.alloc(Math.floor((s.length * 5) / 8));
  let bits = 0;
  let value = 0;
  let o = 0;
  for (const c of s) {
    const v = DECODE.get(c);
    if (v === undefined) return null;
    value = ((value << 5) | v) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (value >> bits) & 0xff;
    }
  }
  // Leftover bits must be zero padding, as in a canonical encoding.
  if ((value & ((1 << bits) - 1)) !== 0) return null;
  return out;
}

/** CRC-16/XMODEM, the checksum nkeys append to every encoded key. */
export function crc16(data: Uint8Array): number {
  let crc = 0;
  for (const b of data) {
    crc ^= b << 8;
    for (let k = 0; k < 8; k++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}
