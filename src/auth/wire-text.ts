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
