import type { ClientIdentity } from './client-identity.js';
import type { RoutedMessage } from './routed-message.js';

/**
 * A server-side subscriber (system events, JetStream). `msg` is
 * headers+payload and is only valid during the call; `from` is the
 * publishing connection, null for the server's own messages and for
 * messages from peers.
 */
export type InternalHandler = (subject: string, reply: string | null, hdrLen: number, msg: Buffer, from: ClientIdentity | null) => void;

/** The connection behind a client subscription, as message delivery sees it. */
export interface Subscriber {
  readonly cid: number;
  /**
   * Takes `m` for `sub` if the connection will: false when it does not
   * (closed, its own message without echo, denied by its permissions,
   * past the subscription's max). `head` and `tail` are the MSG line
   * around the sid: "MSG <subject> " or "HMSG <subject> ", and
   * "[reply ][hdrLen ]<size>\r\n".
   */
  deliver(sub: Subscription, m: RoutedMessage, head: string, tail: string): boolean;
}

/** One SUB of one connection, or an internal subscription of the server. */
export class Subscription {
  /** The owning connection; null for internal subscriptions. */
  readonly client: Subscriber | null;
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

  constructor(client: Subscriber | null, subject: string, queue: string | null, sid: string, handler: InternalHandler | null = null) {
    this.client = client;
    this.subject = subject;
    this.queue = queue;
    this.sid = sid;
    this.sidSp = sid + ' ';
    this.handler = handler;
  }
}
