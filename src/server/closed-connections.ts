import type { Client } from './client.js';

/** A subscription as /connz?subs=detail reports it. */
export interface SubscriptionRecord {
  subject: string;
  queue: string;
  sid: string;
  msgs: number;
  max: number;
}

/** What /connz?state=closed reports about a connection that is gone. */
export interface ClosedConnection {
  cid: number;
  ip: string;
  port: number;
  start: Date;
  stop: Date;
  reason: string;
  name: string;
  lang: string;
  version: string;
  inMsgs: number;
  outMsgs: number;
  inBytes: number;
  outBytes: number;
  subs: SubscriptionRecord[];
  /** Date.now() of the connection's last read. */
  lastActivity: number;
  user: string;
  account: string;
  rtt: number;
}

/** A bounded ring of recently closed connections, oldest dropped first. */
export class ClosedConnections {
  private readonly ring: Array<ClosedConnection | undefined>;
  private next = 0;
  private count = 0;

  constructor(capacity: number) {
    this.ring = new Array<ClosedConnection | undefined>(capacity);
  }

  add(c: Client): void {
    this.ring[this.next] = {
      cid: c.cid,
      ip: c.host,
      port: c.port,
      start: c.start,
      stop: c.stop ?? new Date(),
      reason: c.closeReason ?? 'Client Closed',
      name: c.name,
      lang: c.lang,
      version: c.version,
      inMsgs: c.inMsgs,
      outMsgs: c.outMsgs,
      inBytes: c.inBytes,
      outBytes: c.outBytes,
      subs: [...c.subs.values()].map((s) => ({ subject: s.subject, queue: s.queue ?? '', sid: s.sid, msgs: s.delivered, max: s.max })),
      lastActivity: c.lastActivity,
      user: c.authUser,
      account: c.account.name,
      rtt: c.rtt,
    };
    this.next = (this.next + 1) % this.ring.length;
    if (this.count < this.ring.length) this.count++;
  }

  /** Oldest first. */
  list(): ClosedConnection[] {
    const out: ClosedConnection[] = [];
    const n = this.ring.length;
    const first = (this.next - this.count + n) % n;
    for (let i = 0; i < this.count; i++) {
      const e = this.ring[(first + i) % n];
      if (e) out.push(e);
    }
    return out;
  }

  get size(): number {
    return this.count;
  }
}
