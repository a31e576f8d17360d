/**
 * `inactive_threshold`: a consumer nobody used for that long (no pull
 * request waiting, no push interest, no acks) is deleted by its owner. One
 * timer per consumer, re-armed for whatever is left of the threshold.
 */

const NS_PER_MS = 1_000_000;

/** What the timer needs from its consumer. */
export interface InactivityOwner {
  /** inactive_threshold in nanoseconds (0 or absent: never). */
  thresholdNs(): number;
  /** The consumer is running (not closed, and live on this server). */
  running(): boolean;
  /** Someone is using it right now (waiting pull requests, push interest). */
  busy(): boolean;
  /** The threshold passed: the owner deletes the consumer. */
  expire(): void;
}

export class InactivityTimer {
  private timer: NodeJS.Timeout | null = null;
  /** Date.now() of the last sign of use. */
  private last = Date.now();

  constructor(private readonly owner: InactivityOwner) {}

  /** The consumer was used just now. */
  touch(now = Date.now()): void {
    this.last = now;
  }

  /** (Re)starts the timer for the current threshold. */
  arm(): void {
    this.stop();
    const ms = this.owner.thresholdNs() / NS_PER_MS;
    if (ms <= 0 || !this.owner.running()) return;
    this.timer = setTimeout(this.onTimer, Math.max(1, Math.ceil(ms)));
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private readonly onTimer = (): void => {
    this.timer = null;
    if (!this.owner.running()) return;
    const ms = this.owner.thresholdNs() / NS_PER_MS;
    const now = Date.now();
    const busy = this.owner.busy();
    if (busy) this.last = now;
    const idle = now - this.last;
    if (!busy && idle >= ms) {
      this.owner.expire();
      // A replicated consumer goes once its removal is replicated: if the report got lost, it is made again.
      this.arm();
      return;
    }
    this.timer = setTimeout(this.onTimer, Math.max(1, Math.ceil(ms - idle)));
    this.timer.unref();
  };
}
