import type { Client } from './client.js';

/** One SUB of one connection. */
export class Subscription {
  readonly client: Client;
  readonly subject: string;
  readonly queue: string | null;
  readonly sid: string;
  /** `sid + ' '`, precomputed because every MSG line needs it. */
  readonly sidSp: string;
  /** Auto-unsubscribe after this many deliveries; 0 = unlimited. */
  max = 0;
  delivered = 0;
  closed = false;

  constructor(client: Client, subject: string, queue: string | null, sid: string) {
    this.client = client;
    this.subject = subject;
    this.queue = queue;
    this.sid = sid;
    this.sidSp = sid + ' ';
  }
}
