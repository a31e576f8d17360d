/**
 * Control-line helpers every protocol parser shares (client connections,
 * routes): keyword case folding, splitting the arguments into tokens, and
 * the decimal sizes of message operations. They run at least once per
 * message, so they allocate nothing.
 */

const CR = 13;
const SP = 32;
const TAB = 9;

/** The upper-case form of an ASCII byte; keywords are matched case-insensitively. */
export function upper(c: number): number {
  return c >= 97 && c <= 122 ? c - 32 : c;
}

/** Decimal size as nats-server parses it: digits only, -1 otherwise. */
export function parseSize(buf: Buffer, start: number, end: number): number {
  if (start >= end || end - start > 15) return -1;
  let v = 0;
  for (let i = start; i < end; i++) {
    const d = buf[i] - 48;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

/**
 * Token boundaries of one control line's arguments, reused line after line
 * so that splitting allocates nothing: token i is buf[starts[i]..ends[i]).
 */
export class ArgTokens {
  starts: Int32Array;
  ends: Int32Array;
  /** Beyond this many tokens split() stops and reports maxTokens + 1 (the line has too many). */
  private readonly maxTokens: number;

  /** Without `maxTokens` the arrays grow as long lines need (a route's queue list). */
  constructor(capacity: number, maxTokens = Number.POSITIVE_INFINITY) {
    this.starts = new Int32Array(capacity);
    this.ends = new Int32Array(capacity);
    this.maxTokens = maxTokens;
  }

  /** Splits buf[start..end) on spaces, tabs and CRs; returns the token count. */
  split(buf: Buffer, start: number, end: number): number {
    let n = 0;
    let tokStart = -1;
    for (let i = start; i < end; i++) {
      const c = buf[i];
      if (c === SP || c === TAB || c === CR) {
        if (tokStart >= 0) {
          if (n === this.starts.length && !this.makeRoom()) return n + 1;
          this.starts[n] = tokStart;
          this.ends[n++] = i;
          tokStart = -1;
        }
      } else if (tokStart < 0) {
        tokStart = i;
      }
    }
    if (tokStart >= 0) {
      if (n === this.starts.length && !this.makeRoom()) return n + 1;
      this.starts[n] = tokStart;
      this.ends[n++] = end;
    }
    return n;
  }

  /** Doubles the arrays unless the limit is reached; false: the line has too many tokens. */
  private makeRoom(): boolean {
    const n = this.starts.length;
    if (n >= this.maxTokens) return false;
    const size = Math.min(n * 2, this.maxTokens);
    const starts = new Int32Array(size);
    const ends = new Int32Array(size);
    starts.set(this.starts);
    ends.set(this.ends);
    this.starts = starts;
    this.ends = ends;
    return true;
  }
}
