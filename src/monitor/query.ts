/**
 * Query-string handling with Go's semantics, because the 400 answers (and
 * which malformed pairs are silently ignored) are part of nats-server's
 * observable behaviour that scripts depend on.
 */
import { goQuote } from '../text/go-format.js';

/**
 * A request the endpoint refuses: over HTTP a 400 with this text, over `$SYS`
 * an error reply with code 500, as nats-server answers each.
 */
export class BadRequest extends Error {}

/**
 * A request this server is not the one to answer (e.g. `leader-only` on a
 * server that is not the JetStream leader): HTTP still answers 400, but a
 * `$SYS` request gets no reply at all, leaving the answer to other servers.
 */
export class FilteredRequest extends BadRequest {}

const utf8 = new TextDecoder('utf-8');

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/**
 * Go's `url.QueryUnescape` (and `PathUnescape` when `plusIsSpace` is false):
 * null when an escape is malformed, so the caller can drop the pair the way
 * Go's ParseQuery does.
 */
export function unescape(s: string, plusIsSpace: boolean): string | null {
  if (!s.includes('%') && !(plusIsSpace && s.includes('+'))) return s;
  const bytes: number[] = [];
  const raw = Buffer.from(s, 'utf8');
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (c === 37) {
      const hi = i + 2 < raw.length ? hexVal(raw[i + 1]) : -1;
      const lo = hi >= 0 ? hexVal(raw[i + 2]) : -1;
      if (hi < 0 || lo < 0) return null;
      bytes.push(hi * 16 + lo);
      i += 2;
    } else if (c === 43 && plusIsSpace) {
      bytes.push(32);
    } else {
      bytes.push(c);
    }
  }
  return utf8.decode(Uint8Array.from(bytes));
}

/** The first value of each key, like Go's `r.URL.Query().Get`. */
export class Query {
  private readonly values = new Map<string, string>();

  constructor(rawQuery: string) {
    for (const pair of rawQuery.split('&')) {
      // Go (since 1.17) rejects pairs containing ';' and empty pairs are skipped.
      if (pair === '' || pair.includes(';')) continue;
      const eq = pair.indexOf('=');
      const k = unescape(eq < 0 ? pair : pair.slice(0, eq), true);
      const v = unescape(eq < 0 ? '' : pair.slice(eq + 1), true);
      if (k === null || v === null) continue;
      if (!this.values.has(k)) this.values.set(k, v);
    }
  }

  get(name: string): string {
    return this.values.get(name) ?? '';
  }

  /** Go's strconv.ParseBool; absent means false. */
  bool(name: string): boolean {
    const s = this.get(name);
    if (s === '') return false;
    switch (s) {
      case '1': case 't': case 'T': case 'TRUE': case 'true': case 'True':
        return true;
      case '0': case 'f': case 'F': case 'FALSE': case 'false': case 'False':
        return false;
    }
    throw new BadRequest(`Error decoding boolean for '${name}': strconv.ParseBool: parsing ${goQuote(s)}: invalid syntax`);
  }

  /** Go's strconv.Atoi (64-bit); absent means 0. */
  int(name: string): number {
    const s = this.get(name);
    if (s === '') return 0;
    const v = parseDecimal(s, true);
    if (v === null) throw new BadRequest(`Error decoding int for '${name}': strconv.Atoi: parsing ${goQuote(s)}: invalid syntax`);
    if (v > INT64_MAX || v < INT64_MIN) throw new BadRequest(`Error decoding int for '${name}': strconv.Atoi: parsing ${goQuote(s)}: value out of range`);
    return clampToSafe(v);
  }

  /** Go's strconv.ParseUint(s, 10, 64); absent means 0. */
  uint64(name: string): number {
    const s = this.get(name);
    if (s === '') return 0;
    const v = parseDecimal(s, false);
    if (v === null) throw new BadRequest(`Error decoding uint64 for '${name}': strconv.ParseUint: parsing ${goQuote(s)}: invalid syntax`);
    if (v > UINT64_MAX) throw new BadRequest(`Error decoding uint64 for '${name}': strconv.ParseUint: parsing ${goQuote(s)}: value out of range`);
    return clampToSafe(v);
  }
}

const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);
const UINT64_MAX = (1n << 64n) - 1n;

/** Decimal digits with an optional sign (when allowed); null when malformed. */
function parseDecimal(s: string, signed: boolean): bigint | null {
  let i = 0;
  if (signed && (s[0] === '+' || s[0] === '-')) i = 1;
  if (i === s.length) return null;
  for (let k = i; k < s.length; k++) {
    const c = s.charCodeAt(k);
    if (c < 48 || c > 57) return null;
  }
  return BigInt(s);
}

/** Values beyond 2^53 cannot be a real offset, limit or cid here; clamp rather than lose digits. */
function clampToSafe(v: bigint): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) return Number.MAX_SAFE_INTEGER;
  if (v < BigInt(Number.MIN_SAFE_INTEGER)) return Number.MIN_SAFE_INTEGER;
  return Number(v);
}
