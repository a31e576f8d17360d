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
