/**
 * Subscribers that stand for a whole server (leaf connections) take each
 * message once, with the queue groups they were picked for; the message
 * router gathers them while it walks a match result.
 */
import type { RoutedMessage } from './routed-message.js';
import type { Subscriber } from './subscription.js';

/**
 * A connection to another server that subscribes on behalf of that whole
 * server (a leaf node): however many of its subscriptions match, it takes
 * each message once, naming the queue groups it was picked for, as
 * nats-server sends one LMSG per leaf connection.
 */
export interface GatheringSubscriber extends Subscriber {
  /** Frames `m` once; `queues` are the groups it was picked for (may be empty). */
  sendGathered(m: RoutedMessage, queues: readonly string[]): void;
}

/**
 * The gathering subscribers one delivery picked, sent once the delivery
 * has seen every subscription. A subscriber's deliver() calls add();
 * deliveries may nest (an internal handler publishing), so each level
 * owns the entries from its mark on.
 */
export class PeerGather {
  private readonly peers: GatheringSubscriber[] = [];
  private readonly queues: string[][] = [];
  /** Entries in use; those from `mark` on belong to the innermost delivery. */
  count = 0;
  mark = 0;

  /** Notes `peer` for the message being delivered, with the queue group of the subscription that matched. */
  add(peer: GatheringSubscriber, queue: string | null): void {
    let k = this.mark;
    while (k < this.count && this.peers[k] !== peer) k++;
    if (k === this.count) {
      this.peers[k] = peer;
      const list = this.queues[k];
      if (list === undefined) this.queues[k] = [];
      else list.length = 0;
      this.count++;
    }
    if (queue !== null) this.queues[k].push(queue);
  }

  /** Sends the innermost delivery's entries and lets go of them. */
  flush(m: RoutedMessage): void {
    const from = this.mark;
    const to = this.count;
    for (let k = from; k < to; k++) this.peers[k].sendGathered(m, this.queues[k]);
    for (let k = from; k < to; k++) this.peers[k] = NO_PEER;
    this.count = from;
  }
}

/** Fills released PeerGather slots, so that they keep no closed connection alive. */
const NO_PEER: GatheringSubscriber = { cid: 0, deliver: () => false, sendGathered: () => undefined };
