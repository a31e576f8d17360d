import type { ClientIdentity } from './client-identity.js';

/** The connection a message came from, as the deliveries of that message see it. */
export interface Publisher extends ClientIdentity {
  /** CONNECT's echo: false keeps the connection's own messages from its own subscriptions. */
  readonly echo: boolean;
  /**
   * A consumer this publisher fed is stalled: stop reading after the
   * current input until `resume()`. False when it is pausing already
   * (then the consumer need not remember it).
   */
  requestPause(): boolean;
  resume(): void;
}

const NO_BYTES = Buffer.alloc(0);

/**
 * One message on its way to subscribers, like nats-server's pubArg: the
 * router fills a record for each account the message enters and hands it
 * down the delivery path in place of a dozen arguments. Records are
 * reused (one per nesting level), so nothing may keep one after the
 * delivery call it was given to returns.
 *
 * A reused record lives in the old generation, and every per-message
 * object stored into it (a fresh subject string, the read buffer) costs a
 * write barrier: the router stores long-lived strings where it can, and
 * the buffer only when it changed.
 */
export class RoutedMessage {
  /** The publishing connection; null for the server's own messages and messages from peers. */
  publisher: Publisher | null = null;
  /** The subject routed on, which subscriptions and delivery permissions match. */
  subject = '';
  reply: string | null = null;
  /** Length of the header block at the start of the message; -1 for none. */
  hdrLen = -1;
  /** The message is buf[start..end): the header block (if any), then the payload. */
  buf: Buffer = NO_BYTES;
  start = 0;
  end = 0;
  /** The size as the publisher wrote it when that had leading zeros (echoed as written); null otherwise. */
  sizeText: string | null = null;
  /** The subject MSG lines show when it differs from `subject` (JetStream deliveries); null otherwise. */
  shown: string | null = null;

  /** Sets what the message is; sizeText and shown go back to null. */
  fill(publisher: Publisher | null, subject: string, reply: string | null, hdrLen: number, buf: Buffer, start: number, end: number): void {
    this.publisher = publisher;
    this.subject = subject;
    this.reply = reply;
    this.hdrLen = hdrLen;
    // Consecutive messages of one read share its buffer.
    if (this.buf !== buf) this.buf = buf;
    this.start = start;
    this.end = end;
    this.sizeText = null;
    this.shown = null;
  }

  /**
   * Lets go of the publisher, so that a record kept for reuse does not keep
   * a closed connection alive. The bytes stay until the next message (see
   * fill): one read buffer per nesting level at most.
   */
  clear(): void {
    this.publisher = null;
  }
}
