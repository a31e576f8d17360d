/** The bytes of one delivery: a stored message's header block and payload as one buffer. */

/** Header block and payload together; stores that keep them adjacent (the memory store) need no copy. */
export function joinHeaderAndData(hdr: Buffer, data: Buffer): Buffer {
  if (hdr.buffer === data.buffer && hdr.byteOffset + hdr.length === data.byteOffset) {
    return Buffer.from(hdr.buffer, hdr.byteOffset, hdr.length + data.length);
  }
  return Buffer.concat([hdr, data], hdr.length + data.length);
}

/**
 * headers_only consumers: the original header block with `Nats-Msg-Size`
 * added before its blank line (a bare `NATS/1.0` block when there was none).
 */
export function headersOnlyBlock(hdr: Buffer | null, size: number): Buffer {
  const line = `Nats-Msg-Size: ${size}\r\n\r\n`;
  if (hdr === null || hdr.length < 4) return Buffer.from(`NATS/1.0\r\n${line}`, 'latin1');
  const head = hdr.subarray(0, hdr.length - 2);
  const out = Buffer.allocUnsafe(head.length + line.length);
  head.copy(out, 0);
  out.write(line, head.length, 'latin1');
  return out;
}
