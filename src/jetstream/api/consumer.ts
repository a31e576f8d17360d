/**
 * `$JS.API.CONSUMER.…`: CREATE (three subject forms), DURABLE.CREATE,
 * DELETE, INFO, LIST, NAMES, MSG.NEXT (and LEADER.STEPDOWN answered as a
 * single server does).
 *
 * SKELETON (contract only): the consumer work fills in the bodies.
 */
import type { Account } from '../../accounts/account.js';
import type { ConsumerSet } from '../consumer/consumer-set.js';
import type { ApiRequest, ApiResponse } from './context.js';
import { badRequest } from './errors.js';

/** What the consumer API needs from the JetStream engine. */
export interface ConsumerApiStreams {
  /** The consumers of `stream` in `account`; null when there is no such stream. */
  consumers(account: Account, stream: string): ConsumerSet | null;
  /** The account's consumer limit (-1 = unlimited) and how many consumers it has now, across streams. */
  consumerLimit(account: Account): { max: number; used: number };
}

/** Answers one consumer API request; MSG.NEXT answers through deliveries and returns null. */
export function handleConsumerApi(req: ApiRequest, streams: ConsumerApiStreams): ApiResponse | Promise<ApiResponse> {
  void streams;
  return { type: `io.nats.jetstream.api.v1.consumer_${req.tokens[1]?.toLowerCase() ?? ''}_response`, error: badRequest().toJSON() };
}
