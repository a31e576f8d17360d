/** Where a flush hands its bytes: a socket, or a connection's transport (see ClientTransport). */
export interface OutboundSink {
  write(chunk: Buffer): unknown;
  cork(): void;
  uncork(): void;
}

/** Smallest segment we allocate; Node serves these from its shared pool. */
const MIN_SEGMENT = 512;
/** Largest segment we grow to; bigger frames get a segment of their own size. */
const MAX_SEGMENT = 1024 * 1024;

/**
 * A connection's outbound bytes. Frames are appended into a segment Buffer;
 * a flush hands the unflushed range of each segment to the socket (one
 * `writev` via cork/uncork) and keeps appending after it, so nothing is
 * copied twice and the kernel-bound range is never touched again.
 */
export class OutboundQueue {
  private seg: Buffer | null = null;
  /** Start of the unflushed range in `seg`. */
  private start = 0;
  /** End of written bytes in `seg`. */
  private end = 0;
  /** Full segments waiting for the next flush. */
  private sealed: Buffer[] | null = null;
  private sealedBytes = 0;
  /** Segment size to use next; grows while the connection is busy. */
  private nextSize = MIN_SEGMENT;

  /** Bytes appended but not yet handed to the socket. */
  get pending(): number {
    return this.sealedBytes + this.end - this.start;
  }

  /** Makes room for `n` bytes in the current segment and returns the write offset. */
  reserve(n: number): Buffer {
    const seg = this.seg;
    if (seg !== null && seg.length - this.end >= n) return seg;
    if (seg !== null && this.end > this.start) {
      (this.sealed ??= []).push(seg.subarray(this.start, this.end));
      this.sealedBytes += this.end - this.start;
      if (this.nextSize < MAX_SEGMENT) this.nextSize *= 2;
    }
    const size = n > this.nextSize ? n : this.nextSize;
    const fresh = Buffer.allocUnsafe(size);
    this.seg = fresh;
    this.start = 0;
    this.end = 0;
    return fresh;
  }

  /** Offset where the next reserved bytes go. */
  get offset(): number {
    return this.end;
  }

  /** Marks `n` reserved bytes as written. */
  commit(n: number): void {
    this.end += n;
  }

  /** Appends a latin1/ASCII string (protocol lines). */
  appendString(s: string): void {
    const n = s.length;
    const seg = this.reserve(n);
    seg.latin1Write(s, this.end, n);
    this.end += n;
  }

  /** Appends raw bytes. */
  appendBytes(b: Buffer): void {
    const n = b.length;
    const seg = this.reserve(n);
    b.copy(seg, this.end);
    this.end += n;
  }

  /** Writes everything pending to the socket. Returns bytes handed over. */
  flush(socket: OutboundSink): number {
    const seg = this.seg;
    const tail = this.end - this.start;
    const sealed = this.sealed;
    if (sealed === null) {
      if (tail === 0 || seg === null) return 0;
      socket.write(seg.subarray(this.start, this.end));
    } else {
      socket.cork();
      for (const b of sealed) socket.write(b);
      if (tail > 0 && seg !== null) socket.write(seg.subarray(this.start, this.end));
      socket.uncork();
      this.sealed = null;
    }
    const total = this.sealedBytes + tail;
    this.sealedBytes = 0;
    this.start = this.end;
    // A small, fully used segment goes back to the pool: idle connections then
    // hold no buffer at all, which is what keeps 10k idle clients cheap.
    if (seg !== null && this.end === seg.length) {
      this.seg = null;
      this.start = this.end = 0;
    } else if (seg !== null && seg.length <= MIN_SEGMENT * 8 && this.nextSize <= MIN_SEGMENT * 8) {
      this.seg = null;
      this.start = this.end = 0;
      this.nextSize = MIN_SEGMENT;
    }
    return total;
  }

  /** Drops everything (connection closed). */
  clear(): void {
    this.seg = null;
    this.sealed = null;
    this.sealedBytes = 0;
    this.start = this.end = 0;
  }
}
