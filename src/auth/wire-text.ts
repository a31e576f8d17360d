/**
 * Subjects on the wire are bytes. The protocol parser hands them over as
 * latin1 strings (one char per byte), while configuration text is decoded as
 * UTF-8. Everything that compares configured subjects with protocol subjects
 * (permissions, exports, imports) first turns the configured ones into the
 * wire form, so `allow: "größe.>"` matches what a client really sends.
 */

const ASCII = /^[\x00-\x7f]*$/;

/** The latin1 (one char per byte) form of a UTF-8 string. */
export function toWire(text: string): string {
  // Pure ASCII, by far the common case, is already its own wire form.
  if (ASCII.test(text)) return text;
  return Buffer.from(text, 'utf8').toString('latin1');
}

/** The readable (UTF-8 decoded) form of a wire string, for messages. */
export function fromWire(wire: string): string {
  if (ASCII.test(wire)) return wire;
  return Buffer.from(wire, 'latin1').toString('utf8');
}

const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;

/**
 * Go's `%q` of a byte string given in wire form: nats-server formats subjects
 * in its error texts that way, and clients match on those texts. Valid UTF-8
 * printable characters stay as they are, `"` and `\` are escaped, control
 * characters become `\n`, `\x01`, `\u2028`..., and bytes that are not valid
 * UTF-8 become `\xff`. The result is a JavaScript string to be sent as UTF-8.
 */
export function goQuote(wire: string): string {
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
