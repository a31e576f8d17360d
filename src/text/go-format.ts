/**
 * Values written the way nats-server (Go) writes them, in one place:
 * RFC3339Nano timestamps, `time.Duration.String()`, nats-server's coarse
 * uptime strings, `strconv.Quote` / `%q` (of decoded strings and of wire
 * bytes), and `encoding/json` output (indent, HTML-safe escaping).
 * Monitoring clients, the `nats` CLI and scripts matching error texts parse
 * these strings, so "close enough" JavaScript defaults would break them.
 * Durations are nanoseconds here; callers holding milliseconds convert with
 * msToGoDuration.
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

/**
 * Go's `time.Time.String()` of a whole-second local time, as nats-server
 * logs an operator JWT's issue date: `2026-12-07 20:04:15 +0000 UTC`. The
 * zone's abbreviation is the platform's short name (`UTC`, `CET`, or
 * `GMT+1` where it has none).
 */
export function formatGoLocalTime(d: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  const offsetMin = -d.getTimezoneOffset();
  const off = `${offsetMin < 0 ? '-' : '+'}${p(Math.trunc(Math.abs(offsetMin) / 60))}${p(Math.abs(offsetMin) % 60)}`;
  const zone = new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' }).formatToParts(d).find((x) => x.type === 'timeZoneName')?.value ?? off;
  const date = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
  return `${date} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())} ${off} ${zone}`;
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

/**
 * Go's `strconv.Quote` of a decoded (JavaScript) string, as nats-server's
 * messages quote values it parsed (monitoring 400 bodies, config errors).
 * U+FFFD stands where decoding met bytes that were not UTF-8; Go, which
 * quotes the bytes themselves, shows such a byte escaped, so it is escaped
 * here too rather than printed as the replacement character.
 */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const r = ch.codePointAt(0) ?? 0;
    out += r === 0xfffd ? '\\ufffd' : quoteRune(r);
  }
  return out + '"';
}

/**
 * Go's `%q` of a byte string given in wire form (latin1, one char per
 * byte): nats-server formats subjects in its error texts that way, and
 * clients match on those texts. Valid UTF-8 printable characters stay as
 * they are, `"` and `\` are escaped, control characters become `\n`,
 * `\x01`, `\u2028`..., and bytes that are not valid UTF-8 become `\xff`.
 */
export function goQuoteWire(wire: string): string {
  let out = '"';
  const n = wire.length;
  let i = 0;
  while (i < n) {
    const b = wire.charCodeAt(i) & 0xff;
    if (b < 0x80) {
      out += quoteRune(b);
      i++;
      continue;
    }
    const decoded = decodeRune(wire, i);
    if (decoded === null) {
      out += `\\x${hex(b, 2)}`;
      i++;
    } else {
      out += quoteRune(decoded.rune);
      i += decoded.size;
    }
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

const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;

/** One rune as Go's %q writes it. */
function quoteRune(r: number): string {
  switch (r) {
    case 0x22:
      return '\\"';
    case 0x5c:
      return '\\\\';
    case 0x07:
      return '\\a';
    case 0x08:
      return '\\b';
    case 0x0c:
      return '\\f';
    case 0x0a:
      return '\\n';
    case 0x0d:
      return '\\r';
    case 0x09:
      return '\\t';
    case 0x0b:
      return '\\v';
  }
  const ch = String.fromCodePoint(r);
  if (PRINTABLE.test(ch)) return ch;
  if (r < 0x80) return `\\x${hex(r, 2)}`;
  if (r < 0x10000) return `\\u${hex(r, 4)}`;
  return `\\U${hex(r, 8)}`;
}

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}

/** One UTF-8 sequence at `i`, or null where Go would see an invalid byte. */
function decodeRune(s: string, i: number): { rune: number; size: number } | null {
  const b0 = s.charCodeAt(i) & 0xff;
  let size: number;
  let rune: number;
  let min: number;
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    size = 2;
    rune = b0 & 0x1f;
    min = 0x80;
  } else if (b0 >= 0xe0 && b0 <= 0xef) {
    size = 3;
    rune = b0 & 0x0f;
    min = 0x800;
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    size = 4;
    rune = b0 & 0x07;
    min = 0x10000;
  } else {
    return null;
  }
  if (i + size > s.length) return null;
  for (let k = 1; k < size; k++) {
    const c = s.charCodeAt(i + k) & 0xff;
    if ((c & 0xc0) !== 0x80) return null;
    rune = (rune << 6) | (c & 0x3f);
  }
  // Overlong forms, UTF-16 surrogates and values past U+10FFFF are invalid UTF-8.
  if (rune < min || (rune >= 0xd800 && rune <= 0xdfff) || rune > 0x10ffff) return null;
  return { rune, size };
}
