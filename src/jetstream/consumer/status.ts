/**
 * Status messages JetStream sends to pull requesters and push subscribers:
 * header-only messages whose first line carries a code and description,
 * byte for byte as nats-server writes them.
 */

export function statusHeader(code: number, description: string): Buffer {
  return Buffer.from(`NATS/1.0 ${code} ${description}\r\n\r\n`, 'latin1');
}

/** 408/409 endings of a pull request carry what was left of it. */
export function pendingStatusHeader(code: number, description: string, msgs: number, bytes: number): Buffer {
  return Buffer.from(`NATS/1.0 ${code} ${description}\r\nNats-Pending-Messages: ${msgs}\r\nNats-Pending-Bytes: ${bytes}\r\n\r\n`, 'latin1');
}

/** Idle heartbeats say where the consumer is; `stalled` names an unanswered flow control reply. */
export function heartbeatHeader(lastConsumerSeq: number, lastStreamSeq: number, stalled: string | null): Buffer {
  let h = `NATS/1.0 100 Idle Heartbeat\r\nNats-Last-Consumer: ${lastConsumerSeq}\r\nNats-Last-Stream: ${lastStreamSeq}\r\n`;
  if (stalled !== null) h += `Nats-Consumer-Stalled: ${stalled}\r\n`;
  return Buffer.from(h + '\r\n', 'latin1');
}

export const NO_MESSAGES = statusHeader(404, 'No Messages');
export const EXCEEDED_MAX_WAITING = statusHeader(409, 'Exceeded MaxWaiting');
export const CONSUMER_DELETED = statusHeader(409, 'Consumer Deleted');
export const CONSUMER_IS_PUSH = statusHeader(409, 'Consumer is push based');
export const FLOW_CONTROL_REQUEST = statusHeader(100, 'FlowControl Request');
