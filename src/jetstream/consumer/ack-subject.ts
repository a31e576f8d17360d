/**
 * The reply subject every delivery carries and acks come back on, v1 form:
 * `$JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<ts ns>.<pending>`.
 * Parsed by hand: acks are as frequent as deliveries, so no split/regex.
 */
import '../../protocol/buffer-internals.js';

/** The consumer's ack prefix, `$JS.ACK.<stream>.<consumer>.`. */
export function ackPrefix(stream: string, consumer: string): string {
  return `$JS.ACK.${stream}.${consumer}.`;
}

/** Nanoseconds since the epoch as a decimal string from a millisecond time with µs precision. */
export function nanosString(tsMs: number): string {
  return Math.round(tsMs * 1000) + '000';
}

export function ackSubject(prefix: string, deliveries: number, sseq: number, dseq: number, tsMs: number, pending: number): string {
  return prefix + deliveries + '.' + sseq + '.' + dseq + '.' + nanosString(tsMs) + '.' + pending;
}

/** Room for the five numbers: four of at most 16 digits (2^53), the nanosecond time (19-20), the dots. */
const NUMBERS_ROOM = 4 * 16 + 21 + 5;

/**
 * Builds one consumer's ack subjects in a reused buffer: one flat string per
 * delivery, where concatenation made a dozen intermediate strings (number
 * conversions and string joins, then a flattening copy when written out),
 * and a consumer makes one for every message it delivers.
 */
export class AckSubjects {
  private readonly buf: Buffer | null;
  private readonly start: number;

  constructor(private readonly prefix: string) {
    // Names outside latin1 (the parser's subjects are latin1 strings) keep the plain join.
    if (/^[\u0000-\u00ff]*$/.test(prefix)) {
      this.buf = Buffer.allocUnsafe(prefix.length + NUMBERS_ROOM);
      this.start = this.buf.latin1Write(prefix, 0, prefix.length);
    } else {
      this.buf = null;
      this.start = 0;
    }
  }

  subject(deliveries: number, sseq: number, dseq: number, tsMs: number, pending: number): string {
    const b = this.buf;
    if (b === null) return ackSubject(this.prefix, deliveries, sseq, dseq, tsMs, pending);
    let p = putUint(b, this.start, deliveries);
    b[p++] = DOT;
    p = putUint(b, p, sseq);
    b[p++] = DOT;
    p = putUint(b, p, dseq);
    b[p++] = DOT;
    // Microseconds, then three zeros: nanoseconds past 2^53 are not exact as a number.
    p = putUint(b, p, Math.round(tsMs * 1000));
    b[p++] = ZERO;
    b[p++] = ZERO;
    b[p++] = ZERO;
    b[p++] = DOT;
    p = putUint(b, p, pending);
    return b.latin1Slice(0, p);
  }
}

const DOT = 46;
const ZERO = 48;

/** Writes the decimal digits of a non-negative integer below 2^53 at `pos`; returns the end. */
function putUint(b: Buffer, pos: number, v: number): number {
  let n = 1;
  for (let t = v; t >= 10; t = Math.floor(t / 10)) n++;
  const end = pos + n;
  for (let i = end - 1; i >= pos; i--) {
    const q = Math.floor(v / 10);
    b[i] = ZERO + (v - q * 10);
    v = q;
  }
  return end;
}

/** The numbers of an ack subject after `prefixLen` chars; reused to avoid an allocation per ack. */
export interface AckFields {
  deliveries: number;
  sseq: number;
  dseq: number;
}

/** Reads `<delivered>.<sseq>.<dseq>.` after the prefix; false when the subject is not of that shape. */
export function parseAckSubject(subject: string, prefixLen: number, out: AckFields): boolean {
  let i = prefixLen;
  const n = subject.length;
  let field = 0;
  let v = 0;
  let digits = 0;
  for (; i < n && field < 3; i++) {
    const c = subject.charCodeAt(i);
    if (c === 46) {
      if (digits === 0) return false;
      if (field === 0) out.deliveries = v;
      else if (field === 1) out.sseq = v;
      else out.dseq = v;
      field++;
      v = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      v = v * 10 + (c - 48);
      digits++;
    } else {
      return false;
    }
  }
  return field === 3;
}

/** Whether an ack body starts with the ASCII text `s` (acks are parsed without making strings). */
export function startsWith(b: Buffer, s: string): boolean {
  if (b.length < s.length) return false;
  for (let i = 0; i < s.length; i++) if (b[i] !== s.charCodeAt(i)) return false;
  return true;
}
