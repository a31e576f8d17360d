/**
 * How one MSG/HMSG goes into a connection's outbound queue: its line
 * (`head`, the subscription's sid, `tail`), the body, CRLF. This runs once
 * per delivered message, so it allocates nothing while messages repeat.
 */
import '../protocol/buffer-internals.js';
import type { OutboundQueue } from './outbound.js';

/**
 * A Uint8Array view of buf[start..end), remembered for the next call: a
 * fan-out copies the same payload to every subscriber, and making the view
 * is most of what a copy of a few hundred bytes costs.
 */
let viewBuf: Buffer | null = null;
let viewStart = 0;
let viewEnd = 0;
let view: Uint8Array = new Uint8Array(0);
function payloadView(buf: Buffer, start: number, end: number): Uint8Array {
  if (buf !== viewBuf || start !== viewStart || end !== viewEnd) {
    view = new Uint8Array(buf.buffer, buf.byteOffset + start, end - start);
    viewBuf = buf;
    viewStart = start;
    viewEnd = end;
  }
  return view;
}

/** Writes an ASCII string at `off`; returns the offset after it. */
function writeAscii(seg: Buffer, off: number, s: string): number {
  const n = s.length;
  if (n > 48) return off + seg.latin1Write(s, off, n);
  for (let i = 0; i < n; i++) seg[off + i] = s.charCodeAt(i);
  return off + n;
}

/**
 * One connection's message framing. It remembers the last MSG line: a
 * steady stream to one subscription repeats it, and copying its bytes in
 * one native call costs less than writing three strings byte by byte. The
 * router reuses its head and tail strings while messages repeat, so the
 * comparisons mostly compare pointers.
 */
export class MsgFramer {
  private head = '';
  private sidSp = '';
  private tail = '';
  /** The last line's bytes, made once it repeats; null until then. */
  private bytes: Buffer | null = null;

  /** Appends `head` `sidSp` `tail`, buf[start..end) and CRLF to `out`. */
  frame(out: OutboundQueue, head: string, sidSp: string, tail: string, buf: Buffer, start: number, end: number): void {
    const size = end - start;
    const n = head.length + sidSp.length + tail.length + size + 2;
    const seg = out.reserve(n);
    let off = out.offset;
    if (head === this.head && sidSp === this.sidSp && tail === this.tail) {
      const bytes = this.bytes ??= Buffer.from(head + sidSp + tail, 'latin1');
      seg.set(bytes, off);
      off += bytes.length;
    } else {
      off = writeAscii(seg, off, head);
      off = writeAscii(seg, off, sidSp);
      off = writeAscii(seg, off, tail);
      this.head = head;
      this.sidSp = sidSp;
      this.tail = tail;
      this.bytes = null;
    }
    if (size <= 32) {
      // Native copies cost more than a short loop for the small messages that dominate.
      for (let i = start; i < end; i++) seg[off++] = buf[i];
    } else {
      seg.set(payloadView(buf, start, end), off);
      off += size;
    }
    seg[off] = 13;
    seg[off + 1] = 10;
    out.commit(n);
  }
}
