/**
 * What the rest of the server sees of the websocket listener (/varz, the
 * ports file). Types only, so the server and monitoring depend on this
 * module and not on the listener's implementation.
 */
export interface WebsocketHandle {
  /** Where websocket clients connect: `ws://host:port` or `wss://host:port`. */
  readonly urls: readonly string[];
  /** /varz's `websocket` object, in nats-server's key order (empty keys left out, as Go's omitempty does). */
  varz(): Record<string, unknown>;
}
