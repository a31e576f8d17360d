import type { Client } from './client.js';

/**
 * A server-side subscriber (system events, later JetStream). `msg` is
 * headers+payload and is only valid during the call; `from` is the
 * publishing connection, null for the server's own messages.
 */
export type InternalHandler = (subject: string, reply: string | null, hdrLen: number, msg: Buffer, from: Client | null) => void;

/** One SUB of one connection, or an internal subscription of the server. */
export class Subscription {
  /** The owning connection; null for internal subscriptions. */
  readonly client: Client | null;
  readonly handler: InternalHandler | null;
  readonly subject: string;
  readonly queue: string | null;
  readonly sid: string;
  /** `sid + ' '`, precomputed because every MSG line needs it. */
  readonly sidSp: string;
  /** Auto-unsubscribe after this many deliveries; 0 = unlimited. */
  max = 0;
  delivered = 0;
  closed = false;

  constructor(client: Client | null, subject: string, queue: string | null, sid: string, handler: InternalHandler | null = null) {
    this.client = client;
    this.subject = subject;
    this.queue = queue;
    this.sid = sid;
    this.sidSp = sid + ' ';
    this.handler = handler;
  }
}
