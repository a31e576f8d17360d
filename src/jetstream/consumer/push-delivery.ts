/**
 * The push side of a consumer (the pull side is the WaitQueue): whether
 * anybody listens on the deliver subject, flow control with its reply
 * subscription, idle heartbeats and rate_limit_bps. The consumer's delivery
 * loop asks `ready` before each message and reports each one through `sent`.
 */
import type { Subscription } from '../../server/subscription.js';
import type { ConsumerConfig } from '../types.js';
import type { ConsumerHost } from './host.js';
import { FlowControl, RateLimiter } from './push-pacing.js';
import { FLOW_CONTROL_REQUEST } from './status.js';

const NS_PER_MS = 1_000_000;

/**
 * Does anybody listen on `subject` in the consumer's account: a subscriber
 * here (leaf connections included), or one on another server of the
 * cluster, whose route asked for the subject. nats-server asks its account
 * sublist, which holds route subscriptions too.
 */
export function listensOn(host: ConsumerHost, subject: string): boolean {
  return host.account.sublist.hasInterest(subject) || host.core.routedInterest.has(host.account.name, subject);
}

/** What the push side needs from its consumer. */
export interface PushOwner {
  /** The consumer's current configuration (updates change the deliver subject and pacing). */
  config(): ConsumerConfig;
  /** Sends a status message (header only) to `to`; how many subscribers (and routes) got it. */
  sendStatus(to: string, hdr: Buffer): number;
  /** The idle heartbeat (it tells where the consumer is); `stalled` names an unanswered flow control reply. */
  heartbeat(stalled: string | null): Buffer;
  /** Deliveries may go on again (flow control answered, rate limit waited off). */
  signal(): void;
}

export class PushDelivery {
  /** Somebody listens on the deliver subject (the consumer set follows interest and sets it). */
  active = false;
  private fc: FlowControl | null = null;
  private fcSub: Subscription | null = null;
  private hbTimer: NodeJS.Timeout | null = null;
  private sentSinceBeat = false;
  private readonly rate = new RateLimiter();
  private rateTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly host: ConsumerHost;
  private readonly consumer: string;
  private readonly owner: PushOwner;

  constructor(host: ConsumerHost, consumer: string, owner: PushOwner) {
    this.host = host;
    this.consumer = consumer;
    this.owner = owner;
  }

  /** Takes up the configured deliver subject: current interest, then flow control and heartbeats when asked for. */
  setup(): void {
    const config = this.owner.config();
    const ds = config.deliver_subject;
    if (ds === undefined) return;
    this.active = listensOn(this.host, ds);
    if (config.flow_control === true && this.fc === null) {
      this.fc = new FlowControl(this.host.name, this.consumer);
      this.fcSub = this.host.core.subscribeInternal(this.host.account, this.fc.replySubjects, null, this.onFlowControlReply);
    }
    const hb = config.idle_heartbeat ?? 0;
    if (hb > 0 && this.hbTimer === null) {
      this.hbTimer = setInterval(this.onHeartbeatTick, Math.max(1, Math.round(hb / NS_PER_MS)));
      this.hbTimer.unref();
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.fcSub !== null) this.host.core.unsubscribeInternal(this.host.account, this.fcSub);
    if (this.rateTimer !== null) clearTimeout(this.rateTimer);
    if (this.hbTimer !== null) clearInterval(this.hbTimer);
    this.hbTimer = this.rateTimer = null;
    this.fc = null;
    this.fcSub = null;
  }

  /** After stop: a replicated consumer that leads its group again takes the deliver subject up anew. */
  resume(): void {
    this.stopped = false;
    this.sentSinceBeat = false;
  }

  /** Somebody listens (push_bound in info). */
  get bound(): boolean {
    return this.active;
  }

  /** May the next message go out now: somebody listens, the flow control window is open, the rate allows it. */
  ready(now: number): boolean {
    return this.active && (this.fc === null || !this.fc.blocked) && this.rateAllows(now);
  }

  /** A message of `size` bytes went to the deliver subject. */
  sent(size: number): void {
    this.sentSinceBeat = true;
    if (this.fc !== null) this.sendFlowControl(this.fc.sent(size));
    if ((this.owner.config().rate_limit_bps ?? 0) > 0) this.rate.spend(size);
  }

  /** rate_limit_bps: false (and a wake-up timer) while the bucket is overdrawn. */
  private rateAllows(now: number): boolean {
    const bps = this.owner.config().rate_limit_bps ?? 0;
    if (bps <= 0) return true;
    const wait = this.rate.waitMs(now, bps);
    if (wait === 0) return true;
    if (this.rateTimer === null) {
      this.rateTimer = setTimeout(this.onRateTimer, wait);
      this.rateTimer.unref();
    }
    return false;
  }

  private readonly onRateTimer = (): void => {
    this.rateTimer = null;
    this.owner.signal();
  };

  private sendFlowControl(reply: string | null): void {
    if (reply === null) return;
    const ds = this.owner.config().deliver_subject as string;
    this.host.core.deliverInternalAs(this.host.account, ds, ds, reply, FLOW_CONTROL_REQUEST.length, FLOW_CONTROL_REQUEST);
  }

  private readonly onFlowControlReply = (subject: string): void => {
    if (!this.stopped && this.fc !== null && this.fc.answered(subject)) this.owner.signal();
  };

  private readonly onHeartbeatTick = (): void => {
    if (this.stopped) return;
    if (this.sentSinceBeat) {
      this.sentSinceBeat = false;
      return;
    }
    if (!this.active) return;
    this.owner.sendStatus(this.owner.config().deliver_subject as string, this.owner.heartbeat(this.fc?.outstanding ?? null));
  };
}
