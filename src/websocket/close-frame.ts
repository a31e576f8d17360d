/**
 * The close frame nats-server sends on a websocket (wsEnqueueCloseMessage):
 * the close reason picks the status (RFC 6455 section 7.4.1) and its text
 * goes in the frame body. Clients and peer connections (leafs over
 * websocket) name their reasons with the same texts, so one table serves both.
 */
import { CloseReason } from '../server/client.js';

const STATUS = new Map<string, number>([
  [CloseReason.ClientClosed, 1000],
  [CloseReason.AuthTimeout, 1008],
  [CloseReason.AuthViolation, 1008],
  [CloseReason.SlowConsumerPendingBytes, 1008],
  [CloseReason.SlowConsumerWriteDeadline, 1008],
  [CloseReason.MaxAccountConnections, 1008],
  [CloseReason.MaxControlLine, 1008],
  [CloseReason.MaxSubscriptions, 1008],
  [CloseReason.AuthenticationExpired, 1008],
  [CloseReason.Revocation, 1008],
  [CloseReason.ParseError, 1002],
  [CloseReason.ProtocolViolation, 1002],
  [CloseReason.MaxPayload, 1009],
  [CloseReason.ReadError, 1001],
  [CloseReason.StaleConnection, 1001],
  [CloseReason.ServerShutdown, 1001],
  [CloseReason.LameDuck, 1001],
]);

/** The status for a close reason's text; anything else is an internal error (1011), as in nats-server. */
export function closeStatusFor(reason: string | null): number {
  return (reason === null ? undefined : STATUS.get(reason)) ?? 1011;
}

/** A control frame's payload is at most 125 bytes, 2 of them the status: nats-server shortens longer text with "...". */
const MAX_CLOSE_TEXT = 123;

export function closeText(reason: string): string {
  return reason.length > MAX_CLOSE_TEXT ? reason.slice(0, MAX_CLOSE_TEXT - 3) + '...' : reason;
}
