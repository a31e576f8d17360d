/**
 * Consumer pause (nats-server 2.11): a consumer whose `pause_until` lies in
 * the future delivers nothing until then (pull requests wait or end as if
 * there were no messages; push heartbeats go on). The time comes from the
 * config (create, update, or `$JS.API.CONSUMER.PAUSE`); reaching it resumes
 * delivery. Every change, and the resume at the set time, is announced on
 * `$JS.EVENT.ADVISORY.CONSUMER.PAUSE.<stream>.<consumer>`.
 */
import type { ConsumerHost } from './host.js';
import { consumerAdvisory } from './advisories.js';
import { ZERO_TIME } from '../time.js';

const NS_PER_MS = 1_000_000;

/** The consumer a pause belongs to, as the pause needs it. */
export interface PausableConsumer {
  readonly host: ConsumerHost;
  readonly name: string;
  /** Delivery may go on: run the delivery loop. */
  signal(): void;
}

/** Milliseconds since the epoch of a pause_until, 0 for none (absent, Go's zero time, unparsable). */
export function pauseUntilMs(pauseUntil: string | undefined): number {
  if (pauseUntil === undefined || pauseUntil === ZERO_TIME) return 0;
  const ms = Date.parse(pauseUntil);
  return Number.isNaN(ms) ? 0 : ms;
}

export class ConsumerPause {
  private untilMs = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly consumer: PausableConsumer) {}

  /** Paused now. */
  get paused(): boolean {
    return this.untilMs > Date.now();
  }

  /** Nanoseconds left while paused, else 0. */
  remainingNs(): number {
    return Math.max(0, this.untilMs - Date.now()) * NS_PER_MS;
  }

  /**
   * Takes up the config's pause_until; `announce` sends the advisory when
   * that changes whether (or until when) the consumer is paused.
   */
  apply(pauseUntil: string | undefined, announce: boolean): void {
    const before = this.paused ? this.untilMs : 0;
    const until = pauseUntilMs(pauseUntil);
    this.untilMs = until;
    this.arm();
    const after = this.paused ? until : 0;
    if (announce && after !== before) this.advise();
    if (after === 0) this.consumer.signal();
  }

  /** The consumer stops (deleted, or no longer led here): no timer, no advisory. */
  stop(): void {
    this.clearTimer();
  }

  /** `paused` and `pause_remaining` of consumer info (both left out when not paused). */
  infoFields(): Record<string, unknown> {
    return this.paused ? { paused: true, pause_remaining: this.remainingNs() } : {};
  }

  private arm(): void {
    this.clearTimer();
    const wait = this.untilMs - Date.now();
    if (wait <= 0) return;
    this.timer = setTimeout(this.onResume, wait + 1);
    this.timer.unref();
  }

  private readonly onResume = (): void => {
    this.timer = null;
    // A timer may fire a little early by the wall clock: wait out the rest.
    if (this.paused) {
      this.arm();
      return;
    }
    this.advise();
    this.consumer.signal();
  };

  private advise(): void {
    const c = this.consumer;
    const paused = this.paused;
    const fields: Record<string, unknown> = { paused };
    if (paused) fields.pause_until = new Date(this.untilMs).toISOString();
    c.host.advisory(`$JS.EVENT.ADVISORY.CONSUMER.PAUSE.${c.host.name}.${c.name}`, consumerAdvisory('io.nats.jetstream.advisory.v1.consumer_pause', c, fields));
  }

  private clearTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}
