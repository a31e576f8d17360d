/**
 * Value formatting that monitoring clients expect byte-for-byte from
 * nats-server: Go's RFC3339Nano timestamps, Go's `time.Duration.String()`,
 * nats-server's coarse uptime strings, Go's `strconv.Quote` (in 400 bodies)
 * and `encoding/json` output (indent, HTML-safe escaping). Dashboards and the
 * `nats` CLI parse these strings, so "close enough" JavaScript defaults would
 * break them.
 */

const NS_PER_MS = 1_000_000;
const NS_PER_US = 1_000;
const NS_PER_S = 1_000_000_000;

/** Nanoseconds since the Unix epoch. */
export type EpochNanos = bigint;

let anchorWall = BigInt(Date.now()) * BigInt(NS_PER_MS);
let anchorHr = process.hrtime.bigint();
const MAX_SKEW = BigInt(NS_PER_MS);

/**
 * The wall clock with nanosecond digits. Date.now() only has milliseconds, so
 * the monotonic clock fills in the rest; when the two drift apart by more than
 * a millisecond (NTP step, suspend) we re-anchor on the wall clock, which is
 * the one that must agree with timestamps taken from Date.
 */
export function nowNanos(): EpochNanos {
  const hr = process.hrtime.bigint();
  const t = anchorWall + (hr - anchorHr);
  const wall = BigInt(Date.now()) * BigInt(NS_PER_MS);
  if (t < wall - MAX_SKEW || t > wall + MAX_SKEW) {
    anchorWall = wall;
    anchorHr = hr;
    return wall;
  }
  return t;
}

export function msToNanos(ms: number): EpochNanos {
  return BigInt(Math.floor(ms)) * BigInt(NS_PER_MS);
}

/** Nanoseconds from `from` to `to` as a number (exact for any realistic span). */
export function nanosBetween(from: EpochNanos, to: EpochNanos): number {
  return Number(to - from);
}

/**
 * Go's `time.RFC3339Nano` in UTC: fractional seconds only as long as needed
 * (trailing zeros dropped, no dot at all when whole).
 */
export function formatTime(t: EpochNanos): string {
  const ns = BigInt(NS_PER_S);
  let secs = t / ns;
  let frac = t % ns;
  if (frac < 0n) {
    frac += ns;
    secs -= 1n;
  }
  const iso = new Date(Number(secs) * 1000).toISOString();
  let out = iso.slice(0, 19);
  if (frac !== 0n) out += '.' + frac.toString().padStart(9, '0').replace(/0+$/, '');
  return out + 'Z';
}

export function formatDate(d: Date): string {
  return formatTime(msToNanos(d.getTime()));
}

/** nats-server's uptime/idle strings: whole seconds, `1y2d3h4m5s` style, leading zero units dropped. */
export function formatUptime(nanos: number): string {
  const tsecs = Math.max(0, Math.trunc(nanos / NS_PER_S));
  const tmins = Math.trunc(tsecs / 60);
  const thrs = Math.trunc(tmins / 60);
  const tdays = Math.trunc(thrs / 24);
  const tyrs = Math.trunc(tdays / 365);
  if (tyrs > 0) return `${tyrs}y${tdays % 365}d${thrs % 24}h${tmins % 60}m${tsecs % 60}s`;
  if (tdays > 0) return `${tdays}d${thrs % 24}h${tmins % 60}m${tsecs % 60}s`;
  if (thrs > 0) return `${thrs}h${tmins % 60}m${tsecs % 60}s`;
  if (tmins > 0) return `${tmins}m${tsecs % 60}s`;
  return `${tsecs}s`;
}

/** Fraction of `v / 10^prec` without trailing zeros (Go's fmtFrac). */
function fracPart(v: number, prec: number): { frac: string; whole: number } {
  const scale = 10 ** prec;
  const whole = Math.trunc(v / scale);
  const rest = v - whole * scale;
  if (rest === 0) return { frac: '', whole };
  return { frac: '.' + String(rest).padStart(prec, '0').replace(/0+$/, ''), whole };
}

/** Go's `time.Duration.String()` for a whole number of nanoseconds: `0s`, `591µs`, `2.641584ms`, `1m2.5s`. */
export function formatGoDuration(nanos: number): string {
  let u = Math.trunc(Math.abs(nanos));
  const sign = nanos < 0 ? '-' : '';
  if (u === 0) return '0s';
  if (u < NS_PER_S) {
    if (u < NS_PER_US) return `${sign}${u}ns`;
    if (u < NS_PER_MS) {
      const { frac, whole } = fracPart(u, 3);
      return `${sign}${whole}${frac}µs`;
    }
    const { frac, whole } = fracPart(u, 6);
    return `${sign}${whole}${frac}ms`;
  }
  const { frac, whole } = fracPart(u, 9);
  u = whole;
  let out = `${u % 60}${frac}s`;
  u = Math.trunc(u / 60);
  if (u > 0) {
    out = `${u % 60}m` + out;
    u = Math.trunc(u / 60);
    if (u > 0) out = `${u}h` + out;
  }
  return sign + out;
}

/**
 * A connection's RTT as nats-server reports it: measured in milliseconds here,
 * truncated to microseconds between 1µs and 1ms (as nats-server does) so the
 * string stays readable, nanoseconds otherwise.
 */
export function formatRtt(rttMs: number): string {
  let ns = Math.round(rttMs * NS_PER_MS);
  if (ns > NS_PER_US && ns < NS_PER_MS) ns = Math.trunc(ns / NS_PER_US) * NS_PER_US;
  return formatGoDuration(ns);
}

/** Milliseconds to a Go `time.Duration` JSON value (integer nanoseconds). */
export function msToGoDuration(ms: number): number {
  return Math.round(ms * NS_PER_MS);
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}

/** Go's `strconv.Quote`, as it appears in nats-server's 400 bodies. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    switch (c) {
      case 0x22: out += '\\"'; continue;
      case 0x5c: out += '\\\\'; continue;
      case 0x07: out += '\\a'; continue;
      case 0x08: out += '\\b'; continue;
      case 0x0c: out += '\\f'; continue;
      case 0x0a: out += '\\n'; continue;
      case 0x0d: out += '\\r'; continue;
      case 0x09: out += '\\t'; continue;
      case 0x0b: out += '\\v'; continue;
    }
    if (c < 0x20 || c === 0x7f) out += '\\x' + hex2(c);
    else if (c >= 0x80 && c < 0xa0) out += '\\u' + c.toString(16).padStart(4, '0');
    else if (c === 0xfffd) out += '\\ufffd';
    else out += ch;
  }
  return out + '"';
}

/** Characters Go's encoding/json escapes so JSON can be embedded in HTML. */
const HTML_UNSAFE = /[<>&\u2028\u2029]/g;

function escapeHtmlUnsafe(ch: string): string {
  return '\\u' + ch.charCodeAt(0).toString(16).padStart(4, '0');
}

/**
 * `json.MarshalIndent(v, "", "  ")`. JSON.stringify already matches Go's
 * layout and number formatting; only the HTML-safe escaping differs (it can
 * only occur inside strings, so a global replace is safe).
 */
export function marshalIndent(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(HTML_UNSAFE, escapeHtmlUnsafe);
}

/** `json.Marshal(v)`: compact, HTML-safe. */
export function marshalCompact(value: unknown): string {
  return JSON.stringify(value).replace(HTML_UNSAFE, escapeHtmlUnsafe);
}

/** Go's `net.JoinHostPort`: IPv6 literals get brackets. */
export function joinHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
