/** ConsumerInfo as nats-server 2.10 writes it (field order included). */
import { formatTime, nowNanos, type EpochNanos } from '../../text/go-format.js';
import { configJson } from './config.js';
import type { Consumer } from './consumer.js';

function sequenceInfo(s: { consumer_seq: number; stream_seq: number; last: EpochNanos | null }): Record<string, unknown> {
  const out: Record<string, unknown> = { consumer_seq: s.consumer_seq, stream_seq: s.stream_seq };
  if (s.last !== null) out.last_active = formatTime(s.last);
  return out;
}

export function consumerInfo(c: Consumer): Record<string, unknown> {
  const n = c.info();
  const out: Record<string, unknown> = {
    stream_name: c.host.name,
    name: c.name,
    created: formatTime(c.created),
    config: configJson(c.config),
    delivered: sequenceInfo(n.delivered),
    ack_floor: sequenceInfo(n.ackFloor),
    num_ack_pending: n.numAckPending,
    num_redelivered: n.numRedelivered,
    num_waiting: n.numWaiting,
    num_pending: n.numPending,
    cluster: c.clusterInfo(),
  };
  if (c.pushBound) out.push_bound = true;
  Object.assign(out, c.pause.infoFields());
  out.ts = formatTime(nowNanos());
  return out;
}
