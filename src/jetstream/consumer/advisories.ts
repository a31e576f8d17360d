/** Consumer advisory bodies (`$JS.EVENT.ADVISORY.CONSUMER.…`) with nats-server's field names. */
import { EventIds } from '../../accounts/event-ids.js';
import { formatTime, nowNanos } from '../../text/go-format.js';
import type { ConsumerHost } from './host.js';

const ids = new EventIds();

/** `{type, id, timestamp, stream, consumer, …fields, domain?}` for a consumer of `host`. */
export function consumerAdvisory(type: string, c: { readonly host: ConsumerHost; readonly name: string }, fields: Record<string, unknown>): Record<string, unknown> {
  const body: Record<string, unknown> = { type, id: ids.next(), timestamp: formatTime(nowNanos()), stream: c.host.name, consumer: c.name, ...fields };
  if (c.host.domain !== '') body.domain = c.host.domain;
  return body;
}

/** sample_freq: a share of acks is reported as a metric with the time the ack took (`ts`: Date.now() of the delivery). */
export function sampleAck(
  c: { readonly host: ConsumerHost; readonly name: string; readonly config: { readonly sample_freq?: string } },
  sseq: number, p: { readonly consumerSeq: number; readonly ts: number }, deliveries: number,
): void {
  const pct = Number((c.config.sample_freq as string).replace(/%$/, ''));
  if (!(pct > 0) || Math.random() * 100 >= pct) return;
  c.host.advisory(`$JS.EVENT.METRIC.CONSUMER.ACK.${c.host.name}.${c.name}`, consumerAdvisory('io.nats.jetstream.metric.v1.consumer_ack', c, {
    consumer_seq: p.consumerSeq,
    stream_seq: sseq,
    ack_time: Math.max(0, Date.now() - p.ts) * 1_000_000,
    deliveries,
  }));
}
