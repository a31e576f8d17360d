/**
 * The consumers of one stream. The Stream creates one (which recovers the
 * consumers its store holds) and tells it about stored and removed
 * messages; the consumer API creates, looks up and deletes consumers in it.
 *
 * SKELETON (contract only): the consumer work fills in the bodies.
 */
import type { ConsumerHost } from './host.js';

export class ConsumerSet {
  readonly host: ConsumerHost;

  constructor(host: ConsumerHost) {
    this.host = host;
  }

  /** A message was stored at `seq`: wake pull waiters and push consumers whose filter matches. */
  messageStored(seq: number, subject: string): void {
    void seq;
    void subject;
  }

  /** Messages went (purge, delete, limits): consumers move past what no longer exists. */
  messagesRemoved(): void {}

  /** Interest retention: does any consumer's filter match `subject`? */
  interested(subject: string): boolean {
    void subject;
    return false;
  }

  /** Interest/workqueue retention: does some consumer still need `seq` (matching filter, not yet acked)? */
  wants(seq: number, subject: string): boolean {
    void seq;
    void subject;
    return false;
  }

  count(): number {
    return 0;
  }

  names(): string[] {
    return [];
  }

  /** The stream's configuration changed. */
  streamUpdated(): void {}

  /** Server shutdown: persist state, stop timers. */
  async stop(): Promise<void> {}

  /** Stream deleted: stop and remove every consumer. */
  async delete(): Promise<void> {}
}
