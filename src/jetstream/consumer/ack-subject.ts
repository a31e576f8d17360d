/**
 * The reply subject every delivery carries and acks come back on, v1 form:
 * `$JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<ts ns>.<pending>`.
 * Parsed by hand: acks are as frequent as deliveries, so no split/regex.
 */

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
