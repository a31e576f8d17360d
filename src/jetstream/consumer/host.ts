/**
 * What a stream offers its consumers. Implemented by the Stream; consumers
 * see nothing else of it, so the two sides change independently.
 */
import type { Account } from '../../accounts/account.js';
import type { ServerCore } from '../../server/core.js';
import type { StreamStore } from '../store/types.js';
import type { StreamConfig } from '../types.js';

/**
 * The part of the server core consumers use: internal subscriptions (acks,
 * flow control replies), publishing and delivering, push interest (here and
 * on routes), the log
 * and the server's name (info). Kept this small so that something other than
 * a whole server (a replica) can carry consumers.
 */
export type ConsumerCore = Pick<ServerCore,
  'name' | 'logger' | 'subscribeInternal' | 'unsubscribeInternal' | 'publishInternal' | 'deliverInternalAs' | 'addInterestListener' | 'routedInterest'>;

export interface ConsumerHost {
  readonly name: string;
  readonly account: Account;
  readonly core: ConsumerCore;
  readonly store: StreamStore;
  /** The stream's current configuration (changes on update). */
  config(): StreamConfig;
  /** Date.now() when the stream was created. */
  readonly created: number;
  /**
   * Interest and workqueue retention: a consumer no longer needs `seq`
   * (acked, or terminated). The stream removes it once no consumer wants it.
   */
  acked(seq: number): void;
  /** Publishes a JetStream advisory (`$JS.EVENT.ADVISORY.…`) in the stream's account. */
  advisory(subject: string, body: Record<string, unknown>): void;
  /** The JetStream domain, '' when none (for ack subjects and info). */
  readonly domain: string;
}
