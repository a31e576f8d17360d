/**
 * How fast a push consumer may send: flow control (a window of bytes the
 * subscriber must confirm by answering a FlowControl Request) and
 * rate_limit_bps (a token bucket).
 */

/** nats-server's window starts at 2 MB and doubles up to 32 MB as replies come back. */
const FC_START_WINDOW = 2 * 1024 * 1024;
const FC_MAX_WINDOW = 32 * 1024 * 1024;

export class FlowControl {
  /** Bytes sent and not yet confirmed. */
  private pending = 0;
  private window = FC_START_WINDOW;
  /** The reply subject of the outstanding request, null when none is out. */
  outstanding: string | null = null;
  private outstandingSize = 0;
  private counter = 0;
  private readonly prefix: string;

  constructor(stream: string, consumer: string) {
    this.prefix = `$JS.FC.${stream}.${consumer}.`;
  }

  /** The subscription subject replies arrive on. */
  get replySubjects(): string {
    return this.prefix + '*';
  }

  /** Past the window nothing more goes out until a reply. */
  get blocked(): boolean {
    return this.pending > this.window;
  }

  /** Counts a delivery; returns the reply subject of a FlowControl Request to send now, or null. */
  sent(size: number): string | null {
    this.pending += size;
    if (this.outstanding !== null || this.pending <= this.window / 2) return null;
    this.outstanding = this.prefix + ++this.counter;
    this.outstandingSize = this.pending;
    return this.outstanding;
  }

  /** A reply on `subject`: true when it answered the outstanding request (deliveries may resume). */
  answered(subject: string): boolean {
    if (subject !== this.outstanding) return false;
    this.pending = Math.max(0, this.pending - this.outstandingSize);
    this.outstanding = null;
    this.outstandingSize = 0;
    if (this.window < FC_MAX_WINDOW) this.window *= 2;
    return true;
  }
}

/** At most `bps` bits per second with one second of burst; sending may overdraw, the next send waits it off. */
export class RateLimiter {
  private tokens = 0;
  private at = 0;

  /** 0 when sending may go on now, else the milliseconds to wait. */
  waitMs(now: number, bps: number): number {
    const full = bps / 8;
    const perMs = full / 1000;
    this.tokens = this.at === 0 ? full : Math.min(full, this.tokens + (now - this.at) * perMs);
    this.at = now;
    return this.tokens > 0 ? 0 : Math.max(1, Math.ceil(-this.tokens / perMs));
  }

  spend(bytes: number): void {
    this.tokens -= bytes;
  }
}
