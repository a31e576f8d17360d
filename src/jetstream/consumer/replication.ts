/**
 * The seam between a consumer and its replication (clustered JetStream,
 * `cluster/consumer-replica.ts`). A replicated consumer is passive on
 * followers (no subscriptions, timers or deliveries; it answers from the
 * replicated state) and live on the group's active leader, where it reports
 * every change of its delivery and ack state as one of these calls. The
 * replica batches them per event-loop turn into one Raft proposal and
 * applies them on every member, leader included, in log order.
 *
 * On a single server no consumer has a replication and nothing here runs.
 */
import type { ConsumerState } from '../store/types.js';

export interface ConsumerReplication {
  /** A message went out: its first delivery (`dc` 1) or a redelivery. `ts` is Date.now() of the delivery. */
  delivered(sseq: number, dseq: number, dc: number, ts: number): void;
  /** An explicit ack (or +NXT) of one message. */
  acked(sseq: number, dseq: number): void;
  /** ack_policy all: everything up to `sseq` is acknowledged. */
  ackedAll(sseq: number, dseq: number): void;
  /** +TERM: the message leaves pending and the stream may drop it (interest/workqueue). */
  terminated(sseq: number): void;
  /** max_deliver reached: the message leaves pending, the stream keeps it. */
  maxDelivered(sseq: number): void;
  /** The ack-wait clock of a pending message restarts at `ts` (+WPI, a nak with a delay). */
  progressed(sseq: number, ts: number): void;
  /** The first leader fixed where a new consumer starts reading the stream (and, for last_per_subject, what comes first). */
  started(sseq: number, lastPerSubject: readonly number[]): void;
  /** A message was stored in the local stream (an ack applied before the message arrived here may now remove it). */
  messageStored(seq: number): void;
  /** The replicated state: what a passive consumer reports, and what a new leader starts from. */
  readonly state: ConsumerState;
  /** last_per_subject: the sequences still to deliver before the stream continues after `state.delivered`. */
  readonly lastPerSubject: readonly number[];
  /** `cluster` of consumer info. */
  clusterInfo(): Record<string, unknown>;
}
