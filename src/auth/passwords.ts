/**
 * Checking a secret from CONNECT against a configured password or token,
 * which may be plain text or a bcrypt hash, as nats-server decides: a
 * configured value is a hash when it looks like `$2a$NN$...` (also 2b, 2x,
 * 2y).
 */
import bcrypt from 'bcryptjs';
import { timingSafeEqual } from 'node:crypto';

const BCRYPT = /^\$2[abxy]\$\d{2}\$/;

export function isBcrypt(configured: string): boolean {
  return BCRYPT.test(configured);
}

/**
 * Does the client's secret match the configured one? bcrypt compares take
 * tens of milliseconds by design, so this is asynchronous: bcryptjs works
 * in slices between which other connections are served. Plain secrets are
 * compared in constant time for their length.
 */
export async function verifySecret(configured: string, given: string): Promise<boolean> {
  if (isBcrypt(configured)) {
    // The revision letters differ only in how old C libraries hashed
    // non-ASCII bytes; Go's bcrypt treats them all alike, bcryptjs knows
    // only some, so compare as 2a.
    const hash = `$2a$${configured.slice(4)}`;
    try {
      return await bcrypt.compare(given, hash);
    } catch {
      // A malformed hash matches nothing, as in nats-server.
      return false;
    }
  }
  return plainEqual(configured, given);
}

function plainEqual(configured: string, given: string): boolean {
  const a = Buffer.from(configured, 'utf8');
  const b = Buffer.from(given, 'utf8');
  if (a.length !== b.length) return false;
  return timingSafeEqual(a, b);
}
