/**
 * The framing every NATS text protocol shares (clients, routes): control
 * lines end at LF, a message op is followed by `size` payload bytes and
 * CRLF. This base class walks the Buffers a socket hands over, resumes
 * across chunk boundaries, and copies only what spans chunks; subclasses
 * interpret the lines and deliver the messages.
 */
import './buffer-internals.js';

const CR = 13;
const LF = 10;

/** quickLine did not take the line: the general path handles it. */
export const NOT_QUICK = -3;

/** Bytes scanned for a line's LF in script before handing the search to Buffer.indexOf. */
const SHORT_LINE = 128;

/**
 * Index of the LF that ends the line starting at `pos`, or -1. Message ops'
 * lines are short, and for those a plain loop beats indexOf, whose argument
 * checks and native call cost more than the scan; long lines (CONNECT with
 * a JWT) still get the native search.
 */
function lineEnd(chunk: Buffer, pos: number, len: number): number {
  const stop = pos + SHORT_LINE < len ? pos + SHORT_LINE : len;
  for (let i = pos; i < stop; i++) if (chunk[i] === LF) return i;
  return stop < len ? chunk.indexOf(LF, stop) : -1;
}

export abstract class FramedParser {
  /** Bytes of an unterminated control line carried over from the last chunk. */
  private lineBuf: Buffer | null = null;
  /** The payload (+CRLF) of a message op still arriving. */
  private pendMsg: Buffer | null = null;
  private pendFill = 0;
  /** While set (an op awaits something, e.g. CONNECT's authentication), input is held, not parsed. */
  private suspended = false;
  private held: Buffer | null = null;
  /** Set once the connection is closing; the parser then ignores input. */
  stopped = false;
  /** Protocol tracing on: every op and payload is reported first. */
  tracing = false;

  /**
   * Handles one control line buf[start..nl) (nl is the LF). Returns how many
   * payload bytes follow for a message op, else -1.
   */
  protected abstract processLine(buf: Buffer, start: number, nl: number): number;
  /**
   * The commonest line, taken before the general search for its end: a
   * subclass returns the payload size of a message op whose whole line it
   * handled (and sets `lineNext` to the index after its LF), or NOT_QUICK.
   */
  protected quickLine(_buf: Buffer, _pos: number, _len: number): number {
    return NOT_QUICK;
  }
  /** Where the line quickLine took ends (after its LF). */
  protected lineNext = 0;
  /** An incomplete line (the whole of `buf`): reject garbage early, bound its length. */
  protected abstract checkPartialLine(buf: Buffer): void;
  /** The payload of the op processLine announced: buf[start..end), valid only during the call. */
  protected abstract deliver(buf: Buffer, start: number, end: number): void;
  /** A framing error (bad terminator): the protocol's "unknown operation" answer. */
  protected abstract fail(): void;

  /** Parses one chunk. The chunk must not be modified afterwards (Node's read buffers are not). */
  parse(chunk: Buffer): void {
    // A stopped connection must not finish a half-received line or payload: that would deliver after close.
    if (this.stopped) return;
    if (this.suspended) {
      this.hold(chunk, 0);
      return;
    }
    let pos = 0;
    const len = chunk.length;
    if (this.pendMsg !== null) {
      pos = this.fillPayload(chunk);
      if (pos < 0) return;
    } else if (this.lineBuf !== null) {
      const nl = chunk.indexOf(LF);
      if (nl < 0) {
        this.lineBuf = Buffer.concat([this.lineBuf, chunk]);
        this.checkPartialLine(this.lineBuf);
        return;
      }
      const line = Buffer.concat([this.lineBuf, chunk.subarray(0, nl + 1)]);
      this.lineBuf = null;
      pos = nl + 1;
      const need = this.processLine(line, 0, line.length - 1);
      if (this.stopped) return;
      if (need >= 0) {
        pos = this.payloadFrom(chunk, pos, need);
        if (pos < 0) return;
      }
    }
    while (pos < len && !this.stopped) {
      if (this.suspended) {
        this.hold(chunk, pos);
        return;
      }
      let need = this.quickLine(chunk, pos, len);
      if (need !== NOT_QUICK) {
        pos = this.lineNext;
      } else {
        const nl = lineEnd(chunk, pos, len);
        if (nl < 0) {
          // Keep a private copy: the tail is small and we must not pin the whole chunk.
          this.lineBuf = Buffer.from(chunk.subarray(pos));
          this.checkPartialLine(this.lineBuf);
          return;
        }
        need = this.processLine(chunk, pos, nl);
        pos = nl + 1;
        if (this.stopped) return;
      }
      if (need >= 0) {
        pos = this.payloadFrom(chunk, pos, need);
        if (pos < 0) return;
      }
    }
  }

  /** Stops parsing after the current op; later input waits for resume(). */
  suspend(): void {
    this.suspended = true;
  }

  /** Input is being held (suspend() was called and resume() not yet). */
  get isSuspended(): boolean {
    return this.suspended;
  }

  /** Parses what arrived while suspended. */
  resume(): void {
    this.suspended = false;
    const held = this.held;
    this.held = null;
    if (held !== null && !this.stopped) this.parse(held);
  }

  private hold(chunk: Buffer, pos: number): void {
    const rest = chunk.subarray(pos);
    this.held = this.held === null ? Buffer.from(rest) : Buffer.concat([this.held, rest]);
  }

  /**
   * `size` payload bytes (+CRLF) follow at `pos`. Returns the position after
   * the frame, or -1 when the frame continues in a later chunk (or failed).
   */
  private payloadFrom(chunk: Buffer, pos: number, size: number): number {
    const end = pos + size;
    if (end + 2 <= chunk.length) {
      if (chunk[end] !== CR || chunk[end + 1] !== LF) {
        this.stopped = true;
        this.fail();
        return -1;
      }
      this.deliver(chunk, pos, end);
      return end + 2;
    }
    // The terminator is checked as soon as its bytes arrive, as nats-server does.
    if ((end < chunk.length && chunk[end] !== CR) || (end + 1 < chunk.length && chunk[end + 1] !== LF)) {
      this.stopped = true;
      this.fail();
      return -1;
    }
    // Spans chunks: copy into a private buffer sized for payload + CRLF.
    const msg = Buffer.allocUnsafe(size + 2);
    chunk.copy(msg, 0, pos, chunk.length);
    this.pendMsg = msg;
    this.pendFill = chunk.length - pos;
    return -1;
  }

  /** Continues a spanning payload. Returns the position after it, or -1 when more is needed. */
  private fillPayload(chunk: Buffer): number {
    const msg = this.pendMsg as Buffer;
    const take = Math.min(msg.length - this.pendFill, chunk.length);
    chunk.copy(msg, this.pendFill, 0, take);
    this.pendFill += take;
    const size = msg.length - 2;
    if ((this.pendFill > size && msg[size] !== CR) || (this.pendFill > size + 1 && msg[size + 1] !== LF)) {
      this.pendMsg = null;
      this.stopped = true;
      this.fail();
      return -1;
    }
    if (this.pendFill < msg.length) return -1;
    this.pendMsg = null;
    this.deliver(msg, 0, size);
    return this.stopped ? -1 : take;
  }
}
